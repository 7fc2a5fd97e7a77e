"""`python -m agent chat --audio-in TURN.wav ... --audio-out DIR --jsonl`: spoken turns
from files of any common rate and channel count, the same events as the text chat,
the agent's speech written back as WAV files."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

from agent.audio_chat import run_audio_chat
from agent.audio_io import read_speech
from agent.offline.speech import PiperTTS, resample
from tests.audio.voice import median_pitch, speech
from tests.helpers import json_lines, of_type

ROOT = Path(__file__).parents[2]


def wav(path: Path, text: str, rate: int, channels: int) -> str:
    samples = resample(speech(text), 16000, rate)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(samples[:, None], channels, axis=1).tobytes())
    return str(path)


async def test_spoken_turns_from_files_print_the_chat_events_and_write_the_speech(tmp_path: Path) -> None:
    files = [
        wav(tmp_path / "1.wav", "Can I talk to the pirate?", 44100, 2),
        wav(tmp_path / "2.wav", "Hold on, I'll be right back.", 8000, 1),
        wav(tmp_path / "3.wav", "Did you see the game last night?", 48000, 2),
        wav(tmp_path / "4.wav", "Okay, I'm back.", 22050, 1),
    ]
    out = io.StringIO()
    code = await run_audio_chat(
        files, audio_out=str(tmp_path / "out"), jsonl=True, stdin=io.StringIO("/history\n/persona\n"), stdout=out, env={}
    )
    assert code == 0
    events = json_lines(out.getvalue())
    assert {e["type"] for e in events} <= {
        "message", "function_call", "function_call_output", "persona_changed", "user_state_changed", "history", "persona",
    }  # fmt: skip
    users = [e["text"] for e in of_type(events, "message") if e["role"] == "user"]
    assert users == ["Can I talk to the pirate?", "Hold on, I'll be right back.", "Okay, I'm back."]  # side-talk: no turn
    assert [(c["name"], c["arguments"]) for c in of_type(events, "function_call")] == [
        ("switch_persona", {"persona": "pirate"}), ("mark_user_away", {}),
    ]  # fmt: skip
    assert of_type(events, "persona_changed") == [{"type": "persona_changed", "persona": "pirate"}]
    said = [e["text"] for e in of_type(events, "message") if e["role"] == "assistant"]
    assert len(said) == 4 and said[-1] == "Welcome back aboard! Where were we?"  # greeting, switch, ack, welcome
    states = [(e["old"], e["new"]) for e in of_type(events, "user_state_changed")]
    assert ("listening", "away") in states and states[-1][1] == "listening"
    assert of_type(events, "persona")[0]["persona"] == "pirate"
    assert [i["text"] for i in of_type(events, "history")[0]["items"] if i["role"] == "user"] == users

    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written] == ["agent-001.wav", "agent-002.wav", "agent-003.wav", "agent-004.wav"]
    greeting, switch = (read_speech(p, PiperTTS().sample_rate) for p in written[:2])
    assert median_pitch(switch, 22050) < 0.9 * median_pitch(greeting, 22050)  # the pirate's own voice


def test_bad_audio_is_a_clear_error_and_nothing_starts(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "chat", "--audio-in", str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "notes.wav" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert proc.stdout == ""


async def test_a_file_with_no_speech_is_reported_and_the_exit_code_says_so(tmp_path: Path) -> None:
    silent = tmp_path / "silence.wav"
    with wave.open(str(silent), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(np.zeros(16000, np.int16).tobytes())
    out = io.StringIO()
    code = await run_audio_chat([str(silent)], jsonl=True, stdin=io.StringIO(""), stdout=out, env={})
    assert code == 1
    errors = [json.loads(line) for line in out.getvalue().splitlines() if '"error"' in line]
    assert errors == [{"type": "error", "message": f"{silent}: no speech heard"}]
