"""Forgetting what the user said about something, and the card-number case from
issue 9, through the real AgentSession with the offline model (and a scripted LLM
for the argument as a real model would send it)."""

from __future__ import annotations

from tests.helpers import recorded_events
from tests.scripted import ScriptedLLM, call

CARD = "my card number is 4111 1111 1111 1111"
PARIS = "I live in Paris."


def _everywhere(c) -> list[str]:
    return [*c.context_texts(), *c.history_texts()]


async def test_forget_my_card_number_then_scratch_that_forgets_the_card_and_nothing_else(chat) -> None:
    async with chat() as c:
        await c.say(PARIS)
        await c.say(CARD)
        first = await c.say("please forget my card number")
        first.expect.next_event().is_function_call(name="forget_conversation", arguments={"about": "my card number"})
        output = first.expect.next_event().is_function_call_output().event().item
        assert not output.is_error and "turn 2 of 2" in output.output
        ack = first.expect.next_event().is_message(role="assistant").event().item.text_content
        assert ack == c.ctl.render("lines/forget", scope="last_turn", about="your card number")

        # "scratch that" now has nothing before it but the forget request, already gone
        second = await c.say("scratch that")
        assert "nothing changed" in second.expect.contains_function_call_output().event().item.output

        assert PARIS in c.context_texts() and PARIS in c.history_texts() and PARIS in recorded_events(c.session)
        assert not any("4111" in t or "card number" in t for t in _everywhere(c))
        assert "4111" not in recorded_events(c.session)


async def test_every_turn_that_mentions_it_goes_with_its_reply() -> None:
    from tests.harness import start_chat

    model = ScriptedLLM(
        "Nice.", "Noted, your sister.", "Good luck.", "Aha, your sister again.",
        call("forget_conversation", about="my sister"), "Forgotten.", "Sure.",
    )  # fmt: skip
    async with start_chat(model) as c:
        await c.say("I like sailing.")
        await c.say("My sister is called Jo.")
        await c.say("I have an exam tomorrow.")
        await c.say("Jo, my sister, lives in Leeds.")
        result = await c.say("forget what I said about my sister")
        output = result.expect.contains_function_call_output().event().item.output
        await c.say("what do you know?")
        last_request = [m.text_content for m in model.seen[-1].messages() if m.role in ("user", "assistant")]

    assert "turns 2 and 4 of 4" in output
    kept = ["I like sailing.", "Nice.", "I have an exam tomorrow.", "Good luck."]
    assert [t for t in last_request if t in kept] == kept
    assert not any("sister" in (t or "") or "Jo" in (t or "") for t in last_request)
    assert not any("sister" in t for t in c.history_texts())


async def test_a_topic_nothing_mentions_removes_nothing_and_says_so(chat) -> None:
    async with chat() as c:
        await c.say(PARIS)
        await c.say("I like sailing.")
        before = c.history_texts()
        result = await c.say("forget my address")
        result.expect.next_event().is_function_call(name="forget_conversation", arguments={"about": "my address"})
        output = result.expect.next_event().is_function_call_output().event().item.output
        said = result.expect.next_event().is_message(role="assistant").event().item.text_content
        assert 'Nothing the user said before mentions "my address"' in output
        assert said == c.ctl.render("lines/forget_no_match", about="your address")
        assert c.history_texts()[: len(before)] == before and PARIS in c.context_texts()


async def test_scratch_that_twice_never_reaches_an_unrelated_turn(chat) -> None:
    async with chat() as c:
        await c.say(PARIS)
        await c.say(CARD)
        await c.say("scratch that")
        result = await c.say("scratch that")
        assert "nothing changed" in result.expect.contains_function_call_output().event().item.output
        assert PARIS in c.context_texts() and PARIS in c.history_texts()
        assert not any("4111" in t for t in _everywhere(c))


async def test_a_request_not_understood_gets_the_persona_line_and_changes_nothing(chat) -> None:
    async with chat(persona="pirate") as c:
        await c.say(CARD)
        result = await c.say("hmm maybe you could sort of lose some of the stuff from before")
        assert not [e for e in result.events if e.type == "function_call"]
        line = result.expect.next_event().is_message(role="assistant").event().item.text_content
        assert line == c.ctl.library.render_block("pirate", "offline_reply", **c.ctl.variables())
        assert CARD in c.context_texts() and c.ctl.away.active is False


async def test_speech_to_text_words_are_understood(chat) -> None:
    async with chat() as c:
        await c.say(PARIS)
        await c.say(CARD)
        result = await c.say("um for get for get what i just said")
        result.expect.next_event().is_function_call(name="forget_conversation", arguments={"scope": "last_turn"})
        assert PARIS in c.context_texts() and not any("4111" in t for t in c.context_texts())


async def test_a_long_absence_asks_for_the_longest_hold_the_tool_accepts(chat) -> None:
    from tools import MAX_AWAY_MINUTES

    async with chat() as c:
        result = await c.say("I'm stepping out for three hours")
        result.expect.next_event().is_function_call(name="mark_user_away", arguments={"minutes": float(MAX_AWAY_MINUTES)})
        assert not result.expect.next_event().is_function_call_output().event().item.is_error
        assert c.ctl.away.active
