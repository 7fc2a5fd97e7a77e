"""A real AgentSession driven from audio, without a room: synthesized speech goes in
through a microphone stand-in (agent.audio_io.SpeechFeed, read in real time), and
the agent's speech comes out of a real-time loudspeaker stand-in that records it
(agent.audio_io.Speaker). Between them everything is real: LiveKit's local VAD and
turn detector, Whisper, Piper, the offline model, the controller.

A test says something and waits for the agent's reply (or, for words that get
none, for the user turn to be judged) before saying the next thing; nothing is
asserted on how long anything took.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from livekit.agents import AgentSession

from agent.audio_io import FEED_RATE, Segment, SpeechFeed, Speaker, attach
from agent.offline.speech import PiperTTS, resample
from agent.offline.voices import OfflineVoice
from agent.providers import Provider
from agent.session.away import AwayPolicy
from agent.compose import build_session
from agent.session.control import SessionController
from agent.voice import session_options, use_offline_speech
from tests.compat import timeout
from tests.helpers import until

TIME_LIMIT = 120.0  # a whole audio test; a hang fails instead of blocking the suite
WAIT = 60.0  # one wait (``until``); it only turns a hang into a failure
USER_VOICE = OfflineVoice(speed=1.0, pitch=1.1)  # the user: the same model, a little higher than the agent


@lru_cache(maxsize=None)
def speech(text: str) -> np.ndarray:
    """``text`` spoken (deterministically) at the feed's rate."""
    tts = PiperTTS(USER_VOICE, noise=False)
    return resample(np.concatenate(list(tts.sentences(text))), tts.sample_rate, FEED_RATE)


@dataclass
class Said:
    """One thing that happened, in order: ``kind`` is transcript (final), user,
    assistant, tool, user_state, agent_state or persona."""

    kind: str
    value: Any
    at: float  # loop time

    def __str__(self) -> str:  # a line of what happened, when a wait fails
        return f"{self.at:9.2f} {self.kind}: {self.value}"


@dataclass
class VoiceChat:
    session: AgentSession
    ctl: SessionController
    feed: SpeechFeed
    speaker: Speaker
    log: list[Said] = field(default_factory=list)

    def mark(self) -> int:
        return len(self.log)

    def since(self, start: int, kind: str) -> list[Any]:
        return [s.value for s in self.log[start:] if s.kind == kind]

    async def speak(self, text: str) -> int:
        """Say ``text`` into the microphone and return once it is all said; returns
        the log position before it."""
        start = self.mark()
        await self.feed.say(speech(text))
        return start

    async def say(self, text: str, *, answered: bool = True) -> list[Said]:
        """Say ``text``; wait until it is heard as a user turn and, if ``answered``,
        until the agent's answer has been spoken. Returns what happened since."""
        start = await self.speak(text)
        await self.heard(start)
        if answered:
            await self.answered(start)
        await self.ctl.settle()
        return self.log[start:]

    async def heard(self, start: int) -> str:
        """The final transcript of what was said (a turn that gets no reply never
        becomes a user message: see test_away_by_voice)."""
        await until(lambda: self.since(start, "transcript"), what="the user's words to be transcribed", timeout=WAIT, log=self.log)
        return self.since(start, "transcript")[0]

    async def answered(self, start: int) -> None:
        """Wait for an answer to a user turn that began after ``start``, spoken to the end."""

        def done() -> bool:
            turn = next((i for i in range(start, len(self.log)) if self.log[i].kind == "user"), None)
            return turn is not None and bool(self.since(turn, "assistant")) and self.idle()

        await until(done, what="the agent's answer", timeout=WAIT, log=self.log)

    def idle(self) -> bool:
        return self.session.agent_state == "listening" and self.session.current_speech is None and not self.speaker.playing

    def segments_since(self, count: int) -> list[Segment]:
        return self.speaker.segments[count:]

    async def playing_for(self, seconds: float, *, segment: int) -> Segment:
        """Wait until the agent's speech segment number ``segment`` has played ``seconds``."""
        loop = asyncio.get_running_loop()

        def far_enough() -> bool:
            segs = self.speaker.segments
            return len(segs) > segment and not segs[segment].finished and loop.time() - segs[segment].started_at >= seconds

        await until(far_enough, what=f"segment {segment} to play {seconds:g} s", timeout=WAIT, log=self.log)
        return self.speaker.segments[segment]

    def context_texts(self) -> list[str]:
        return [m.text_content or "" for m in self.session.current_agent.chat_ctx.messages() if m.role in ("user", "assistant")]

    def history_texts(self) -> list[str]:
        return [m.text_content or "" for m in self.session.history.messages() if m.role in ("user", "assistant")]

    def recorded_events(self) -> str:
        return json.dumps([e.model_dump(mode="json") for e in self.session._recorded_events], default=str)


