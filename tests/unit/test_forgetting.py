"""Which items a forget request removes."""

from __future__ import annotations

import time

import pytest
from livekit.agents import llm

from agent.session.forgetting import has_previous_turn, items_to_forget, mentions, spoken_texts, topic_words, without


def _texts(ctx: llm.ChatContext) -> list[tuple[str, str | None]]:
    return [(m.role, m.text_content) for m in ctx.messages()]


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
    ctx.add_message(role="assistant", content="Forgotten.", id="ack")
    return ctx, "c1"


def test_last_turn_removes_the_previous_turn_the_request_and_the_call() -> None:
    ctx, call_id = _conversation()
    kept = without(ctx, items_to_forget(ctx.items, "last_turn", call_id, reply_ids={"ack"}))
    assert [(m.role, m.text_content) for m in kept.messages()] == [
        ("system", "You are Alex."), ("user", "I like sailing."), ("assistant", "Nice."),
    ]  # fmt: skip
    assert not [i for i in kept.items if i.type in ("function_call", "function_call_output")]


def test_everything_keeps_only_the_instructions() -> None:
    ctx, call_id = _conversation()
    forgotten = items_to_forget(ctx.items, "everything", call_id, reply_ids={"ack"})
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


def test_a_turn_after_the_request_is_kept() -> None:
    # the next user turn landed before the edit was applied: it is not part of the forget
    ctx, call_id = _conversation()
    ctx.add_message(role="user", content="what's the weather?")
    for scope in ("last_turn", "everything"):
        kept = without(ctx, items_to_forget(ctx.items, scope, call_id, reply_ids={"ack"}))
        assert _texts(kept)[-1] == ("user", "what's the weather?")
        assert ("assistant", "Forgotten.") not in _texts(kept)


def test_a_request_whose_transcript_comes_late_forgets_the_turn_before_it() -> None:
    # realtime audio: the request's transcript is added after the reply (by when the user
    # started speaking), so when the tool runs the last user message is the previous turn
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="user", content="I like sailing.")
    ctx.add_message(role="assistant", content="Nice.")
    ctx.add_message(role="user", content="my pin is 1234")
    ctx.add_message(role="assistant", content="Noted.")
    request_started = time.time()
    ctx.insert(llm.FunctionCall(call_id="c1", name="forget_conversation", arguments="{}"))
    assert has_previous_turn(ctx.items, "c1")
    kept = without(ctx, items_to_forget(ctx.items, "last_turn", "c1"))
    assert _texts(kept) == [("user", "I like sailing."), ("assistant", "Nice.")]
    # once the transcript has arrived, in its place before the call, the rule agrees
    ctx.insert(llm.ChatMessage(role="user", content=["forget that"], created_at=request_started))
    kept = without(ctx, items_to_forget(ctx.items, "last_turn", "c1"))
    assert _texts(kept) == [("user", "I like sailing."), ("assistant", "Nice.")]


def test_words_said_before_the_call_in_the_same_reply_do_not_hide_the_request() -> None:
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="user", content="my pin is 1234")
    ctx.add_message(role="assistant", content="Noted.")
    ctx.add_message(role="user", content="forget that")
    ctx.add_message(role="assistant", content="Sure,", id="preamble")
    ctx.insert(llm.FunctionCall(call_id="c1", name="forget_conversation", arguments="{}"))
    kept = without(ctx, items_to_forget(ctx.items, "last_turn", "c1", reply_ids={"preamble"}))
    assert _texts(kept) == []


def _about_conversation() -> llm.ChatContext:
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="system", content="You are Alex.")
    for user, reply in [
        ("My address is 12 Oak Street.", "Got it."),
        ("I like sailing.", "Nice."),
        ("Send it to my address, please.", "Will do."),
        ("my card number is 4111", "Noted."),
    ]:
        ctx.add_message(role="user", content=user)
        ctx.add_message(role="assistant", content=reply)
    ctx.add_message(role="user", content="forget my address")
    ctx.insert(llm.FunctionCall(call_id="c1", name="forget_conversation", arguments='{"about": "my address"}'))
    ctx.insert(llm.FunctionCallOutput(call_id="c1", name="forget_conversation", output="ok", is_error=False))
    ctx.add_message(role="assistant", content="Forgotten.", id="ack")
    return ctx


def test_about_removes_the_turns_that_mention_it_their_replies_and_the_request() -> None:
    ctx = _about_conversation()
    kept = without(ctx, items_to_forget(ctx.items, "last_turn", "c1", reply_ids={"ack"}, about="my address"))
    assert [m.text_content for m in kept.messages()] == ["You are Alex.", "I like sailing.", "Nice.", "my card number is 4111", "Noted."]
    assert not [i for i in kept.items if i.type in ("function_call", "function_call_output")]


def test_about_that_nothing_mentions_removes_nothing() -> None:
    ctx = _about_conversation()
    assert items_to_forget(ctx.items, "last_turn", "c1", reply_ids={"ack"}, about="my sister") == []


@pytest.mark.parametrize(
    ("about", "text", "mentioned"),
    [
        ("my card number", "my card number is 4111", True),
        ("my card number", "My credit card numbers: 4111", True),  # case, plural, words between
        ("my card number", "my phone number is 555", False),  # every naming word must be there
        ("the user's address", "My address is 12 Oak Street.", True),
        ("what I said about my sister", "My sister Jo lives in Leeds", True),
        ("my address", "I like sailing.", False),
    ],
)
def test_a_turn_mentions_a_topic_when_it_has_every_word_that_names_it(about: str, text: str, mentioned: bool) -> None:
    assert mentions(llm.ChatMessage(role="user", content=[text]), about) is mentioned


def test_words_that_name_nothing_make_no_topic() -> None:
    assert topic_words("what I said about that") == set()
    assert topic_words("my card numbers") == {"card", "number"}
