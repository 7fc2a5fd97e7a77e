"""forget_conversation really forgets: the agent's context, the session history
and the recorded events the end-of-session report is built from."""

from __future__ import annotations

import logging

import pytest

from tests.helpers import recorded_events
from tests.scripted import ScriptedLLM, call

SECRET = "my bank pin is 4321"


async def test_last_turn_forgets_the_previous_turn_and_keeps_earlier_ones(chat) -> None:
    async with chat() as c:
        await c.say("I like sailing.")
        await c.say(SECRET)
        result = await c.say("Forget what I just said.")
        result.expect.next_event().is_function_call(name="forget_conversation", arguments={"scope": "last_turn"})
        result.expect.next_event().is_function_call_output()
        ack = result.expect.next_event().is_message(role="assistant").event().item.text_content
        assert ack == c.ctl.render("lines/forget", scope="last_turn")

        for texts in (c.context_texts(), c.history_texts()):
            assert "I like sailing." in texts
            assert SECRET not in texts
            assert "Forget what I just said." not in texts
        assert SECRET not in recorded_events(c.session)
        assert "I like sailing." in recorded_events(c.session)
        # no dangling tool call: the forget call and its output are gone too
        kinds = [i.type for i in c.session.current_agent.chat_ctx.items]
        assert "function_call" not in kinds and "function_call_output" not in kinds


async def test_everything_keeps_only_the_instructions(chat) -> None:
    async with chat(persona="tutor") as c:
        await c.say("I like sailing.")
        await c.say(SECRET)
        await c.say("Forget everything we talked about.")
        agent = c.session.current_agent
        assert c.context_texts() == [] and c.history_texts() == []
        system = [m for m in agent.chat_ctx.messages() if m.role in ("system", "developer")]
        assert system and system[0].text_content == c.ctl.instructions("tutor")
        assert SECRET not in recorded_events(c.session)


async def test_the_conversation_goes_on_after_forgetting() -> None:
    from tests.harness import start_chat

    model = ScriptedLLM("Nice.", "Noted.", call("forget_conversation", scope="last_turn"), "Forgotten.", "Hi again.")
    async with start_chat(model) as c:
        await c.say("I like sailing.")
        await c.say(SECRET)
        await c.say("forget that")
        await c.say("what do you know about me?")
        last_request = [m.text_content for m in model.seen[-1].messages()]
        assert "I like sailing." in last_request
        assert SECRET not in last_request and "Forgotten." not in last_request


async def test_nothing_to_forget_changes_nothing(chat) -> None:
    async with chat() as c:
        result = await c.say("forget what I just said")
        assert "nothing changed" in result.expect.contains_function_call_output().event().item.output


async def test_bad_scope_is_a_clear_error() -> None:
    from tests.harness import start_chat

    async with start_chat(ScriptedLLM("ok", call("forget_conversation", scope="yesterday"), "sorry")) as c:
        await c.say(SECRET)
        result = await c.say("forget yesterday")
        output = result.expect.contains_function_call_output().event().item
        assert output.is_error and "last_turn, everything" in output.output
        assert SECRET in c.context_texts()


async def test_no_user_text_is_logged_at_info(chat, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with chat() as c:
        await c.say(SECRET)
        await c.say("forget that")
    leaked = [r for r in caplog.records if r.levelno >= logging.INFO and SECRET in r.getMessage()]
    assert leaked == []
