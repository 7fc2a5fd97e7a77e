"""mark_user_away on the realtime models, the real plugins against the loopback servers:
the acknowledgement is heard, the user stays away while the model hears side-talk,
"I'm back" gets exactly one answer, and a request made while away is carried out.

The user's speech is simulated as each service reports it:
- Gemini: a reply the model starts on its own, opened by the user's transcribed words
  (``inputTranscription``); the final transcript reaches the agent at the turn's end.
- OpenAI: server VAD's events (speech started/stopped, committed, the user item), a
  response the server creates on its own, and the transcript, which may arrive
  before or after that response.

Where a test must show that no reply leaked, it ends with a later turn whose answer
comes after anything the earlier ones could still have produced, then compares the
whole list of what the agent said.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import livekit.plugins.openai  # noqa: F401  (imported at collection, not inside a test)
from livekit.plugins import google  # noqa: F401

from agent.session.away import AwayPolicy
from agent.providers import Provider
from tests.harness import start_chat
from tests.helpers import heard, until
from tests.wire.support import controlled_session
from tests.wire.google.fixtures import gemini_env
from tests.wire.openai.fixtures import openai_env
from tests.wire.google.fake_gemini import FakeGeminiLive
from tests.wire.openai.fake_openai import FakeOpenAIRealtime

_ids = itertools.count(1)


def _speeches(c: Any) -> list[Any]:
    """Every speech the session starts from now on (to wait until all have ended)."""
    handles: list[Any] = []
    c.session.on("speech_created", lambda ev: handles.append(ev.speech_handle))
    return handles


def _user_texts(c: Any) -> list[str]:
    return [m.text_content for m in c.session.history.messages() if m.role == "user"]


# ------------------------------------------------------------------------------------------
# Gemini Live
# ------------------------------------------------------------------------------------------


async def _gemini_user_starts(conn: Any, words: str) -> None:
    await conn.send({"serverContent": {"inputTranscription": {"text": words}}})


async def _gemini_model_answers(conn: Any, model_reply: str) -> None:
    await conn.send({"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": model_reply}]}}})
    await conn.send({"serverContent": {"generationComplete": True}})
    await conn.send({"serverContent": {"turnComplete": True}})


async def _gemini_user_speaks(conn: Any, words: str, model_reply: str) -> None:
    await _gemini_user_starts(conn, words)
    await _gemini_model_answers(conn, model_reply)


async def _side_talk_and_back(fake: Any, c: Any, ack: list[str], user_speaks: Any) -> None:
    """Side-talk gets no reply and the user stays away; "I'm back" gets one answer.
    ``user_speaks(conn, words, model_reply)``: the provider's way of hearing the user."""
    speeches = _speeches(c)
    await user_speaks(fake.last, "did you see the game last night", "I did, what a match!")
    await until(lambda: "did you see the game last night" in _user_texts(c), what="side-talk transcribed")
    await until(lambda: speeches and all(s.done() for s in speeches), what="the model's reply played or stopped")
    await until(lambda: c.session.user_state == "away", what="still away")

    fake.queue_text("Welcome back!")
    await user_speaks(fake.last, "I'm back", "Oh hi.")
    await until(lambda: "Welcome back!" in heard(c), what="the agent picks up")
    assert c.session.user_state != "away"

    fake.queue_text("It was.")
    await c.say("what a game, right?")  # answered after anything the earlier turns produced
    assert heard(c) == [*ack, "Welcome back!", "It was."]


async def test_away_side_talk_and_back_on_gemini(trust_fake_gemini: FakeGeminiLive) -> None:
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        fake.queue_function_call("mark_user_away", {"minutes": 5})
        fake.queue_text("Take your time.")
        await c.say("give me five minutes")
        assert heard(c) == ["Take your time."]  # the tool's own reply is not held back
        assert c.session.user_state == "away"
        await _side_talk_and_back(fake, c, ["Take your time."], _gemini_user_speaks)


async def test_on_gemini_only_the_tool_own_reply_is_let_through(trust_fake_gemini: FakeGeminiLive) -> None:
    """The user says "brb" by voice; the model answers the tool result with nothing. The
    next reply it starts answers the side-talk, not the tool: it must not be heard."""
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        fake.queue_reply()  # the model's answer to the tool result: an empty turn
        await fake.wait_for_connections(1)
        await _gemini_user_starts(fake.last, "brb")
        await fake.last.send({"toolCall": {"functionCalls": [{"id": "fc-brb", "name": "mark_user_away", "args": {}}]}})
        await fake.wait_for("toolResponse")
        assert c.session.user_state == "away"
        await _side_talk_and_back(fake, c, [], _gemini_user_speaks)


