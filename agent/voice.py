"""What a session that hears and speaks runs on, with no network: the provider's
speech (offline Whisper and Piper wherever no STT/TTS endpoint is configured),
LiveKit's local VAD, and its local end-of-turn model named explicitly (in dev mode
the default ``TurnDetector`` asks LiveKit's cloud for the larger model first).
Interruptions are judged by voice activity: the adaptive detector is a cloud model.
"""

from __future__ import annotations

from typing import Any

from livekit.agents import inference

from .providers import Provider


def use_offline_speech(provider: Provider) -> None:
    """Speak and listen with Whisper and Piper where the provider has no speech of its
    own; raises ``SpeechUnavailable`` (saying what to install) without the voice extra."""
    if provider.realtime:
        return
    from .offline.speech import require_speech

    if not provider.speech_configured():
        require_speech()
    provider.offline_speech = True


def worker_options(provider: Provider) -> dict[str, Any] | None:
    """A worker's session with audio on a non-realtime provider: the provider's own
    STT, else offline speech where the voice extra is installed. None where there is
    no speech to text at all (a text-only session, also asked for with
    AGENT_MODALITIES=text) or the model hears for itself."""
    from .offline.speech import missing_packages

    if provider.realtime or provider.env.get("AGENT_MODALITIES") == "text":
        return None
    provider.offline_speech = not missing_packages()
    options = session_options(provider)
    return options if "stt" in options else None


def session_options(provider: Provider, *, output_pauses: bool = True) -> dict[str, Any]:
    """AgentSession arguments for a session with audio. ``output_pauses=False``: the
    audio output cannot pause, so a barge-in stops the agent at once (LiveKit would
    otherwise pause, and resume if no words follow)."""
    options: dict[str, Any] = {
        "vad": inference.VAD(),
        "turn_handling": {
            "turn_detection": inference.TurnDetector(version="v1-mini"),
            "interruption": {"mode": "vad", "resume_false_interruption": output_pauses},
        },
    }
    if (stt := provider.stt()) is not None:
        options["stt"] = stt
    return options
