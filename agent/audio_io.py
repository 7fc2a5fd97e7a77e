"""Audio in and out of an AgentSession without a room or a sound card.

``attach`` wires them as LiveKit's own console does: the agent's words are
synchronized with its audio, so an interrupted reply is kept as far as it was heard.

``SpeechFeed`` is a microphone that says what it is given: LiveKit reads 20 ms
frames from it in real time, silence between utterances, as from a real one.
``Speaker`` is a loudspeaker that plays the agent's speech in real time (to
nowhere) and keeps what was played; like LiveKit's room output, a segment ends
at ``flush()`` and reports ``on_playback_finished`` once its audio has played,
or at once, cut short, when ``clear_buffer()`` interrupts it. Real-time playout
is what lets the user barge in while the agent speaks. It cannot pause, so a
barge-in stops the agent at once (``session_options(output_pauses=False)``).

``read_speech`` and ``write_wav`` convert files (any format and rate PyAV reads).
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from livekit import rtc
from livekit.agents import AgentSession, io
from livekit.agents.voice import TranscriptSynchronizer

from .offline.speech import mono  # (no speech engine is imported with it)

FRAME_SECONDS = 0.02
FEED_RATE = 16000  # what the VAD, the turn detector and Whisper all work at


class AudioFileError(ValueError):
    pass


def read_speech(path: str | Path, rate: int = FEED_RATE) -> np.ndarray:
    """Mono int16 samples of an audio file at ``rate``; AudioFileError if it holds no audio."""
    import av  # livekit-agents' own dependency

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioFileError(f"{path}: no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            chunks = [
                out.to_ndarray().reshape(-1)
                for frame in container.decode(audio=0)
                for out in resampler.resample(frame)
            ]
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except (av.error.FFmpegError, OSError) as e:
        raise AudioFileError(f"{path}: not an audio file that can be read ({e})") from None
    samples = np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)
    if samples.size == 0:
        raise AudioFileError(f"{path}: the file holds no audio")
    return samples


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype(np.int16).tobytes())


def attach(session: AgentSession, feed: io.AudioInput, speaker: io.AudioOutput) -> None:
    """Set the session's audio input and output (before ``session.start``)."""
    sync = TranscriptSynchronizer(next_in_chain_audio=speaker, next_in_chain_text=None)
    session.input.audio = feed
    session.output.audio = sync.audio_output
    session.output.transcription = sync.text_output


class SpeechFeed(io.AudioInput):
    def __init__(self, rate: int = FEED_RATE) -> None:
        super().__init__(label="SpeechFeed")
        self.rate = rate
        self._per_frame = int(rate * FRAME_SECONDS)
        self._queue: deque[tuple[np.ndarray, asyncio.Future[None]]] = deque()
        self._offset = 0  # into the utterance at the head of the queue
        self._next_at: float | None = None

    def say(self, samples: np.ndarray) -> asyncio.Future[None]:
        """Queue an utterance (mono int16 at ``rate``); the future is done once its
        last frame has been read."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((samples.astype(np.int16), done))
        return done

    @property
    def speaking(self) -> bool:
        return bool(self._queue)

    async def __anext__(self) -> rtc.AudioFrame:
        loop = asyncio.get_running_loop()
        now = loop.time()
        # real time, like a microphone; a reader that fell far behind is not flooded
        self._next_at = now if self._next_at is None else max(self._next_at, now - 0.2)
        if self._next_at > now:
            await asyncio.sleep(self._next_at - now)
        self._next_at += FRAME_SECONDS
        return rtc.AudioFrame(self._next_samples().tobytes(), self.rate, 1, self._per_frame)

    def _next_samples(self) -> np.ndarray:
        out = np.zeros(self._per_frame, np.int16)
        filled = 0
        while filled < self._per_frame and self._queue:
            samples, done = self._queue[0]
            take = samples[self._offset : self._offset + self._per_frame - filled]
            out[filled : filled + take.size] = take
            filled += take.size
            self._offset += take.size
            if self._offset >= samples.size:
                self._queue.popleft()
                self._offset = 0
                if not done.done():
                    done.set_result(None)
        return out


@dataclass
class Segment:
    """One stretch of the agent's speech (from the first frame to ``flush``)."""

    rate: int
    started_at: float  # loop time its playout started
    frames: list[rtc.AudioFrame] = field(default_factory=list)
    flushed: bool = False
    finished: bool = False
    interrupted: bool = False
    played: float | None = None  # seconds played, once finished

    @property
    def duration(self) -> float:
        return sum(f.duration for f in self.frames)

    def samples(self, *, played_only: bool = True) -> np.ndarray:
        """Mono int16 samples (only what was heard, where it was cut short)."""
        whole = np.concatenate([mono(f) for f in self.frames]) if self.frames else np.zeros(0, np.int16)
        if played_only and self.played is not None:
            whole = whole[: int(round(self.played * self.rate))]
        return whole


class Speaker(io.AudioOutput):
    def __init__(self) -> None:
        super().__init__(label="Speaker", capabilities=io.AudioOutputCapabilities(pause=False))
        self.segments: list[Segment] = []
        self._current: Segment | None = None  # captured into, or playing
        self._done_timer: asyncio.TimerHandle | None = None
        self._busy_until = 0.0

    @property
    def playing(self) -> bool:
        return self._current is not None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._current is None:
            now = asyncio.get_running_loop().time()
            self._current = Segment(frame.sample_rate, started_at=max(now, self._busy_until))
            self.segments.append(self._current)
            self.on_playback_started(created_at=time.time())
        self._current.frames.append(frame)

    def flush(self) -> None:
        super().flush()
        seg = self._current
        if seg is None or seg.flushed:
            return
        seg.flushed = True
        if seg.interrupted:
            self._finish(seg)
            return
        loop = asyncio.get_running_loop()
        self._busy_until = seg.started_at + seg.duration
        self._done_timer = loop.call_at(self._busy_until, self._finish, seg)

    def clear_buffer(self) -> None:
        seg = self._current
        if seg is None or seg.interrupted:
            return
        now = asyncio.get_running_loop().time()
        seg.interrupted = True
        seg.played = min(max(now - seg.started_at, 0.0), seg.duration)
        self._busy_until = now
        if self._done_timer is not None:
            self._done_timer.cancel()
            self._done_timer = None
        if seg.flushed:  # else the flush that always follows reports it
            self._finish(seg)

    def _finish(self, seg: Segment) -> None:
        if seg.finished:
            return
        seg.finished = True
        if seg.played is None:
            seg.played = seg.duration
        if self._current is seg:
            self._current = None
        self._done_timer = None
        self.on_playback_finished(playback_position=seg.played, interrupted=seg.interrupted)
