"""Two changes asked for in one reply, or a user turn landing while a change is made.

Each case is run several times with small random delays: the faults they guard against
were races that showed in some runs only.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
import livekit.plugins.openai  # noqa: F401  (imported at collection, not inside a test)

from tests.helpers import function_outputs, until

from .support import controlled_session
from .google.fake_gemini import FakeGeminiLive
from .google.fixtures import gemini_env
from .openai.fake_openai import AssistantText, FakeOpenAIRealtime, FunctionCall
from .openai.fixtures import openai_env

RUNS = 10


def _texts(items: list[dict]) -> list[str]:
    out = []
    for it in items:
        for part in it.get("content") or ():
            out.append(part.get("text") or part.get("transcript") or "")
    return out


def _slow_first_update(agent: Any, monkeypatch: pytest.MonkeyPatch, delay: float) -> asyncio.Future[None]:
    """The first context update the agent makes takes ``delay`` longer to start, as an
    update waiting on the provider would: the second edit must not overtake it. The
    future resolves once that update is over."""
    update, calls = agent.update_chat_ctx, []
    over: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def slow(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            return await update(*args, **kwargs)
        await asyncio.sleep(delay)
        try:
            return await update(*args, **kwargs)
        finally:
            over.set_result(None)

    monkeypatch.setattr(agent, "update_chat_ctx", slow)
    return over


@pytest.mark.parametrize("run", range(RUNS))
async def test_openai_two_forgets_in_one_reply_both_apply(
    fake_openai: FakeOpenAIRealtime, monkeypatch: pytest.MonkeyPatch, run: int
) -> None:
    """A reply calling forget(last_turn) and forget(everything): the deferred edits run one
    after the other, each on the context as it is then, so nothing said survives anywhere
    (an edit planned first but applied last used to write back what the other removed)."""
    fake_openai.pace = random.uniform(0, 0.004)
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        fake_openai.queue_text("Nice.")
        await c.say("I like tea")
        fake_openai.queue_text("Noted.")
        await c.say("my code is 42")
        first_update = _slow_first_update(c.agent, monkeypatch, random.uniform(0.01, 0.1))
        fake_openai.queue_reply(
            FunctionCall("forget_conversation", {"scope": "last_turn"}),
            FunctionCall("forget_conversation", {"scope": "everything"}),
        )
        fake_openai.queue_reply(AssistantText("Done."))
        result = await c.say("forget that, actually forget everything")
        conn = fake_openai.last
        await asyncio.wait_for(first_update, 5)
        await until(lambda: not conn.items, what="every server item deleted")
        context, history, outputs = c.context_texts(), c.history_texts(), function_outputs(result)

    assert [o.is_error for o in outputs] == [False, False]
    assert not any(w in " ".join(context) for w in ("tea", "Nice", "42", "Noted"))
    assert not any(w in " ".join(history) for w in ("tea", "Nice", "42", "Noted"))
    assert conn.items == []


@pytest.mark.parametrize("run", range(RUNS))
async def test_gemini_a_turn_right_after_a_forget_reaches_the_fresh_session(trust_fake_gemini: FakeGeminiLive, run: int) -> None:
    """The next user turn, sent while the forget is being made, is in the history, in the
    fresh agent's context and on the fresh session: never only in the transcript."""
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        fake.queue_text("Nice.")
        await c.say("I like tea")
        first_agent = c.agent
        fake.queue_function_call("forget_conversation", {"scope": "last_turn"})
        fake.queue_text("Done, forgotten.")
        fake.queue_text("Tell me more.")
        forget = asyncio.ensure_future(c.session.run(user_input="forget what I just said"))
        await asyncio.sleep(random.choice([0, 0, random.uniform(0, 0.05)]))
        try:
            c.session.generate_reply(user_input="next thought")
        except RuntimeError as e:  # livekit refuses a typed turn while it switches agents
            refused = str(e)
        else:
            refused = ""
        await asyncio.wait_for(forget, 5)
        await fake.wait_for_connections(2)
        await until(lambda: c.agent is not first_agent and c.agent.entered.is_set(), what="hand-off")
        if not refused:
            await until(lambda: "next thought" in json.dumps(fake.connections[-1].client_contents), timeout=3, what="next turn sent")
        context, history = c.context_texts(), c.history_texts()

    assert "I like tea" not in history and "I like tea" not in context
    if refused:  # refused loudly, and then nowhere: never only in the transcript
        assert "speech scheduling is draining" in refused
        assert "next thought" not in history and "next thought" not in context
    else:
        assert "next thought" in history and "next thought" in context
