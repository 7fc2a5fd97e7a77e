"""Offline voice figures: from the end of the user's speech to the agent's first audio
(median, p90) through the real audio path; Whisper's and Piper's real-time factors;
the peak memory of a process running a voice session; and the text chat's start-up
time, here and in another checkout (``--before DIR``, e.g. the main branch).

    python benchmarks/voice_latency.py [--turns N] [--before /path/to/main]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from agent.audio_io import FEED_RATE  # noqa: E402
from agent.offline.speech import PiperTTS, WhisperSTT, load_models  # noqa: E402
from tests.audio.voice import speech, start_voice  # noqa: E402

PHRASES = [
    "Can I talk to the pirate?", "Hello there.", "Can I talk to the tutor?", "What's the weather like tomorrow?",
    "Can I talk to the assistant?", "Tell me a joke.", "Forget what I just said.", "Hold on, I'll be right back.",
    "Okay, I'm back.", "Can I talk to the pirate?",
]  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


async def latencies(turns: int) -> list[float]:
    """Seconds from the last sample of each spoken turn to the first sample of the reply."""
    out: list[float] = []
    async with start_voice() as v:
        loop = asyncio.get_running_loop()
        for text in (PHRASES * (turns // len(PHRASES) + 1))[:turns]:
            start, before = v.mark(), len(v.speaker.segments)
            await v.feed.say(speech(text))
            ended = loop.time()
            await v.answered(start)
            await v.ctl.settle()
            out.append(v.speaker.segments[before].started_at - ended)
    return out


def real_time_factors() -> tuple[float, float]:
    """Processing seconds per second of audio: Whisper on the phrases, Piper saying them."""
    stt, tts = WhisperSTT(), PiperTTS(noise=False)
    heard = said = stt_time = tts_time = 0.0
    for text in PHRASES:
        audio = speech(text)
        start = time.perf_counter()
        stt.transcribe(audio.astype(np.float32) / 32768.0)
        stt_time += time.perf_counter() - start
        heard += audio.size / FEED_RATE
        start = time.perf_counter()
        samples = np.concatenate(list(tts.sentences(text + " " + text)))
        tts_time += time.perf_counter() - start
        said += samples.size / tts.sample_rate
    return stt_time / heard, tts_time / said


def chat_startup(checkout: Path, runs: int) -> list[float]:
    """Wall seconds for ``python -m agent chat`` to start, greet and quit."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "agent", "chat"], input="/quit\n", capture_output=True, text=True, cwd=checkout, check=True)
        times.append(time.perf_counter() - start)
    return times


def text_chat_peak_mb() -> float:
    code = (
        "import resource, subprocess, sys; subprocess.run([sys.executable, '-m', 'agent', 'chat'], input='hello\\n', "
        "capture_output=True, text=True, check=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    return int(out.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--startup-runs", type=int, default=10)
    parser.add_argument("--voice-only", action="store_true", help="skip the text chat's figures")
    parser.add_argument("--before", type=Path, help="another checkout to compare the text chat's start-up with")
    args = parser.parse_args()

    if args.voice_only:
        pass
    elif args.before:
        before, after = [], []
        for _ in range(args.startup_runs):  # interleaved, so machine load hits both alike
            before += chat_startup(args.before, 1)
            after += chat_startup(ROOT, 1)
        b, a = statistics.median(before), statistics.median(after)
        print(f"text chat start-up (median of {args.startup_runs}): before {b:.2f} s, after {a:.2f} s ({(a - b) / b:+.1%})")
    else:
        print(f"text chat start-up (median of {args.startup_runs}): {statistics.median(chat_startup(ROOT, args.startup_runs)):.2f} s")
    if not args.voice_only:
        print(f"text chat peak memory: {text_chat_peak_mb():.0f} MB")

    start = time.perf_counter()
    asyncio.run(load_models())
    print(f"speech models load: {time.perf_counter() - start:.2f} s")
    stt_rtf, tts_rtf = real_time_factors()
    print(f"real-time factor: speech to text {stt_rtf:.3f}, text to speech {tts_rtf:.3f} (short utterances: Whisper pads each to 30 s)")
    waits = asyncio.run(latencies(args.turns))
    print(
        f"end of user speech -> first agent audio over {len(waits)} turns: "
        f"median {statistics.median(waits):.2f} s, p90 {percentile(waits, 90):.2f} s, max {max(waits):.2f} s"
    )
    print("  per turn: " + ", ".join(f"{text!r} {wait:.2f}" for text, wait in zip(PHRASES * args.turns, waits)))
    print(f"peak memory of this process after a voice session: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
