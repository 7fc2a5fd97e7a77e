"""mark_user_away: the state LiveKit listeners see, silence while away, and the way back.

Nothing here measures time. Where a test must know that a hold's timer has had its
chance to fire, it waits with ``past``: a timer created after the hold's, with a delay
at least as long, always fires after it (asyncio runs timers in deadline order).
"""

from __future__ import annotations

import asyncio
from typing import Any

from livekit.agents import UserInputTranscribedEvent, llm

import prompts
from agent.session.away import AwayPolicy
from tests.helpers import record_assistant, until
from tests.scripted import ScriptedLLM, call

FAST = AwayPolicy(default_hold_minutes=1, goodbye_after_minutes=1, seconds_per_minute=0.2)
NO_GOODBYE = AwayPolicy(default_hold_minutes=1, goodbye_after_minutes=1000, seconds_per_minute=0.05)
WAIT = 5.0  # a generous limit for a wait: it only turns a hang into a failure


async def past(policy: AwayPolicy, minutes: float) -> None:
    """Return only after every hold timer armed before this call for at most
    ``minutes`` has fired."""
    await asyncio.sleep(minutes * policy.seconds_per_minute)


def offline_reply(c: Any) -> str:
    return c.ctl.library.render_block(c.ctl.persona_id, "offline_reply", **c.ctl.variables())


async def test_away_then_side_talk_then_back(chat) -> None:
    async with chat() as c:
        result = await c.say("hold on")
        result.expect.next_event().is_function_call(name="mark_user_away")
        result.expect.next_event().is_function_call_output()
        ack = result.expect.next_event().is_message(role="assistant").event().item.text_content
        assert ack == c.ctl.render("lines/away_ack", minutes=None)
        assert c.session.user_state == "away"
        assert ("user_state_changed", ("listening", "away")) in c.events

        side = await c.say("did you see the game last night?")
        assert not [e for e in side.events if e.type == "message" and e.item.role == "assistant"]
        assert c.session.user_state == "away"

        back = await c.say("I'm back")
        assert c.session.user_state == "listening"
        assert back.expect.contains_message(role="assistant")
        assert c.events[-1] == ("user_state_changed", ("away", "listening"))


async def test_minutes_are_passed_and_checked(chat) -> None:
    async with chat() as c:
        result = await c.say("give me five minutes")
        result.expect.next_event().is_function_call(name="mark_user_away", arguments={"minutes": 5})
        assert "5 minutes" in result.expect.contains_function_call_output().event().item.output


async def test_bad_minutes_leave_the_user_present() -> None:
    from tests.harness import start_chat

    async with start_chat(ScriptedLLM(call("mark_user_away", minutes=-3), "sorry")) as c:
        result = await c.say("brb")
        assert result.expect.contains_function_call_output().event().item.is_error
        assert c.session.user_state == "listening"


async def test_hold_ends_with_one_check_in_then_a_goodbye(chat) -> None:
    async with chat(away=FAST) as c:
        said = record_assistant(c)
        closed = asyncio.Event()
        c.session.on("close", lambda _: closed.set())
        await c.say("brb")
        said.clear()
        await asyncio.wait_for(closed.wait(), 5)
        assert said == [c.ctl.render("lines/away_checkin", requested=True), c.ctl.render("lines/away_goodbye")]


async def test_the_check_in_waits_the_minutes_asked_for(chat) -> None:
    policy = AwayPolicy(default_hold_minutes=1, goodbye_after_minutes=1000, seconds_per_minute=0.3)
    async with chat(away=policy) as c:
        said = record_assistant(c)
        result = await c.say("give me five minutes")
        result.expect.contains_function_call(name="mark_user_away", arguments={"minutes": 5})
        said.clear()
        # a hold of the default minute (or of any less than three) would have checked in by now
        await past(policy, 2)
        assert said == []
        await until(lambda: said != [], what="the check-in after five minutes", timeout=WAIT)
        assert said == [c.ctl.render("lines/away_checkin", requested=True)]


async def test_coming_back_cancels_the_check_in(chat) -> None:
    async with chat(away=FAST) as c:
        await c.say("brb")
        await c.say("I'm back")
        assert not c.ctl.away.timer_pending
        said = record_assistant(c)
        await past(FAST, FAST.default_hold_minutes + FAST.goodbye_after_minutes)
        assert said == []


