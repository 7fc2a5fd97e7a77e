"""switch_persona through a real AgentSession: the instructions change, the
conversation stays, and the new persona speaks next."""

from __future__ import annotations

import json

from tests.scripted import ScriptedLLM, call


async def test_natural_request_switches_and_keeps_the_conversation(chat) -> None:
    async with chat() as c:
        await c.say("My name is Sam and I like knots.")
        result = await c.say("Can I talk to the pirate?")
        result.expect.next_event().is_function_call(name="switch_persona", arguments={"persona": "pirate"})
        output = result.expect.next_event().is_function_call_output().event().item
        line = result.expect.next_event().is_message(role="assistant").event().item.text_content
        result.expect.no_more_events()

        assert not output.is_error
        assert c.ctl.persona_id == "pirate"
        assert line == c.ctl.render("lines/switch", "pirate", previous={"id": "assistant", "name": c.ctl.library.persona("assistant").name})
        assert c.session.current_agent.instructions == c.ctl.instructions("pirate")
        assert "My name is Sam and I like knots." in c.context_texts()
        assert "My name is Sam and I like knots." in c.history_texts()
        assert ("persona_changed", "pirate") in c.events


async def test_the_reply_after_the_switch_is_generated_from_the_new_instructions() -> None:
    from tests.harness import start_chat

    model = ScriptedLLM("Hello.", call("switch_persona", persona="tutor"), "Let's learn.")
    async with start_chat(model) as c:
        await c.say("hi")
        await c.say("let me talk to the tutor")
        tool_reply_ctx = model.seen[-1]
        system = [m for m in tool_reply_ctx.messages() if m.role in ("system", "developer")]
        assert system and system[0].text_content == c.ctl.instructions("tutor")
        assert any(m.text_content == "hi" for m in tool_reply_ctx.messages())


async def test_switching_to_the_current_persona_changes_nothing(chat) -> None:
    async with chat(persona="pirate") as c:
        before = c.session.current_agent.instructions
        result = await c.say("switch to the captain")
        output = result.expect.contains_function_call_output().event().item.output
        assert "nothing changed" in output
        assert c.session.current_agent.instructions == before
        assert not [e for e in c.events if e[0] == "persona_changed"]


async def test_unknown_persona_is_a_clear_error_and_nothing_changes() -> None:
    from tests.harness import start_chat

    model = ScriptedLLM(call("switch_persona", persona="wizard"), "Sorry, no wizard.")
    async with start_chat(model) as c:
        before = c.session.current_agent.instructions
        result = await c.say("let me talk to the wizard")
        output = result.expect.contains_function_call_output().event().item
        assert output.is_error
        assert "wizard" in output.output and "assistant, pirate, tutor" in output.output
        assert c.ctl.persona_id == "assistant"
        assert c.session.current_agent.instructions == before


async def test_persona_arguments_that_are_not_an_object_fail_cleanly() -> None:
    from livekit.agents import llm

    from tests.harness import start_chat

    bad = llm.FunctionToolCall(name="switch_persona", arguments=json.dumps(["pirate"]), call_id="c1")
    async with start_chat(ScriptedLLM(bad, "oops")) as c:
        result = await c.say("pirate please")
        assert result.expect.contains_function_call_output().event().item.is_error
        assert c.ctl.persona_id == "assistant"
