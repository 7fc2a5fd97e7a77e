"""The README's example (examples/concierge.py): a developer's own agent, with its own
instructions and tool, given honest away and forget by ControlledAgent; on the offline
model here (tests/wire/openai/test_example_openai.py runs it against the OpenAI fake)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from livekit.agents import llm

from agent import Provider
from tests.compat import timeout

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "concierge.py"
TEXT_ONLY = {"vad": None, "user_away_timeout": None, "turn_handling": {"turn_detection": "manual"}}


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("concierge_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


concierge = load_example()


def _tool_names(agent: Any) -> list[str]:
    return sorted(t.info.name for t in agent.tools if isinstance(t, (llm.FunctionTool, llm.RawFunctionTool)))


def _history(session: Any) -> list[str]:
    return [m.text_content for m in session.history.messages() if m.role in ("user", "assistant")]


async def test_the_concierge_keeps_its_own_instructions_and_tool_and_gains_away_and_forget() -> None:
    live = concierge.concierge_session(provider=Provider("offline", {}), env={}, **TEXT_ONLY)
    async with timeout(10):
        try:
            agent = await live.start()
            await live.session.wait_for_idle()
            instructions, tools, history = agent.instructions, _tool_names(agent), _history(live.session)
        finally:
            await live.aclose()

    assert isinstance(agent, concierge.Concierge)
    assert tools == ["breakfast_hours", "forget_conversation", "mark_user_away"]  # nobody to switch to
    assert instructions.startswith(concierge.INSTRUCTIONS)
    assert "forget_conversation:" in instructions and "mark_user_away:" in instructions
    assert "switch_persona" not in instructions and "Captain Reed" not in instructions
    assert history == [concierge.GREETING]


async def test_away_and_forget_really_happen_for_the_concierge() -> None:
    live = concierge.concierge_session(provider=Provider("offline", {}), env={}, **TEXT_ONLY)
    states: list[str] = []
    live.session.on("user_state_changed", lambda ev: states.append(ev.new_state))
    async with timeout(10):
        try:
            await live.start(greet=False)
            run = live.session.run
            await run(user_input="my room number is 412")
            forget = await run(user_input="forget what I just said")
            await live.controller.settle()
            after_forget = _history(live.session)
            away = await run(user_input="hold on, brb")
            away_state = live.session.user_state
            await run(user_input="ok I'm back")
            pirate = await run(user_input="can I talk to the pirate?")
        finally:
            await live.aclose()

    forget.expect.contains_function_call(name="forget_conversation")
    assert not any("412" in text for text in after_forget)
    away.expect.contains_function_call(name="mark_user_away")
    assert away_state == "away" and states[-1] == "listening"
    # no personas: the offline model has no switch to call, and its reply offers none
    assert not [e for e in pirate.events if e.type == "function_call"]
    (reply,) = [e.item.text_content for e in pirate.events if e.type == "message"]
    assert "pirate" not in reply and "switch" not in reply
