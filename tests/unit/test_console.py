"""`python -m agent console` where it cannot run: one clear line saying what to do.

The sounddevice stand-ins raise what the real module raises (sounddevice 0.5:
``OSError('PortAudio library not found')`` at import without the library;
``PortAudioError('Error querying device -1')`` from ``query_devices(kind=...)`` with
no default device), so the tests hold on machines with or without either."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NO_LIBRARY = "raise OSError('PortAudio library not found')\n"
NO_DEVICES = (
    "class PortAudioError(Exception):\n    pass\n\n"
    "def query_devices(device=None, kind=None):\n    raise PortAudioError('Error querying device -1')\n"
)


def _console(tmp_path: Path, sounddevice: str, *options: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sounddevice.py").write_text(sounddevice)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": f"{tmp_path}:{ROOT}"}
    return subprocess.run(
        [sys.executable, "-m", "agent", "console", *options], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


@pytest.mark.parametrize(
    ("sounddevice", "says"),
    [(NO_LIBRARY, "apt-get install libportaudio2"), (NO_DEVICES, "no default microphone and speaker")],
)
def test_console_that_cannot_start_says_what_to_do_in_one_line(tmp_path: Path, sounddevice: str, says: str) -> None:
    proc = _console(tmp_path, sounddevice)
    assert proc.returncode == 2  # refused at start, like a missing key
    assert proc.stderr.count("\n") == 1 and says in proc.stderr and "--audio-in" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
