"""Guards of the session's changes on the realtime models: the real plugins against the
loopback fakes, the real controller and AgentSession (tests/harness.py).

- A hand-off LiveKit dropped (the user barged in) frees the session: the next change is
  made, not refused as "another change is still being made".
- An OpenAI switch whose voice update the service accepted and whose instructions update
  it refused keeps the persona, puts the old instructions and voice back, and says
  "refused".
- Saying the persona's name while away, by voice, ends the hold with exactly one answer.
- Words that never get a final transcript do not hold the check-in off forever: it
  waits once for them, then is said.

Nothing here measures time: waits poll with a generous limit that only turns a hang into
a failure.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import livekit.plugins.openai  # noqa: F401  (imported at collection, not inside a test)
from livekit.plugins import google  # noqa: F401

from agent.providers import Provider
from agent.session.away import AwayPolicy
from tests.harness import start_chat
from tests.helpers import barge_in_once, function_outputs, heard, until

from .support import controlled_session, expected_instructions
from .google.fake_gemini import FakeGeminiLive
from .google.fixtures import gemini_env
from .openai.fake_openai import FakeOpenAIRealtime
from .openai.fixtures import openai_env

OLD_SESSION_REPLY = "(the old session answering its tool response)"
BUSY = "is still being made"
AFTER_THE_DROP = "(the model, after the interrupted tool call)"
_ids = itertools.count(1)


# ------------------------------------------------------------------------------------------
# a dropped hand-off frees the session for the next change
# ------------------------------------------------------------------------------------------


async def _dropped(fake: Any, c: Any, tool: str, name: str, arguments: dict[str, Any], words: str, *, answered: bool = True) -> None:
    """``answered``: the model answers the failed call's output on its own (Gemini answers
    every tool response), after the run is over; the next turn comes after that answer."""
    before = c.agent
    barge_in_once(c, tool)
    fake.queue_function_call(name, arguments)
    if answered:
        fake.queue_text(AFTER_THE_DROP)
    result = await c.say(words)
    (output,) = function_outputs(result)
    assert output.is_error and "did not happen" in output.output, output.output
    if answered:
        await until(lambda: AFTER_THE_DROP in heard(c), timeout=5.0, what="the model's answer to the dropped change")
    await c.session.wait_for_idle()
    assert c.agent is before and c.ctl.persona_id == "assistant"


async def _switch_to_tutor(fake: Any, c: Any, *, hands_off: bool) -> Any:
    fake.queue_function_call("switch_persona", {"persona": "tutor"})
    if hands_off:
        fake.queue_text(OLD_SESSION_REPLY)  # the old session answers the tool response while it drains
    fake.queue_text("Hi, I'm Ada.")
    result = await c.say("can I talk to the tutor?")
    (output,) = function_outputs(result)
    return output


async def test_on_gemini_a_dropped_switch_leaves_the_next_switch_free_to_happen(trust_fake_gemini: FakeGeminiLive) -> None:
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        fake.queue_text("Nice.")
        await c.say("I like tea")
        await _dropped(fake, c, "switch_persona", "switch_persona", {"persona": "pirate"}, "can I talk to the pirate?")
        output = await _switch_to_tutor(fake, c, hands_off=True)
        await until(lambda: c.agent.entered.is_set() and c.ctl.persona_id == "tutor", timeout=5.0, what="the hand-off")
        second = await fake.wait_for_connections(2)

    assert not output.is_error and BUSY not in output.output, output.output
    assert output.output.startswith("Switched: you are now Ada.")
    assert c.ctl.persona_id == "tutor" and ("persona_changed", "tutor") in c.events
    assert ("persona_changed", "pirate") not in c.events
    assert second.system_instruction == expected_instructions("google", "tutor")
    assert len(fake.connections) == 2  # the dropped switch never opened one


async def test_on_gemini_a_dropped_forget_leaves_the_next_change_free_to_happen(trust_fake_gemini: FakeGeminiLive) -> None:
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        fake.queue_text("Nice.")
        await c.say("I like tea")
        fake.queue_text("Noted.")
        await c.say("my secret is 42")
        await _dropped(fake, c, "forget", "forget_conversation", {"scope": "last_turn"}, "forget what I just said")
        output = await _switch_to_tutor(fake, c, hands_off=True)
        await until(lambda: c.agent.entered.is_set() and c.ctl.persona_id == "tutor", timeout=5.0, what="the hand-off")

    assert not output.is_error and BUSY not in output.output, output.output
    assert c.ctl.persona_id == "tutor"
    assert "my secret is 42" in c.history_texts()  # the dropped forget forgot nothing


async def test_on_openai_a_dropped_switch_leaves_the_next_switch_free_to_happen(fake_openai: FakeOpenAIRealtime) -> None:
    """After audio, OpenAI cannot change the voice in place: a switch is a hand-off here too."""
    fake = fake_openai
    async with controlled_session("openai", openai_env(fake)) as c:
        await c.say("hi")  # answered with audio: the voice is fixed from now on
        assert fake.last.audio_produced
        await _dropped(fake, c, "switch_persona", "switch_persona", {"persona": "pirate"}, "can I talk to the pirate?", answered=False)
        assert fake.pending_replies == 0
        output = await _switch_to_tutor(fake, c, hands_off=False)
        await until(lambda: c.agent.entered.is_set() and c.ctl.persona_id == "tutor", timeout=5.0, what="the hand-off")
        second = await fake.wait_for_connections(2)

    assert not output.is_error and BUSY not in output.output, output.output
    assert c.ctl.persona_id == "tutor"
    assert second.instructions == expected_instructions("openai", "tutor")
    assert len(fake.connections) == 2


async def test_on_gemini_a_hand_off_that_happened_leaves_the_next_change_free_to_happen(
    trust_fake_gemini: FakeGeminiLive,
) -> None:
    """Three changes in a row, each a fresh session: none is refused as still being made."""
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        fake.queue_text("Nice.")
        await c.say("I like tea")
        outputs = []
        for n, (call, arguments, words, line) in enumerate(
            [
                ("switch_persona", {"persona": "pirate"}, "can I talk to the pirate?", "Ahoy!"),
                ("switch_persona", {"persona": "tutor"}, "now the tutor please", "Hi, I'm Ada."),
                ("forget_conversation", {"scope": "everything"}, "forget everything", "Forgotten."),
            ],
            start=2,
        ):
            fake.queue_function_call(call, arguments)
            fake.queue_text(OLD_SESSION_REPLY)
            fake.queue_text(line)
            result = await c.say(words)
            (output,) = function_outputs(result)
            outputs.append(output)
            await fake.wait_for_connections(n)
            await until(lambda: c.agent.entered.is_set(), timeout=5.0, what="the hand-off")

    assert [o.is_error for o in outputs] == [False, False, False], [o.output for o in outputs]
    assert [e for e in c.events if e[0] == "persona_changed"] == [("persona_changed", "pirate"), ("persona_changed", "tutor")]
    assert c.ctl.persona_id == "tutor" and "I like tea" not in c.history_texts()
    assert len(fake.connections) == 4


# ------------------------------------------------------------------------------------------
# OpenAI: the voice accepted, the instructions refused
# ------------------------------------------------------------------------------------------


def _refuse_the_update_that_sets(server: FakeOpenAIRealtime, instructions: str) -> list[dict[str, Any]]:
    """Refuse each ``session.update`` that sets ``instructions`` (and only those), as the
    service refuses an update: an error, no session.updated, the session unchanged. The
    fake reports each client event before it handles it; that is when the refusal is
    armed. Returns the refused updates."""
    refused: list[dict[str, Any]] = []
    inner = server._notify

    def notify() -> None:
        for conn in server.connections:
            last = conn.received[-1] if conn.received else None
            if (
                last is not None
                and last.get("type") == "session.update"
                and (last.get("session") or {}).get("instructions") == instructions
                and not any(last is r for r in refused)
            ):
                refused.append(last)
                server.refuse_next_session_update(code="invalid_value", message="Invalid value for 'instructions'.")
        inner()

    server._notify = notify
    return refused


def _voice(update: dict[str, Any]) -> str | None:
    return ((update["session"].get("audio") or {}).get("output") or {}).get("voice")


async def test_on_openai_a_refused_instructions_update_after_an_accepted_voice_keeps_everything(
    fake_openai: FakeOpenAIRealtime, caplog: pytest.LogCaptureFixture
) -> None:
    fake = fake_openai
    library_voice = lambda pid: c.ctl.library.persona(pid).voices["openai"]  # noqa: E731
    async with controlled_session("openai", openai_env(fake, modalities="text")) as c:
        await c.say("hi")
        before = c.agent.instructions
        refused = _refuse_the_update_that_sets(fake, expected_instructions("openai", "pirate"))
        fake.queue_function_call("switch_persona", {"persona": "pirate"})
        fake.queue_text("Sorry, I can't switch right now.")
        result = await c.say("can I talk to the pirate?")
        (output,) = function_outputs(result)
        after = c.agent.instructions
        # every update the switch sent, and its rollback, has been answered
        await until(lambda: len(fake.sent_events("session.updated")) + len(fake.sent_events("error")) == len(fake.events("session.update")),
                    timeout=5.0, what="every update answered")  # fmt: skip
        fake.queue_text("Still Alex here.")
        await c.say("who are you?")

    (conn,) = fake.connections
    voices = [v for e in conn.events("session.update") if (v := _voice(e)) is not None]
    # the voice went first and was taken; the instructions were refused
    assert voices[-2:] == [library_voice("pirate"), library_voice("assistant")], voices
    assert len(refused) == 1 and [e["error"]["code"] for e in conn.sent_events("error")] == ["invalid_value"]
    # the tool says so, and nothing a frontend, the model or the service holds has changed
    assert output.is_error and "refused" in output.output and "nothing changed" in output.output, output.output
    assert "Switched" not in output.output
    assert c.ctl.persona_id == "assistant" and not [e for e in c.events if e[0] == "persona_changed"]
    assert before == after == c.agent.instructions == expected_instructions("openai")
    assert conn.instructions == expected_instructions("openai")
    assert conn.voice == library_voice("assistant")  # the accepted voice was put back
    # the log says why: the service's own refusal, not a missing answer
    warnings = [r.getMessage() for r in caplog.records if r.name == "agent" and r.levelname == "WARNING"]
    assert any("refused the switch to pirate" in w and "invalid_value" in w for w in warnings), warnings


# ------------------------------------------------------------------------------------------
# the user's voice on OpenAI: server VAD's events, a response the server makes on its own
# ------------------------------------------------------------------------------------------


async def _user_speaks(conn: Any, *, transcript: str | None, delta: str | None = None, server_answers: str | None = None) -> str:
    """Speech started and stopped, the turn committed and its item added; then (optionally)
    a partial transcript, a response the server creates on its own, and the final
    transcript (``None``: transcription failed, no final transcript ever comes)."""
    n = next(_ids)
    user_item = f"item_guard_user{n}"
    previous = conn.items[-1]["id"] if conn.items else None
    await conn.send({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": user_item})
    await conn.send({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 800, "item_id": user_item})
    await conn.send({"type": "input_audio_buffer.committed", "previous_item_id": previous, "item_id": user_item})
    user = {"id": user_item, "object": "realtime.item", "type": "message", "role": "user", "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}]}  # fmt: skip
    conn.items.append(user)
    await conn.send({"type": "conversation.item.added", "previous_item_id": previous, "item": user})
    if delta is not None:
        await conn.send({"type": "conversation.item.input_audio_transcription.delta", "item_id": user_item,
                         "content_index": 0, "delta": delta})  # fmt: skip
    if server_answers is not None:
        await conn.send_text_response(f"resp_guard{n}", f"item_guard_reply{n}", user_item, server_answers)
    if transcript is not None:
        await conn.send({"type": "conversation.item.input_audio_transcription.completed", "item_id": user_item,
                         "content_index": 0, "transcript": transcript, "usage": {"type": "duration", "seconds": 0.8}})  # fmt: skip
    elif delta is None:
        await conn.send({"type": "conversation.item.input_audio_transcription.failed", "item_id": user_item, "content_index": 0,
                         "error": {"type": "transcription_error", "code": "audio_unintelligible",
                                   "message": "Audio could not be transcribed.", "param": None}})  # fmt: skip
    return user_item


async def _away(fake: FakeOpenAIRealtime, c: Any, arguments: dict[str, Any] | None = None) -> None:
    fake.queue_function_call("mark_user_away", arguments or {"minutes": 5})
    fake.queue_text("Take your time.")
    result = await c.say("give me a few minutes")
    result.expect.contains_function_call(name="mark_user_away")
    assert heard(c) == ["Take your time."] and c.session.user_state == "away"


# ------------------------------------------------------------------------------------------
# the persona's name while away, by voice
# ------------------------------------------------------------------------------------------


async def _back_by_name(fake: FakeOpenAIRealtime, c: Any, words: str) -> None:
    asked = len(fake.events("response.create"))
    fake.queue_text("Welcome back!")
    await _user_speaks(fake.last, transcript=words, server_answers="Oh hi.")
    await until(lambda: "Welcome back!" in heard(c), timeout=5.0, what="the agent picks up")
    assert c.session.user_state != "away" and not c.ctl.away.active
    fake.queue_text("Sure.")
    await c.say("let's go on")  # answered after anything the return could still have produced
    assert heard(c) == ["Take your time.", "Welcome back!", "Sure."]
    # one answer asked for the return (the server's own was held back), one for "let's go on"
    assert len(fake.events("response.create")) == asked + 2


async def test_on_openai_saying_the_persona_name_while_away_ends_the_hold_with_one_answer(fake_openai: FakeOpenAIRealtime) -> None:
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        await _away(fake_openai, c)
        await _back_by_name(fake_openai, c, "Alex are you there")


async def test_on_openai_saying_the_persona_alias_while_away_ends_the_hold_with_one_answer(fake_openai: FakeOpenAIRealtime) -> None:
    async with controlled_session("openai", openai_env(fake_openai, modalities="text"), persona="pirate") as c:
        fake_openai.queue_function_call("mark_user_away", {"minutes": 5})
        fake_openai.queue_text("Take your time.")
        await c.say("give me a few minutes")
        await _back_by_name(fake_openai, c, "captain I'm ready")


async def test_on_openai_addressing_the_persona_with_a_comma_while_away_gets_one_answer(fake_openai: FakeOpenAIRealtime) -> None:
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        await _away(fake_openai, c)
        await _back_by_name(fake_openai, c, "Alex, are you there?")


# ------------------------------------------------------------------------------------------
# the check-in and words with no final transcript
# ------------------------------------------------------------------------------------------

# the check-in falls due 1.5 s after the hold starts: time enough to hear the words first
POLICY = AwayPolicy(default_hold_minutes=3, retry_minutes=1, goodbye_after_minutes=1000, seconds_per_minute=0.5)
CHECK_IN = "Are you still there?"


async def _check_in_despite(fake: FakeOpenAIRealtime, c: Any, **speech: Any) -> None:
    await _away(fake, c, {})
    await _user_speaks(fake.last, transcript=None, **speech)
    await c.session.wait_for_idle()  # the server's own answer, if any, was stopped
    assert heard(c) == ["Take your time."] and c.ctl.away.timer_pending  # the hold has not run out yet
    fake.queue_text(CHECK_IN)
    await until(lambda: CHECK_IN in heard(c), timeout=8.0, what="the check-in")
    assert heard(c) == ["Take your time.", CHECK_IN]
    assert c.session.user_state == "away" and c.ctl.away.active  # still away: only the goodbye ends it


async def test_on_openai_words_whose_transcription_failed_do_not_hold_the_check_in_off(fake_openai: FakeOpenAIRealtime) -> None:
    """The server answered the words on its own (held back: they were not judged yet), then
    their transcription failed: no final transcript will ever judge them."""
    async with start_chat(provider=Provider("openai", openai_env(fake_openai, modalities="text")), away=POLICY) as c:
        await _check_in_despite(fake_openai, c, server_answers="I did, what a match!")


async def test_on_openai_words_heard_in_part_only_do_not_hold_the_check_in_off(fake_openai: FakeOpenAIRealtime) -> None:
    """A partial transcript, then nothing: the words stay "being heard" for good."""
    async with start_chat(provider=Provider("openai", openai_env(fake_openai, modalities="text")), away=POLICY) as c:
        await _check_in_despite(fake_openai, c, delta="did you see")
