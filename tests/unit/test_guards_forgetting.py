"""Forgetting's rules at the level of the functions that hold them.

- ``forget my card number``: the request itself names the topic, but it is not a turn
  *about* it; only earlier turns count, so a topic nothing else mentions forgets nothing
  (and the outcome says so) rather than forgetting the request alone.
- A request that names both scopes ("scratch that, let's start over") forgets
  everything: the offline understanding tries ``everything`` before ``last_turn``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from livekit.agents import llm

from agent.offline.model import OfflineLLM
from agent.offline.words import Intent
from agent.offline.understanding import Understanding
from agent.session.forgetting import earlier_turns, items_to_forget, spoken_texts

TRIGGERS = yaml.safe_load((Path(__file__).parents[2] / "prompts" / "triggers.yaml").read_text())
ALIASES = {"assistant": "assistant", "alex": "assistant", "pirate": "pirate", "tutor": "tutor"}


def _conversation(*turns: tuple[str, str], request: str | None, about: str) -> llm.ChatContext:
    """User turns with their replies, then the forget request (None: its transcript has not
    arrived yet), the tool call, its output and the acknowledgement (id "ack")."""
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="system", content="You are Alex.")
    for user, reply in turns:
        ctx.add_message(role="user", content=user)
        ctx.add_message(role="assistant", content=reply)
    if request is not None:
        ctx.add_message(role="user", content=request)
    ctx.insert(llm.FunctionCall(call_id="c1", name="forget_conversation", arguments=json.dumps({"about": about})))
    ctx.insert(llm.FunctionCallOutput(call_id="c1", name="forget_conversation", output="ok", is_error=False))
    ctx.add_message(role="assistant", content="Forgotten.", id="ack")
    return ctx


def _forgotten(ctx: llm.ChatContext, about: str) -> list[str]:
    return spoken_texts(items_to_forget(ctx.items, "last_turn", "c1", reply_ids={"ack"}, about=about))


@pytest.mark.parametrize(
    ("request_words", "about"),
    [
        ("forget my card number", "my card number"),
        ("please forget what I said about my sister", "my sister"),
        ("forget my address, my address is private", "my address"),  # the request may say it twice
    ],
)
def test_the_request_itself_is_no_turn_about_the_topic(request_words: str, about: str) -> None:
    ctx = _conversation(("I like tea", "Nice."), ("what's the weather?", "Sunny."), request=request_words, about=about)
    assert _forgotten(ctx, about) == []  # nothing mentions it: nothing goes, and the outcome says so
    assert request_words not in [m.text_content for m in earlier_turns(ctx.items, "c1", {"ack"})]


def test_an_earlier_turn_about_the_topic_goes_with_the_request_and_nothing_else() -> None:
    ctx = _conversation(
        ("my card number is 4111", "Noted."), ("I like tea", "Nice."), request="forget my card number", about="my card number"
    )
    assert _forgotten(ctx, "my card number") == ["my card number is 4111", "Noted.", "forget my card number", "Forgotten."]
    assert [m.text_content for m in earlier_turns(ctx.items, "c1", {"ack"})] == ["my card number is 4111", "I like tea"]


def test_with_the_request_not_transcribed_yet_the_last_turn_still_counts() -> None:
    """A realtime model may add the request's transcript after its reply: then the last user
    message is an earlier turn, and it counts."""
    ctx = _conversation(("I like tea", "Nice."), ("my card number is 4111", "Noted."), request=None, about="my card number")
    assert _forgotten(ctx, "my card number") == ["my card number is 4111", "Noted.", "Forgotten."]


BOTH_SCOPES = [
    "scratch that, let's start over",
    "forget that, start over",
    "forget what I said, forget everything",
    "forget everything, forget what I just said",
]


@pytest.mark.parametrize("text", BOTH_SCOPES)
def test_a_request_that_names_everything_forgets_everything_whatever_else_it_says(text: str) -> None:
    understanding = Understanding(TRIGGERS, ALIASES)
    assert understanding.route(text) == Intent("forget_conversation", {"scope": "everything"})
    # each part alone is understood as its own scope: the order decides, not a missed phrase
    first, second = (part.strip() for part in text.split(",", 1))
    scopes = {understanding.route(first).arguments["scope"], understanding.route(second).arguments["scope"]}
    assert scopes == {"everything", "last_turn"}


@pytest.mark.parametrize("text", BOTH_SCOPES)
def test_the_offline_model_calls_forget_everything_for_it(text: str) -> None:
    understanding = Understanding(TRIGGERS, ALIASES)
    model = OfflineLLM(router=lambda: understanding, offline_line=lambda: "I'm offline.")
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="user", content=text)
    call = model.respond_text(ctx, {"forget_conversation", "switch_persona", "mark_user_away"})
    assert isinstance(call, llm.FunctionToolCall) and call.name == "forget_conversation"
    assert json.loads(call.arguments) == {"scope": "everything"}
