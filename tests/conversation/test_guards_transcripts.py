"""A forgotten spoken turn leaves the end-of-session report with every transcript of it.

A speech-to-text pipeline transcribes a turn in pieces before the turn becomes a message:
interim guesses (one of them misheard, "my pin is four"), then final segments, none of
them the message's text, and none naming the message (STT events carry no item id).
LiveKit records each one as a ``user_input_transcribed`` event, and the report is built
from those events and the history. Forgetting the turn must take its transcripts too,
and leave every other turn's.

A real AgentSession on the offline model, with a scripted STT in place of Whisper: the
test says what the STT hears, as it would hear it, and commits the turn (manual turn
detection), so nothing here waits on audio or time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from livekit.agents import AgentSession, stt
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN
from livekit.agents.voice.report import SessionReport

import prompts
from agent.audio_io import SpeechFeed
from agent.providers import Provider
from agent.session.control import SessionController
from tests.compat import timeout

TIME_LIMIT = 10.0  # a whole test; a hang fails instead of blocking the suite


class ScriptedSTT(stt.STT):
    """A streaming STT whose transcripts the test writes (``heard``)."""

    def __init__(self) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=True))
        self.streams: list[ScriptedStream] = []
        self.opened = asyncio.Event()

    async def _recognize_impl(self, buffer: Any, *, language: Any = NOT_GIVEN, conn_options: Any = DEFAULT_API_CONNECT_OPTIONS) -> Any:
        raise NotImplementedError("streaming only")

    def stream(self, *, language: Any = NOT_GIVEN, conn_options: Any = DEFAULT_API_CONNECT_OPTIONS) -> ScriptedStream:
        stream = ScriptedStream(stt=self, conn_options=conn_options, sample_rate=None)
        self.streams.append(stream)
        self.opened.set()
        return stream


class ScriptedStream(stt.RecognizeStream):
    async def _run(self) -> None:
        async for _ in self._input_ch:  # the audio: silence, read and ignored
            pass

    def heard(self, text: str, *, final: bool) -> None:
        kind = stt.SpeechEventType.FINAL_TRANSCRIPT if final else stt.SpeechEventType.INTERIM_TRANSCRIPT
        self._event_ch.send_nowait(stt.SpeechEvent(type=kind, alternatives=[stt.SpeechData(language="en", text=text)]))


@dataclass
class VoiceChat:
    session: AgentSession
    ctl: SessionController
    stt: ScriptedSTT

    async def type(self, text: str) -> Any:
        result = await self.session.run(user_input=text)
        await self.ctl.settle()
        return result

    async def speak(self, *pieces: tuple[str, bool]) -> str:
        """One spoken turn, transcribed in ``pieces`` ((text, final), in order), then ended;
        returns once the turn is in the history and the agent's answer to it is over."""
        finals = [text for text, final in pieces if final]
        loop = asyncio.get_running_loop()
        transcribed: asyncio.Future[None] = loop.create_future()
        answered: asyncio.Future[None] = loop.create_future()
        turn: list[str] = []

        def on_transcript(ev: Any) -> None:
            if ev.is_final and ev.transcript == finals[-1] and not transcribed.done():
                transcribed.set_result(None)

        def on_item(ev: Any) -> None:
            role = getattr(ev.item, "role", None)
            if role == "user" and ev.item.text_content == " ".join(finals):
                turn.append(ev.item.id)
            elif role == "assistant" and turn and not answered.done():
                answered.set_result(None)

        self.session.on("user_input_transcribed", on_transcript)
        self.session.on("conversation_item_added", on_item)
        try:
            await self.stt.opened.wait()
            for text, final in pieces:
                self.stt.streams[-1].heard(text, final=final)
            await transcribed  # every piece reached the session: the turn can end
            said = await self.session.commit_user_turn()
            await answered  # the end of turn is judged in a task of its own: wait for its answer
        finally:
            self.session.off("user_input_transcribed", on_transcript)
            self.session.off("conversation_item_added", on_item)
        await self.session.wait_for_idle()
        await self.ctl.settle()
        return said

    def history(self) -> list[str]:
        return [m.text_content or "" for m in self.session.history.messages() if m.role in ("user", "assistant")]

    def report(self) -> str:
        """The end-of-session report as LiveKit builds it (``JobContext.make_session_report``)."""
        s = self.session
        built = SessionReport(
            job_id="job", room_id="room", room="room", options=s.options,
            events=s._recorded_events, chat_history=s.history.copy(),  # no public way to the recorded events
        )  # fmt: skip
        return json.dumps(built.to_dict(), default=str)


@asynccontextmanager
async def voice_chat() -> AsyncIterator[VoiceChat]:
    provider = Provider("offline", {})
    ctl = SessionController(prompts.PromptLibrary(), provider)
    heard = ScriptedSTT()
    session = AgentSession(stt=heard, vad=None, user_away_timeout=None, turn_handling={"turn_detection": "manual"})
    session.input.audio = SpeechFeed()  # silence, in real time, as from a quiet microphone
    ctl.attach(session)
    try:
        async with timeout(TIME_LIMIT):
            await session.start(ctl.first_agent(greet=False))
            yield VoiceChat(session, ctl, heard)
            await ctl.settle()
    finally:
        await session.aclose()
        await provider.aclose()


SAILING = [("I like", False), ("I like sailing", True)]
PIN = [("my pin", False), ("my pin is four", False), ("my pin is 4321.", True), ("Don't tell anyone.", True)]
ADDRESS = [("my address", False), ("my address is twelve oak", False), ("my address is 12 Oak Street.", True)]


async def test_a_forgotten_spoken_turn_takes_every_transcript_of_it_out_of_the_report() -> None:
    async with voice_chat() as c:
        await c.speak(*SAILING)
        said = await c.speak(*PIN)
        assert said == "my pin is 4321. Don't tell anyone."
        assert "my pin is four" in c.report()  # LiveKit did record the pieces
        await c.type("forget what I just said")
        report, history = c.report(), c.history()

    assert [h for h in history if "pin" in h] == []
    for piece in ("my pin", "four", "4321", "Don't tell anyone"):
        assert piece not in report, piece
    # the turn before it stays whole: its message and each of its transcripts
    assert "I like sailing" in history
    assert report.count('"I like"') == 1 and report.count("I like sailing") >= 2


async def test_forgetting_a_topic_takes_the_transcripts_of_the_turns_about_it() -> None:
    async with voice_chat() as c:
        await c.speak(*ADDRESS)
        await c.speak(*SAILING)
        await c.type("forget my address")
        report = c.report()

    for piece in ("my address", "twelve oak", "12 Oak Street"):
        assert piece not in report, piece
    assert report.count('"I like"') == 1 and "I like sailing" in report


async def test_forgetting_everything_takes_every_transcript() -> None:
    async with voice_chat() as c:
        await c.speak(*SAILING)
        await c.speak(*PIN)
        await c.type("forget everything")
        report = c.report()

    for piece in ("I like", "sailing", "my pin", "four", "4321"):
        assert piece not in report, piece
