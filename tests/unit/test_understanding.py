"""The offline understanding: natural requests call the right tool; near misses call none.

The precise phrasings the old phrase router handled (it is gone) are kept, asserted on
the understanding alone; so are returns and the lead-ins it strips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.offline.words import Intent
from agent.offline.understanding import Understanding

TRIGGERS = yaml.safe_load((Path(__file__).parents[2] / "prompts" / "triggers.yaml").read_text())
ALIASES = {"assistant": "assistant", "pirate": "pirate", "captain": "pirate", "tutor": "tutor", "teacher": "tutor"}


@pytest.fixture(scope="module")
def understanding() -> Understanding:
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
def test_requests_call_the_right_tool(understanding: Understanding, text: str, intent: Intent) -> None:
    assert understanding.route(text) == intent


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
def test_near_misses_call_no_tool(understanding: Understanding, text: str) -> None:
    assert understanding.route(text) is None


@pytest.mark.parametrize("text", ["I'm back", "ok I'm back, sorry", "Sorry about that!", "hey captain, where were we", "back"])
def test_return_is_recognised(understanding: Understanding, text: str) -> None:
    assert understanding.is_return(text, addressed_as=("Captain Redbeard", "captain", "pirate"))


@pytest.mark.parametrize("text", ["did you see the game last night?", "yeah put it on the table", "no, the blue one"])
def test_side_talk_is_not_a_return(understanding: Understanding, text: str) -> None:
    assert not understanding.is_return(text, addressed_as=("Captain Redbeard", "captain", "pirate"))


def test_lead_ins_are_passed_over_but_never_all_the_words(understanding: Understanding) -> None:
    assert understanding.route("okay so could you forget what I just said") == Intent("forget_conversation", {"scope": "last_turn"})
    assert understanding.is_return("well okay continue")
    # a lead-in said alone is still what was said
    assert Understanding({"lead_ins": ["ok"], "returned": {"alone": ["ok"]}}, {}).is_return("ok")


def test_authors_extend_the_phrases() -> None:
    triggers = {**TRIGGERS, "mark_user_away": {**TRIGGERS["mark_user_away"], "start": ["gotta feed the cat"]}}
    assert Understanding(triggers, ALIASES).route("gotta feed the cat") == Intent("mark_user_away", {})
    assert Understanding(TRIGGERS, ALIASES).route("gotta feed the cat") is None


def test_empty_triggers_route_nothing() -> None:
    assert Understanding({}, {}).route("forget what I just said") is None


@pytest.fixture(scope="module")
def shipped() -> Understanding:
    """The understanding as the agent builds it: the shipped phrases, personas and examples."""
    import prompts
    from agent.providers import Provider

    return Provider("offline", {}).understanding(prompts.PromptLibrary())


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # issue 9's requests that did nothing
        ("hang on, let me grab a coffee", Intent("mark_user_away", {})),
        ("I want Captain Reed", Intent("switch_persona", {"persona": "pirate"})),
        ("wipe everything we said", Intent("forget_conversation", {"scope": "everything"})),
        ("please don't remember my address", Intent("forget_conversation", {"about": "my address"})),
        ("afk for a bit", Intent("mark_user_away", {})),
        ("back in five", Intent("mark_user_away", {"minutes": 5.0})),
        ("hold that thought, my phone is ringing", Intent("mark_user_away", {})),
        # personas by name, id, alias and description; "stop being" is the default persona
        ("can I talk to Ada", Intent("switch_persona", {"persona": "tutor"})),
        ("get me the pirate guy", Intent("switch_persona", {"persona": "pirate"})),
        ("the teacher please", Intent("switch_persona", {"persona": "tutor"})),
        ("stop being the pirate", Intent("switch_persona", {"persona": "assistant"})),
        ("enough pirate talk", Intent("switch_persona", {"persona": "assistant"})),
        # minutes in words or digits, never over the tool's limit
        ("give me half an hour", Intent("mark_user_away", {"minutes": 30.0})),
        ("I'll be back in an hour and a half", Intent("mark_user_away", {"minutes": 90.0})),
        ("brb 15 mins", Intent("mark_user_away", {"minutes": 15.0})),
        ("give me twenty five minutes", Intent("mark_user_away", {"minutes": 25.0})),
        ("back in 3 hours", Intent("mark_user_away", {"minutes": 120.0})),
        ("give me 500 minutes", Intent("mark_user_away", {"minutes": 120.0})),
        # what to forget
        ("forget what I said about my sister", Intent("forget_conversation", {"about": "my sister"})),
        ("forget everything I said about my ex", Intent("forget_conversation", {"about": "my ex"})),
        ("delete the password I gave you", Intent("forget_conversation", {"about": "the password"})),
        ("forget about that", Intent("forget_conversation", {"scope": "last_turn"})),
        # as speech-to-text writes it
        ("um for get what i said", Intent("forget_conversation", {"scope": "last_turn"})),
        ("switch to the tutter", Intent("switch_persona", {"persona": "tutor"})),
        ("uh hang on hang on my kid needs me", Intent("mark_user_away", {})),
        ("i wanna talk to the pie rat", Intent("switch_persona", {"persona": "pirate"})),
        ("connect me with captain reid", Intent("switch_persona", {"persona": "pirate"})),
    ],
)
def test_natural_requests_with_their_arguments(shipped: Understanding, text: str, intent: Intent) -> None:
    assert shipped.route(text) == intent


@pytest.mark.parametrize(
    "text",
    [
        "brb is a funny acronym",
        "give me a minute to explain",
        "hold on what did you mean by that",
        "give me five ideas for dinner",
        "i want to become a tutor",
        "don't forget to call mom",
        "scratch my back",
        "start over is a good song",
        "can pirates swim",
        "how do i delete my facebook account",
        "i need a minute to think about that",
    ],
)
def test_talk_about_requests_calls_nothing(shipped: Understanding, text: str) -> None:
    assert shipped.route(text) is None


def test_forgetting_everything_needs_an_explicit_word_for_it(shipped: Understanding) -> None:
    # close to "forget everything" examples, but never everything on a guess
    for text in ("forget every single thing about the trip", "forget most of what we said", "clear it"):
        assert shipped.route(text) != Intent("forget_conversation", {"scope": "everything"})


def test_an_example_an_author_adds_is_understood_at_once() -> None:
    from prompts import Example

    line = "splice the mainbrace"
    assert Understanding(TRIGGERS, ALIASES).route(line) is None
    taught = Understanding(TRIGGERS, ALIASES, [Example(line, "mark_user_away", {})])
    assert taught.route(line) == Intent("mark_user_away", {}) and taught.route("splice the mainbrace please") == Intent("mark_user_away", {})


def test_an_example_must_be_closer_to_forget_everything_than_to_forget_a_turn() -> None:
    from prompts import Example

    taught = Understanding({}, {}, [Example("wipe the slate clean", "forget_conversation", {"scope": "everything"}),
                                    Example("wipe the last line", "forget_conversation", {"scope": "last_turn"})])  # fmt: skip
    # four of five words alike: close enough for a turn, not for everything
    assert taught.route("wipe the last line tomorrow") == Intent("forget_conversation", {"scope": "last_turn"})
    assert taught.route("wipe the slate clean tomorrow") is None
    assert taught.route("wipe the slate clean") == Intent("forget_conversation", {"scope": "everything"})