def median_pitch(samples: np.ndarray, rate: int) -> float:
    """The speaker's median fundamental frequency (Hz), by autocorrelation over the
    voiced 40 ms frames."""
    x = samples.astype(np.float64)
    size, hop = int(0.04 * rate), int(0.01 * rate)
    low, high = int(rate / 400), int(rate / 60)  # 60 to 400 Hz
    loud = 0.1 * np.sqrt(np.mean(x**2))
    found = []
    for i in range(0, x.size - size, hop):
        frame = x[i : i + size] - x[i : i + size].mean()
        if np.sqrt(np.mean(frame**2)) < loud:
            continue
        ac = np.correlate(frame, frame, "full")[size - 1 :]
        lag = low + int(np.argmax(ac[low:high]))
        if ac[lag] > 0.5 * ac[0]:  # clearly periodic: voiced
            found.append(rate / lag)
    assert found, "no voiced speech found"
    return float(np.median(found))


@asynccontextmanager
async def start_voice(
    *,
    persona: str = "assistant",
    away: AwayPolicy | None = None,
    user_away_timeout: float | None = None,
    greet: bool = True,
) -> AsyncIterator[VoiceChat]:
    provider = Provider("offline", {"PIPER_NOISE": "0"})
    use_offline_speech(provider)
    live = build_session(
        provider, env={}, persona=persona, away=away,
        user_away_timeout=user_away_timeout, **session_options(provider, output_pauses=False),
    )  # fmt: skip
    session, ctl = live.session, live.controller
    feed, speaker = SpeechFeed(), Speaker()
    attach(session, feed, speaker)
    v = VoiceChat(session, ctl, feed, speaker)
    loop = asyncio.get_running_loop()

    def log(kind: str, value: Any) -> None:
        v.log.append(Said(kind, value, loop.time()))

    def on_item(ev: Any) -> None:
        if ev.item.type == "message" and ev.item.role in ("user", "assistant"):
            log(ev.item.role, ev.item.text_content or "")

    def on_tools(ev: Any) -> None:
        for call in ev.function_calls:
            log("tool", (call.name, json.loads(call.arguments or "{}")))

    session.on("conversation_item_added", on_item)
    session.on("function_tools_executed", on_tools)
    session.on("user_input_transcribed", lambda ev: ev.is_final and ev.transcript and log("transcript", ev.transcript))
    session.on("user_state_changed", lambda ev: log("user_state", (ev.old_state, ev.new_state)))
    session.on("agent_state_changed", lambda ev: log("agent_state", (ev.old_state, ev.new_state)))
    ctl.on_persona_changed.append(lambda pid: log("persona", pid))
    try:
        async with timeout(TIME_LIMIT):
            await live.start(greet=greet)
            if greet:
                await until(lambda: v.since(0, "assistant") and v.idle(), what="the greeting", timeout=WAIT, log=v.log)
            yield v
            await ctl.settle()
    finally:
        await live.aclose()
