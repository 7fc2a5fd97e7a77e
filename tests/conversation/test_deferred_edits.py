"""A forget is applied after its acknowledgement: what waits for it, and what closes.

The edit is slowed down here (the strategy's apply step sleeps first), so a turn or a
run that does not wait for it would see the forgotten words.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from livekit.agents import llm

from agent.providers import Provider
from tests.harness import start_chat
from tests.scripted import ScriptedLLM, call

SECRET = "my bank pin is 4321"


def _slow_down_forgetting(c: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    apply = c.ctl.strategy.apply_forget

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.2)
        return await apply(*args, **kwargs)

    monkeypatch.setattr(c.ctl.strategy, "apply_forget", slow)


async def test_session_run_returns_only_once_the_forget_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ScriptedLLM("Nice.", "Noted.", call("forget_conversation", scope="last_turn"), "Forgotten.")
    async with start_chat(model) as c:
        await c.say("I like sailing.")
        await c.say(SECRET)
        _slow_down_forgetting(c, monkeypatch)
        await c.session.run(user_input="forget that")  # no settle(): the run itself waits
        assert SECRET not in c.context_texts() and SECRET not in c.history_texts()
        assert "I like sailing." in c.context_texts()


async def test_a_new_user_turn_waits_for_a_forget_still_being_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ScriptedLLM("Nice.", "Noted.", call("forget_conversation", scope="last_turn"), "Forgotten.", "You like sailing.")
    async with start_chat(model) as c:
        await c.say("I like sailing.")
        await c.say(SECRET)
        _slow_down_forgetting(c, monkeypatch)
        next_turn: list[Any] = []

        def on_item(ev: Any) -> None:
            # the user speaks again the moment the acknowledgement is out
            if ev.item.type == "message" and ev.item.text_content == "Forgotten." and not next_turn:
                next_turn.append(c.session.generate_reply(user_input="what do you know about me?"))

        c.session.on("conversation_item_added", on_item)
        run = asyncio.ensure_future(c.session.run(user_input="forget that"))
        while not next_turn:
            await asyncio.sleep(0.01)
        await next_turn[0]
        await run
        request = [m.text_content for m in model.seen[-1].messages()]
        assert request[-1] == "what do you know about me?"
        assert SECRET not in request and "I like sailing." in request


class _Closable(llm.LLM):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    def chat(self, **_: Any) -> Any:
        raise NotImplementedError

    async def aclose(self) -> None:
        self.closed = True


class _Recording(Provider):
    def _build_model(self, voices: Any, hooks: Any = None) -> Any:
        return _Closable()


async def test_the_provider_closes_what_it_made() -> None:
    provider = _Recording("pipeline", {})
    a, b = provider.model_for({}), provider.model_for({})
    await provider.release(a, None, _Closable())  # only its own, once
    assert a.closed and not b.closed and provider.made == [b]
    await provider.aclose()
    assert b.closed and provider.made == []


async def test_closing_waits_for_a_deferred_forget_then_closes_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """The composition root's order: a forget still being applied when the session is
    closed is finished first, and the model it edits is closed only after it."""
    from agent.compose import build_session
    from tests.harness import ScriptedProvider

    model = ScriptedLLM("Noted.", call("forget_conversation", scope="last_turn"), "Forgotten.")
    live = build_session(
        ScriptedProvider("pipeline", {}, model=model), env={},
        vad=None, user_away_timeout=None, turn_handling={"turn_detection": "manual"},
    )  # fmt: skip
    order: list[str] = []
    close = model.aclose

    async def closing() -> None:
        order.append("model closed")
        await close()

    monkeypatch.setattr(model, "aclose", closing)
    await live.start(greet=False)
    await live.session.run(user_input=SECRET)
    apply = live.controller.strategy.apply_forget

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.2)
        done = await apply(*args, **kwargs)
        order.append("forgotten")
        return done

    monkeypatch.setattr(live.controller.strategy, "apply_forget", slow)
    tools_ran = asyncio.Event()
    live.session.on("function_tools_executed", lambda _: tools_ran.set())
    run = asyncio.ensure_future(live.session.run(user_input="forget that"))
    await asyncio.wait_for(tools_ran.wait(), 5)
    await live.aclose()  # the forget is still being applied
    await asyncio.gather(run, return_exceptions=True)

    assert order == ["forgotten", "model closed"]
    assert SECRET not in [m.text_content for m in live.session.history.messages()]
