"""Audio-path tests: the speech models load once for the whole test session."""

from __future__ import annotations

import pytest

from agent.offline.speech import piper_voice, require_speech, whisper_model


@pytest.fixture(scope="session", autouse=True)
def speech_models() -> None:
    require_speech()  # without the voice extra: one clear error saying what to install
    whisper_model()
    piper_voice()