async def test_on_gemini_the_acknowledgement_is_let_through_once(trust_fake_gemini: FakeGeminiLive) -> None:
    """After its answer to the tool result the model talks on, unasked and with no words of
    the user's in between: only the first reply was the acknowledgement, the next is not heard."""
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        fake.queue_function_call("mark_user_away", {"minutes": 5})
        fake.queue_text("Take your time.")
        await c.say("give me five minutes")
        assert heard(c) == ["Take your time."]
        speeches = _speeches(c)
        await _gemini_model_answers(fake.last, "By the way, did you know octopuses have three hearts?")
        await until(lambda: speeches and all(s.done() for s in speeches), what="the model's own reply played or stopped")
        assert c.session.user_state == "away"

        fake.queue_text("Welcome back!")
        await c.say("I'm back")  # answered after anything the earlier turns produced
        assert heard(c) == ["Take your time.", "Welcome back!"]


async def test_on_gemini_a_check_in_due_while_the_user_is_coming_back_is_never_said(
    trust_fake_gemini: FakeGeminiLive,
) -> None:
    fake = trust_fake_gemini
    policy = AwayPolicy(default_hold_minutes=1, goodbye_after_minutes=1000, seconds_per_minute=0.2)
    async with start_chat(provider=Provider("google", gemini_env(fake)), away=policy) as c:
        fake.queue_function_call("mark_user_away", {})
        fake.queue_text("Take your time.")
        await c.say("brb")

        fake.queue_text("Welcome back!")
        await _gemini_user_starts(fake.last, "I'm back")  # ... and the check-in falls due meanwhile
        await asyncio.sleep(policy.default_hold_minutes * policy.seconds_per_minute)  # past the check-in's timer
        await _gemini_model_answers(fake.last, "Oh hi.")
        await until(lambda: "Welcome back!" in heard(c), what="the agent picks up")

        fake.queue_text("Sure.")
        await c.say("let's go on")
        assert heard(c) == ["Take your time.", "Welcome back!", "Sure."]
        assert not c.ctl.away.active and not c.ctl.away.timer_pending


async def test_on_gemini_a_noticed_away_ends_when_the_user_speaks(trust_fake_gemini: FakeGeminiLive) -> None:
    fake = trust_fake_gemini
    policy = AwayPolicy(goodbye_after_minutes=1000)
    async with start_chat(provider=Provider("google", gemini_env(fake)), away=policy, user_away_timeout=0.05) as c:
        fake.queue_text("Are you still there?")  # the check-in, said through the model
        await until(lambda: heard(c) == ["Are you still there?"], what="the check-in")
        assert c.session.user_state == "away"

        await _gemini_user_starts(fake.last, "what's the weather like")
        await until(lambda: not c.ctl.away.active, what="the hold ends while the user is still speaking")
        assert c.session.user_state == "speaking"
        await _gemini_model_answers(fake.last, "Sunny all day.")
        await until(lambda: "Sunny all day." in heard(c), what="the user's words answered")
        assert heard(c) == ["Are you still there?", "Sunny all day."]


# ------------------------------------------------------------------------------------------
# OpenAI Realtime
# ------------------------------------------------------------------------------------------