async def test_closing_the_session_cancels_the_check_in_and_the_goodbye(chat) -> None:
    async with chat(away=FAST) as c:
        await c.say("brb")
        assert c.ctl.away.timer_pending
        spoken: list[str] = []
        c.ctl.speak = spoken.append  # what a timer would say into the closed session
        await c.session.aclose()
        assert not c.ctl.away.timer_pending and not c.ctl.away.active
        await past(FAST, FAST.default_hold_minutes + FAST.goodbye_after_minutes)
        assert spoken == []


async def test_a_check_in_due_while_the_return_is_judged_is_never_said(chat) -> None:
    """The check-in timer fires while "I'm back" is between arriving and being judged:
    the user hears one answer, the welcome, and no check-in after it."""
    async with chat(away=NO_GOODBYE) as c:
        await c.say("brb")
        check_in_queued = asyncio.Event()
        c.session.on("speech_created", lambda ev: ev.source == "say" and check_in_queued.set())
        settle = c.ctl.settle

        async def settle_once_the_check_in_is_queued() -> None:
            await check_in_queued.wait()  # the return turn is held here, before its judgement
            await settle()

        c.ctl.settle = settle_once_the_check_in_is_queued
        said = record_assistant(c)
        back = await c.say("I'm back")
        assert check_in_queued.is_set()
        assert said == [c.ctl.render("lines/welcome_back")]
        assert [e.item.text_content for e in back.events if e.type == "message"] == said
        assert not c.ctl.away.active and not c.ctl.away.timer_pending


async def test_the_check_in_waits_for_words_transcribed_but_not_judged_yet(chat) -> None:
    """Speech to text has the user's words (livekit emits their transcript), and the check-in
    falls due before their turn ends and is judged: it waits, and the words, a return, stop
    it for good."""
    policy = AwayPolicy(default_hold_minutes=1, goodbye_after_minutes=1000, retry_minutes=1000, seconds_per_minute=0.05)
    async with chat(away=policy) as c:
        await c.say("brb")
        said = record_assistant(c)
        queued: list[Any] = []
        c.session.on("speech_created", lambda ev: ev.source == "say" and queued.append(ev))
        c.session.emit("user_input_transcribed", UserInputTranscribedEvent(transcript="I'm back", is_final=True))
        await past(policy, policy.default_hold_minutes)  # the check-in's timer has fired
        await c.say("I'm back")  # the turn ends, and is judged
        assert queued == []
        assert said == [c.ctl.render("lines/welcome_back")]
        assert not c.ctl.away.active and not c.ctl.away.timer_pending


def _user_turn(words: str) -> llm.ChatContext:
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="user", content=words)
    return ctx


async def test_the_welcome_is_due_to_the_return_turn_alone(chat) -> None:
    """may_reply judges "I'm back", and its reply never gets to its line (say the next turn
    cut it off): the next turn's reply is an ordinary one. The same turn judged twice (the
    audio path judges it on the turn's end and again in llm_node) keeps the welcome."""
    async with chat() as c:
        await c.say("brb")
        back = _user_turn("I'm back")
        assert await c.ctl.may_reply(back)
        assert await c.ctl.may_reply(back)
        assert c.ctl.offline_line() == c.ctl.render("lines/welcome_back")

        await c.say("brb")
        assert await c.ctl.may_reply(_user_turn("I'm back"))
        assert await c.ctl.may_reply(_user_turn("hello"))
        assert c.ctl.offline_line() == offline_reply(c)


async def test_automatic_away_gets_one_check_in_not_a_nag(chat) -> None:
    async with chat(away=NO_GOODBYE, user_away_timeout=0.05) as c:
        said = record_assistant(c)
        check_in = c.ctl.render("lines/away_checkin", requested=False)
        await until(lambda: said == [check_in], what="the check-in", timeout=WAIT)
        assert c.session.user_state == "away"
        await asyncio.sleep(0.05 * 4)  # the away timeout is not re-armed while the user is away
        assert said == [check_in]
        assert c.session.user_state == "away"


async def test_automatic_away_ends_when_the_user_types_and_their_words_get_a_reply(chat) -> None:
    """No VAD, no transcript: the typed turn itself ends a noticed hold, and is answered
    like any other (it is not a return phrase, so a hold that judged it would drop it)."""
    async with chat(away=NO_GOODBYE, user_away_timeout=0.05) as c:
        said = record_assistant(c)
        await until(lambda: said == [c.ctl.render("lines/away_checkin", requested=False)], what="the check-in", timeout=WAIT)
        away_events = len(c.events)
        result = await c.say("what's the weather like tomorrow?")
        reply = result.expect.next_event(type="message").event().item.text_content
        assert reply == offline_reply(c)
        assert c.events[away_events] == ("user_state_changed", ("away", "listening"))


