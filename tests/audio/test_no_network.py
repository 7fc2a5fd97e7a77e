"""An offline voice session attempts no network connection: not even a name lookup
(onnxruntime, which Piper runs on, resolves a telemetry host unless
ORT_DISABLE_TELEMETRY=1, which the project sets). Every connect(2) of the process
and its children is traced."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audio.test_audio_chat import wav

ROOT = Path(__file__).parents[2]


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_a_spoken_turn_makes_no_connection(tmp_path: Path) -> None:
    turn = wav(tmp_path / "turn.wav", "Can I talk to the pirate?", 16000, 1)
    trace = tmp_path / "connect.txt"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    proc = subprocess.run(
        ["strace", "-f", "-e", "trace=connect", "-o", str(trace), sys.executable, "-m", "agent", "chat",
         "--provider", "offline", "--jsonl", "--audio-in", turn],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert '"switch_persona"' in proc.stdout  # the turn really went through
    assert [line for line in trace.read_text().splitlines() if "connect(" in line] == []
