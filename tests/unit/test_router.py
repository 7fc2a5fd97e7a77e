"""The offline understanding: natural requests call the right tool; near misses call none.

The precise phrasings the phrase router (agent/offline/router.py) handled are kept,
asserted on the understanding that ships; the router itself still reads returns."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.offline.router import Intent
from agent.offline.understanding import Understanding

TRIGGERS = yaml.safe_load((Path(__file__).parents[2] / "prompts" / "triggers.yaml").read_text())
ALIASES = {"assistant": "assistant", "pirate": "pirate", "captain": "pirate", "tutor": "tutor", "teacher": "tutor"}


@pytest.fixture(scope="module")
def router() -> Understanding:
    return Understanding(TRIGGERS, ALIASES)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Can I talk to the pirate?", Intent("switch_persona", {"persona": "pirate"})),
        ("let me talk to the tutor", Intent("switch_persona", {"persona": "tutor"})),
        ("Could you put the captain on, please", Intent("switch_persona", {"persona": "pirate"})),
        ("switch back to the assistant", Intent("switch_persona", {"persona": "assistant"})),
        ("Forget what I just said.", Intent("forget_conversation", {"scope": "last_turn"})),
        ("Oh no. Please forget that!", Intent("forget_conversation", {"scope": "last_turn"})),
        ("scratch that", Intent("forget_conversation", {"scope": "last_turn"})),
        ("forget everything we talked about", Intent("forget_conversation", {"scope": "everything"})),
        ("Let's start over.", Intent("forget_conversation", {"scope": "everything"})),
        ("hold on", Intent("mark_user_away", {})),
        ("brb", Intent("mark_user_away", {})),
        ("Give me a sec", Intent("mark_user_away", {})),
        ("Give me five minutes, someone's at the door", Intent("mark_user_away", {"minutes": 5})),
        ("I'll be back in 10 minutes", Intent("mark_user_away", {"minutes": 10.0})),
        ("give me a couple of minutes", Intent("mark_user_away", {"minutes": 2})),
    ],
)
def test_requests_call_the_right_tool(router: Understanding, text: str, intent: Intent) -> None:
    assert router.route(text) == intent


@pytest.mark.parametrize(
    "text",
    [
        "I watched a great pirate movie yesterday",
        "put on a pirate movie",
        "my tutor says I should practise more",
        "I keep forgetting my keys",
        "don't forget that my birthday is Friday",
        "how do I clear my browser cache?",
        "wait till you hear this",
        "hold on, what did you mean by that?",
        "I need a minute to think about that answer, what do you reckon?",
        "tell me about forgetting curves",
        "talk to you later",
        "the captain of the team scored",
    ],
)
def test_near_misses_call_no_tool(router: Understanding, text: str) -> None:
    assert router.route(text) is None


@pytest.mark.parametrize("text", ["I'm back", "ok I'm back, sorry", "Sorry about that!", "hey captain, where were we", "back"])
def test_return_is_recognised(router: Understanding, text: str) -> None:
    assert router.is_return(text, addressed_as=("Captain Redbeard", "captain", "pirate"))


@pytest.mark.parametrize("text", ["did you see the game last night?", "yeah put it on the table", "no, the blue one"])
def test_side_talk_is_not_a_return(router: Understanding, text: str) -> None:
    assert not router.is_return(text, addressed_as=("Captain Redbeard", "captain", "pirate"))


def test_authors_extend_the_phrases() -> None:
    triggers = {**TRIGGERS, "mark_user_away": {**TRIGGERS["mark_user_away"], "start": ["gotta feed the cat"]}}
    assert Understanding(triggers, ALIASES).route("gotta feed the cat") == Intent("mark_user_away", {})
    assert Understanding(TRIGGERS, ALIASES).route("gotta feed the cat") is None


def test_empty_triggers_route_nothing() -> None:
    assert Understanding({}, {}).route("forget what I just said") is None