async def test_the_offline_model_welcomes_back_only_a_user_who_was_away(chat) -> None:
    async with chat() as c:
        hello = await c.say("hello")
        offline = hello.expect.next_event(type="message").event().item.text_content
        assert offline == c.ctl.offline_line()
        await c.say("brb")
        back = await c.say("hello")
        assert back.expect.next_event(type="message").event().item.text_content == c.ctl.render("lines/welcome_back")
        again = await c.say("hello")
        assert again.expect.next_event(type="message").event().item.text_content == offline


async def test_a_welcome_not_said_on_the_return_turn_is_never_said_later(chat) -> None:
    """The return turn asks for a persona, so its reply is the switch line; the welcome
    it did not say must not greet the next "hello"."""
    async with chat() as c:
        await c.say("brb")
        back = await c.say("I'm back, talk to the pirate")
        back.expect.contains_function_call(name="switch_persona", arguments={"persona": "pirate"})
        assert c.session.user_state == "listening"
        hello = await c.say("hello")
        reply = hello.expect.next_event(type="message").event().item.text_content
        assert reply == offline_reply(c) != c.ctl.render("lines/welcome_back")


async def test_no_welcome_back_from_a_hold_the_user_never_asked_for(chat) -> None:
    async with chat(away=NO_GOODBYE, user_away_timeout=0.05) as c:
        said = record_assistant(c)
        await until(lambda: said == [c.ctl.render("lines/away_checkin", requested=False)], what="the check-in", timeout=WAIT)
        hello = await c.say("hello")
        assert hello.expect.next_event(type="message").event().item.text_content == offline_reply(c)


# the away lines as a prompt author may write them, saying the reason back
SAYS_THE_REASON = {
    "lines/away_ack": "Take your time{% if reason %} with {{ reason }}{% endif %}.",
    "lines/away_checkin": "Still busy{% if reason %} with {{ reason }}{% endif %}?",
}


async def test_the_reason_given_reaches_the_acknowledgement_and_the_check_in(tmp_path) -> None:
    from tests.harness import prompts_folder, start_chat

    library = prompts.PromptLibrary(prompts_folder(tmp_path, SAYS_THE_REASON))
    model = ScriptedLLM(call("mark_user_away", reason="the door", minutes=100), "", call("mark_user_away", minutes=1), "")
    async with start_chat(model, library=library, away=NO_GOODBYE) as c:
        said = record_assistant(c)
        first = await c.say("someone's at the door, hold on")
        assert '"Take your time with the door."' in first.expect.contains_function_call_output().event().item.output
        said.clear()
        # the hold extended (cut short here) with no reason keeps the one given before
        again = await c.say("actually, give me a minute")
        assert "1 minute" in again.expect.contains_function_call_output().event().item.output
        await until(lambda: said != [], what="the check-in", timeout=WAIT)
        assert said == ["Still busy with the door?"]


async def test_a_noticed_hold_has_no_reason(tmp_path) -> None:
    from tests.harness import prompts_folder, start_chat

    library = prompts.PromptLibrary(prompts_folder(tmp_path, SAYS_THE_REASON))
    async with start_chat(library=library, away=NO_GOODBYE, user_away_timeout=0.05) as c:
        said = record_assistant(c)
        await until(lambda: said != [], what="the check-in after silence", timeout=WAIT)
        assert said == ["Still busy?"]


async def test_a_forget_during_the_hold_takes_the_reason_with_it(tmp_path) -> None:
    """The reason came from the user's words: a frontend's forget made while the hold runs
    (it does not end the hold) leaves no copy of it for the check-in to say."""
    from tests.harness import prompts_folder, start_chat

    library = prompts.PromptLibrary(prompts_folder(tmp_path, SAYS_THE_REASON))
    model = ScriptedLLM(call("mark_user_away", reason="my doctor's call", minutes=10), "")
    async with start_chat(model, library=library, away=NO_GOODBYE) as c:
        said = record_assistant(c)
        await c.say("my doctor is calling, hold on")
        outcome = await c.ctl.request_forget("everything")
        assert outcome.status == "forgotten" and c.ctl.away.requested  # still away
        said.clear()
        await until(lambda: "Still busy" in " ".join(said), what="the check-in", timeout=10)
        assert not any("doctor" in line for line in said)