async def _openai_user_speaks(conn: Any, words: str, model_reply: str, *, transcript_first: bool = False) -> None:
    """The user's words through server VAD, and the response the server creates on its own."""
    n = next(_ids)
    user_item, reply_item, resp = f"item_user{n}", f"item_reply{n}", f"resp_user{n}"
    previous = conn.items[-1]["id"] if conn.items else None
    await conn.send({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": user_item})
    await conn.send({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 800, "item_id": user_item})
    await conn.send({"type": "input_audio_buffer.committed", "previous_item_id": previous, "item_id": user_item})
    user = {"id": user_item, "object": "realtime.item", "type": "message", "role": "user", "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}]}  # fmt: skip
    conn.items.append(user)  # the fake's own record of the conversation, as the service keeps it
    await conn.send({"type": "conversation.item.added", "previous_item_id": previous, "item": user})
    transcript = {"type": "conversation.item.input_audio_transcription.completed", "item_id": user_item,
                  "content_index": 0, "transcript": words, "usage": {"type": "duration", "seconds": 0.8}}  # fmt: skip
    if transcript_first:
        await conn.send(transcript)
    await conn.send_text_response(resp, reply_item, user_item, model_reply)
    if not transcript_first:
        await conn.send(transcript)


async def _openai_away(fake: FakeOpenAIRealtime, c: Any) -> None:
    fake.queue_function_call("mark_user_away", {"minutes": 5})
    fake.queue_text("Take your time.")
    result = await c.say("give me five minutes")
    result.expect.contains_function_call(name="mark_user_away", arguments={"minutes": 5})
    assert heard(c) == ["Take your time."]
    assert c.session.user_state == "away"


async def test_away_side_talk_and_back_on_openai(fake_openai: FakeOpenAIRealtime) -> None:
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        await _openai_away(fake_openai, c)
        await _side_talk_and_back(fake_openai, c, ["Take your time."], _openai_user_speaks)


async def test_on_openai_a_return_heard_before_the_model_answers_gets_one_answer(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    """The transcript of "I'm back" arrives before the response the server made for it:
    that response is the answer, and no second one is asked for."""
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        await _openai_away(fake_openai, c)
        asked = len(fake_openai.events("response.create"))

        await _openai_user_speaks(fake_openai.last, "I'm back", "Welcome back!", transcript_first=True)
        await until(lambda: "Welcome back!" in heard(c), what="the agent picks up")
        assert c.session.user_state != "away"

        fake_openai.queue_text("Sure.")
        await c.say("let's go on")
        assert heard(c) == ["Take your time.", "Welcome back!", "Sure."]
        assert len(fake_openai.events("response.create")) == asked + 1  # "let's go on" only


async def test_on_openai_typed_side_talk_is_not_answered_and_a_typed_return_ends_the_hold(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        await _openai_away(fake_openai, c)

        fake_openai.queue_text("I did, what a match!")
        await c.say("did you see the game last night?")
        assert c.session.user_state == "away"

        fake_openai.queue_text("Welcome back!")
        await c.say("I'm back")
        assert c.session.user_state == "listening" and not c.ctl.away.active
        assert heard(c) == ["Take your time.", "Welcome back!"]


async def test_on_openai_a_noticed_away_ends_with_a_typed_turn(fake_openai: FakeOpenAIRealtime) -> None:
    policy = AwayPolicy(goodbye_after_minutes=1000)
    env = openai_env(fake_openai, modalities="text")
    async with start_chat(provider=Provider("openai", env), away=policy, user_away_timeout=0.05) as c:
        fake_openai.queue_text("Are you still there?")
        await until(lambda: heard(c) == ["Are you still there?"], what="the check-in")
        assert c.session.user_state == "away"

        fake_openai.queue_text("Sunny all day.")
        await c.say("what's the weather like?")
        assert heard(c) == ["Are you still there?", "Sunny all day."]
        assert ("user_state_changed", ("away", "listening")) in c.events


async def test_on_openai_a_request_heard_while_away_ends_the_hold_and_is_done(fake_openai: FakeOpenAIRealtime) -> None:
    """The model's own answer to the words is held back while they are judged; they ask for
    a session change, so the hold ends and the model is asked to answer them."""
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        await _openai_away(fake_openai, c)
        fake_openai.queue_function_call("switch_persona", {"persona": "pirate"})
        fake_openai.queue_text("Ahoy!")
        await _openai_user_speaks(fake_openai.last, "talk to the pirate", "Let me get the pirate.")
        await until(lambda: "Ahoy!" in heard(c), what="the switch is answered")
        assert c.ctl.persona_id == "pirate" and not c.ctl.away.active and c.session.user_state != "away"
        assert heard(c) == ["Take your time.", "Ahoy!"]


async def test_on_openai_a_typed_request_while_away_is_done(fake_openai: FakeOpenAIRealtime) -> None:
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        await _openai_away(fake_openai, c)
        fake_openai.queue_function_call("switch_persona", {"persona": "tutor"})
        fake_openai.queue_text("Hi, I'm Ada.")
        result = await c.say("can I talk to the tutor")
        result.expect.contains_function_call(name="switch_persona")
        assert c.ctl.persona_id == "tutor" and not c.ctl.away.active and c.session.user_state == "listening"
        assert heard(c) == ["Take your time.", "Hi, I'm Ada."]
