"""Session control on Ultravox, end to end and asserted on the wire.

The real SessionController, ControlledAgent and AgentSession drive the real
livekit-plugins-ultravox RealtimeModel (built by agent/providers.py from environment
values) against the loopback fake. The user speaks as Ultravox reports it: a final user
transcript, then the agent's reply (the fake's script).

On Ultravox nothing changes in place (livekit-plugins-ultravox 1.8.9: new instructions
restart the call without its history, removals send nothing, the voice is fixed per
call), so a switch and a forget both hand off to a fresh call: a new ``POST /calls`` with
the persona's prompt and voice, seeded with the turns that survive. The plugin carries
the user's turns (as deferred text messages) and skips the agent's own replies
(``update_chat_ctx``: "Assistant messages are skipped"); the tests pin both.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from livekit.agents import llm
from livekit.agents.utils import http_context
from livekit.plugins import ultravox  # noqa: F401  (imported at collection, not inside a test)

from tests.helpers import barge_in_once, heard, until

from ..support import controlled_session, expected_instructions
from .fake_ultravox import FakeUltravox, UltravoxCall
from .fixtures import ultravox_env

RECONNECT = "after a short reconnect"
FORGOTTEN = ("secret", "42", "Noted", "forget what I just said")
OLD_CALL_REPLY = "(the old call answering its tool result)"


async def _turn(fake: FakeUltravox, c: Any, call: UltravoxCall, words: str, reply: str) -> None:
    fake.queue_text(reply)
    await call.user_says(words)
    await until(lambda: reply in c.history_texts(), what=f"the reply {reply!r}")


async def _two_turns(fake: FakeUltravox, c: Any) -> UltravoxCall:
    call = await fake.wait_for_calls(1)
    await _turn(fake, c, call, "I like tea", "Nice.")
    await _turn(fake, c, call, "my secret is 42", "Noted.")
    return call


async def _hand_off(fake: FakeUltravox, c: Any, call: UltravoxCall, tool: str, args: dict[str, Any], words: str) -> UltravoxCall:
    """The user asks for ``tool``; return the fresh call once its agent entered and the old
    call closed. The old call's answer to the tool result, had it given one, is scripted
    first: it must stay unused."""
    first_agent = c.agent
    fake.queue_tool_call(tool, args)
    fake.queue_text(OLD_CALL_REPLY)  # what the old call would say if it answered the result
    await call.user_says(words)
    second = await fake.wait_for_calls(2)
    await until(lambda: c.agent is not first_agent and c.agent.entered.is_set(), what="hand-off")
    await until(lambda: second.messages("forced_agent_message"), what="the line asked of the fresh call")
    await until(lambda: call.closed, what="old call closed")
    assert [r[0].text for r in fake.take_unused_replies()] == [OLD_CALL_REPLY]
    return second


def _tool_results(call: UltravoxCall) -> list[dict[str, Any]]:
    return call.messages("client_tool_result")


def _said_after_tool(call: UltravoxCall) -> list[str]:
    tail = call.conversation[[k for k, _ in call.conversation].index("tool_result") :]
    return [text for kind, text in tail if kind == "agent"]


# ------------------------------------------------------------------------------------------
# switch_persona
# ------------------------------------------------------------------------------------------


async def test_switch_opens_a_fresh_call_with_the_new_persona_and_the_kept_user_turns(fake_ultravox: FakeUltravox) -> None:
    fake = fake_ultravox
    # as in a job: a shared HTTP session is bound, which no model may close for the others
    async with http_context.open(), controlled_session("ultravox", ultravox_env(fake)) as c:
        first = await _two_turns(fake, c)
        first_model = c.agent.llm
        second = await _hand_off(fake, c, first, "switch_persona", {"persona": "pirate"}, "can I talk to the pirate?")
        line = c.ctl.render("lines/switch", "pirate", previous={"id": "assistant", "name": "Alex"})
        await until(lambda: line in c.history_texts(), what="the switch line heard")
        # the model handed off from is closed now; the fresh call lives on
        await until(lambda: all(m is not first_model for m in c.ctl.provider.made), what="old model released")

        fake.queue_text("Captain Reed, at yer service.")
        await second.user_says("who are you?")
        await until(lambda: "Captain Reed, at yer service." in c.history_texts(), what="the follow-up")
        pirate = c.ctl.library.persona("pirate")
        history = c.history_texts()

    assert len(fake.calls) == 2  # one fresh call, and the follow-up did not add one
    assert not fake.rejected
    # the fresh call is created as the pirate: prompt, voice and the same tools
    assert second.system_prompt == expected_instructions("ultravox", "pirate")
    assert first.system_prompt == expected_instructions("ultravox", "assistant")
    assert (first.voice, second.voice) == (c.ctl.library.persona("assistant").voices["ultravox"], pirate.voices["ultravox"])
    assert second.tool_names == first.tool_names == ["switch_persona", "forget_conversation", "mark_user_away"]
    # it carries the user's turns, in order, added without a reply ...
    assert second.history_before_first_turn() == [
        ("user", "I like tea"),
        ("user", "my secret is 42"),
        ("user", "can I talk to the pirate?"),
    ]
    # ... not the agent's own replies (the plugin skips them), nor the switch's call
    carried = json.dumps(second.received)
    assert "Nice." not in carried and "Noted." not in carried and "switch_persona" not in carried
    assert not second.messages("client_tool_result")
    # its first words are the switch line, given verbatim (a forced agent message)
    assert [m["content"] for m in second.messages("forced_agent_message")] == [line]
    assert history[-3:] == [line, "who are you?", "Captain Reed, at yer service."]

    # the old call was told the outcome, wants no reply, and said nothing more
    (result,) = _tool_results(first)
    assert RECONNECT in result["result"] and result.get("agentReaction") == "listens"
    assert _said_after_tool(first) == [] and OLD_CALL_REPLY not in history
    assert c.ctl.persona_id == "pirate" and ("persona_changed", "pirate") in c.events
    assert c.errors == []


# ------------------------------------------------------------------------------------------
# forget_conversation
# ------------------------------------------------------------------------------------------


async def test_forget_last_turn_opens_a_fresh_call_without_it(fake_ultravox: FakeUltravox) -> None:
    fake = fake_ultravox
    async with controlled_session("ultravox", ultravox_env(fake)) as c:
        first = await _two_turns(fake, c)
        second = await _hand_off(fake, c, first, "forget_conversation", {"scope": "last_turn"}, "forget what I just said")
        ack = c.ctl.render("lines/forget", scope="last_turn")
        await until(lambda: ack in c.history_texts(), what="the acknowledgement heard")
        await _turn(fake, c, second, "what do you know about me?", "That you like tea.")
        context = c.context_texts()
        history = c.history_texts()
        report = repr([e.model_dump() for e in c.session._recorded_events])

    assert len(fake.calls) == 2
    assert second.system_prompt == expected_instructions("ultravox")  # the same persona, in full
    assert second.voice == first.voice
    assert second.history_before_first_turn() == [("user", "I like tea")]
    assert not any(word in json.dumps(second.received) for word in FORGOTTEN)
    # the acknowledgement is said once, by the fresh call
    assert [m["content"] for m in second.messages("forced_agent_message")] == [ack]
    assert history.count(ack) == 1
    # the session's own record follows: context, history and the report built from its events
    for record in (context, history):
        assert record[0] == "I like tea" and not any(w in json.dumps(record) for w in FORGOTTEN)
    assert "I like tea" in report and not any(w in report for w in ("my secret is 42", "Noted."))
    (result,) = _tool_results(first)
    assert "the user's previous turn" in result["result"] and "reconnect" in result["result"]
    assert result.get("agentReaction") == "listens" and _said_after_tool(first) == []
    assert c.errors == []


async def test_forget_everything_opens_a_fresh_call_with_no_turns(fake_ultravox: FakeUltravox) -> None:
    fake = fake_ultravox
    async with controlled_session("ultravox", ultravox_env(fake)) as c:
        first = await _two_turns(fake, c)
        second = await _hand_off(fake, c, first, "forget_conversation", {"scope": "everything"}, "forget everything")
        await _turn(fake, c, second, "what do you know about me?", "We just met.")

    assert len(fake.calls) == 2
    assert second.system_prompt == expected_instructions("ultravox")
    assert second.history_before_first_turn() == []
    assert not any(word in json.dumps(second.received) for word in (*FORGOTTEN, "I like tea", "forget everything"))
    assert second.conversation[-2:] == [("user", "what do you know about me?"), ("agent", "We just met.")]


# ------------------------------------------------------------------------------------------
# the plugin facts the strategy relies on
# ------------------------------------------------------------------------------------------


async def test_the_plugin_restarts_the_call_for_new_instructions_and_loses_the_conversation(fake_ultravox: FakeUltravox) -> None:
    """Why a change is never made in place on Ultravox: livekit-plugins-ultravox 1.8.9 takes new
    instructions by creating a new call that carries none of the conversation, and a removal
    sends nothing. (The agent never does either; this pins the plugin's behaviour.)"""
    fake = fake_ultravox
    async with controlled_session("ultravox", ultravox_env(fake)) as c:
        first = await _two_turns(fake, c)
        sent_before = len(first.received)
        await c.agent.update_chat_ctx(llm.ChatContext.empty())
        await c.agent.update_instructions("You are someone else.")
        second = await fake.wait_for_calls(2)
        await until(lambda: first.closed, what="old call closed")

    assert first.received[sent_before:] == []  # the removal sent nothing
    assert second.system_prompt == "You are someone else."
    assert second.received == [] or all(m["type"] == "set_output_medium" for m in second.received)


# ------------------------------------------------------------------------------------------
# mark_user_away
# ------------------------------------------------------------------------------------------


async def test_away_side_talk_is_not_answered_and_the_return_gets_one_answer(fake_ultravox: FakeUltravox) -> None:
    fake = fake_ultravox
    async with controlled_session("ultravox", ultravox_env(fake)) as c:
        call = await fake.wait_for_calls(1)
        speeches: list[Any] = []
        c.session.on("speech_created", lambda ev: speeches.append(ev.speech_handle))
        fake.queue_tool_call("mark_user_away", {"minutes": 5})
        fake.queue_text("Take your time.")  # Ultravox answers the tool result on its own
        await call.user_says("give me five minutes")
        await until(lambda: heard(c) == ["Take your time."], what="the acknowledgement")
        assert c.session.user_state == "away"
        (result,) = _tool_results(call)
        assert result.get("agentReaction") == "speaks" and "marked away" in result["result"]

        fake.queue_text("I did, what a match!")
        await call.user_says("did you see the game last night")
        await until(lambda: ("agent", "I did, what a match!") in call.conversation, what="the model answered the side-talk")
        await until(lambda: all(s.done() for s in speeches), what="its reply played or stopped")
        assert c.session.user_state == "away"

        await _turn(fake, c, call, "I'm back", "Welcome back!")
        assert c.session.user_state != "away"
        await _turn(fake, c, call, "what a game, right?", "It was.")  # after anything earlier turns produced
        assert heard(c) == ["Take your time.", "Welcome back!", "It was."]
        assert len(fake.calls) == 1 and c.errors == []


async def test_away_words_before_the_model_answers_the_tool_result_stop_that_answer(fake_ultravox: FakeUltravox) -> None:
    """The tool result went out, and the user speaks (side-talk) before the model starts its
    answer to it: that answer may be answering the words, so it is not let through as the
    acknowledgement, and the side-talk gets no reply."""
    fake = fake_ultravox
    async with controlled_session("ultravox", ultravox_env(fake)) as c:
        call = await fake.wait_for_calls(1)
        speeches: list[Any] = []
        c.session.on("speech_created", lambda ev: speeches.append(ev.speech_handle))
        finals: list[str] = []
        c.session.on("user_input_transcribed", lambda ev: ev.is_final and finals.append(ev.transcript))
        answer = asyncio.Event()
        fake.queue_tool_call("mark_user_away", {"minutes": 5})
        fake.queue_text("Take your time.", after=answer)  # the model is slow to answer the result
        await call.user_says("brb")
        await fake.wait_for("client_tool_result")
        await call.user_heard("did you see the game last night")
        await until(lambda: "did you see the game last night" in finals, what="the side-talk transcribed")
        answer.set()
        await until(lambda: ("agent", "Take your time.") in call.conversation, what="the model answered")
        await until(lambda: all(s.done() for s in speeches), what="its reply played or stopped")
        assert c.session.user_state == "away"

        await _turn(fake, c, call, "I'm back", "Welcome back!")  # after anything earlier turns produced
        assert heard(c) == ["Welcome back!"]
        assert c.errors == []


async def test_a_fresh_call_gets_no_result_of_an_earlier_call_s_tool(fake_ultravox: FakeUltravox) -> None:
    """Tool results answer an invocation of the call that made it; a fresh call never made
    the earlier ones (the fake fails the test on a result for an unknown invocation)."""
    fake = fake_ultravox
    async with controlled_session("ultravox", ultravox_env(fake)) as c:
        call = await fake.wait_for_calls(1)
        fake.queue_tool_call("mark_user_away", {})
        fake.queue_text("Take your time.")
        await call.user_says("brb")
        await until(lambda: heard(c) == ["Take your time."], what="the acknowledgement")
        await _turn(fake, c, call, "I'm back", "Welcome back!")
        second = await _hand_off(fake, c, call, "switch_persona", {"persona": "tutor"}, "can I talk to the tutor?")

    assert second.messages("client_tool_result") == [] and not fake.failures
    assert second.history_before_first_turn() == [("user", "brb"), ("user", "I'm back"), ("user", "can I talk to the tutor?")]


# ------------------------------------------------------------------------------------------
# a hand-off livekit does not apply changes nothing (as tests/wire/google/test_hand_offs.py on Gemini)
# ------------------------------------------------------------------------------------------


async def test_a_barge_in_during_the_switch_changes_nothing(fake_ultravox: FakeUltravox) -> None:
    fake = fake_ultravox
    async with controlled_session("ultravox", ultravox_env(fake)) as c:
        call = await _two_turns(fake, c)
        first_agent, instructions = c.agent, c.agent.instructions
        made_before = list(c.ctl.provider.made)
        outputs: list[Any] = []
        c.session.on("function_tools_executed", lambda ev: outputs.extend(ev.function_call_outputs))
        barge_in_once(c, "switch_persona")
        fake.queue_tool_call("switch_persona", {"persona": "pirate"})
        fake.queue_text("Still Alex here.")
        await call.user_says("can I talk to the pirate?")
        await until(lambda: _tool_results(call), what="the tool result")
        await until(lambda: c.ctl.provider.made == made_before, what="the unused fresh model released")

    (output,) = outputs
    assert output.is_error and output.output == "the agent handoff was interrupted and did not happen"
    (result,) = _tool_results(call)
    assert result.get("errorType") == "implementation-error"  # the model hears the tool failed
    assert c.agent is first_agent and c.agent.instructions == instructions
    assert c.ctl.persona_id == "assistant" and not [e for e in c.events if e[0] == "persona_changed"]
    assert len(fake.calls) == 1  # the fresh call was never created
