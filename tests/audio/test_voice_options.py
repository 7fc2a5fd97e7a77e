"""What a worker's session with audio runs on: offline speech, LiveKit's local VAD and
its local end-of-turn model, named so dev mode with LiveKit credentials does not pick
the cloud one (livekit.agents.inference.TurnDetector: version defaults to "v1", the
cloud model, when utils.is_dev_mode())."""

from __future__ import annotations

import pytest
from livekit.agents import inference

from agent.offline.speech import WhisperSTT
from agent.providers import Provider
from agent.voice import worker_options


def test_an_offline_worker_hears_and_speaks_with_local_models_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_DEV_MODE", "1")  # what `console` and `dev` set
    monkeypatch.setenv("LIVEKIT_API_KEY", "key")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "secret")
    assert inference.TurnDetector().model == "turn-detector-v1"  # the default here would be the cloud's

    provider = Provider("offline", {})
    options = worker_options(provider)
    assert isinstance(options["stt"], WhisperSTT)
    assert isinstance(options["vad"], inference.VAD)
    assert options["turn_handling"]["turn_detection"].model == "turn-detector-v1-mini"
    assert options["turn_handling"]["interruption"]["mode"] == "vad"  # the adaptive detector is a cloud model
    assert provider.tts_for({"offline": "joe pitch=0.8"}).voice.pitch == 0.8  # the persona's voice reaches Piper


def test_a_realtime_worker_hears_for_itself() -> None:
    assert worker_options(Provider("openai", {"OPENAI_API_KEY": "unset"})) is None
