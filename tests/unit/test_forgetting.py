"""Which items a forget request removes."""

from __future__ import annotations

from livekit.agents import llm

from agent.forgetting import has_previous_turn, items_to_forget, spoken_texts, without


def _conversation() -> tuple[llm.ChatContext, str]:
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="system", content="You are Alex.")
    ctx.add_message(role="user", content="I like sailing.")
    ctx.add_message(role="assistant", content="Nice.")
    ctx.add_message(role="user", content="my pin is 1234")
    ctx.add_message(role="assistant", content="Noted.")
    ctx.add_message(role="user", content="forget that")
    call = llm.FunctionCall(call_id="c1", name="forget_conversation", arguments='{"scope": "last_turn"}')
    ctx.insert(call)
    ctx.insert(llm.FunctionCallOutput(call_id="c1", name="forget_conversation", output="ok", is_error=False))
    ctx.add_message(role="assistant", content="Forgotten.")
    return ctx, "c1"


def test_last_turn_removes_the_previous_turn_the_request_and_the_call() -> None:
    ctx, call_id = _conversation()
    kept = without(ctx, items_to_forget(ctx.items, "last_turn", call_id))
    assert [(m.role, m.text_content) for m in kept.messages()] == [
        ("system", "You are Alex."), ("user", "I like sailing."), ("assistant", "Nice."),
    ]  # fmt: skip
    assert not [i for i in kept.items if i.type in ("function_call", "function_call_output")]


def test_everything_keeps_only_the_instructions() -> None:
    ctx, call_id = _conversation()
    forgotten = items_to_forget(ctx.items, "everything", call_id)
    assert [m.role for m in without(ctx, forgotten).messages()] == ["system"]
    assert "my pin is 1234" in spoken_texts(forgotten)


def test_no_previous_turn_means_nothing_to_forget() -> None:
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="user", content="forget what I said")
    assert not has_previous_turn(ctx.items)
    assert items_to_forget(ctx.items, "last_turn", None) == []
    full, call_id = _conversation()
    assert has_previous_turn(full.items, call_id)


def test_the_original_context_is_untouched() -> None:
    ctx, call_id = _conversation()
    before = len(ctx.items)
    without(ctx, items_to_forget(ctx.items, "everything", call_id))
    assert len(ctx.items) == before
