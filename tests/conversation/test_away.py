"""mark_user_away: the state LiveKit listeners see, silence while away, and the way back."""

from __future__ import annotations

import asyncio

from agent.away import AwayPolicy
from tests.scripted import ScriptedLLM, call

FAST = AwayPolicy(default_hold_minutes=1, goodbye_after_minutes=1, seconds_per_minute=0.2)


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
        said: list[str] = []
        c.session.on("conversation_item_added", lambda ev: said.append(ev.item.text_content or ""))
        closed = asyncio.Event()
        c.session.on("close", lambda _: closed.set())
        await c.say("brb")
        said.clear()
        await asyncio.wait_for(closed.wait(), 5)
        assert said == [c.ctl.render("lines/away_checkin", requested=True), c.ctl.render("lines/away_goodbye")]


async def test_coming_back_cancels_the_check_in(chat) -> None:
    async with chat(away=FAST) as c:
        await c.say("brb")
        await c.say("I'm back")
        said: list[str] = []
        c.session.on("conversation_item_added", lambda ev: said.append(ev.item.text_content or ""))
        await asyncio.sleep(FAST.seconds_per_minute * 2.5)
        assert said == []


async def test_automatic_away_gets_one_check_in_not_a_nag(chat) -> None:
    async with chat(away=FAST, user_away_timeout=0.05) as c:
        said: list[str] = []
        c.session.on("conversation_item_added", lambda ev: said.append(ev.item.text_content or ""))
        await asyncio.sleep(0.15)  # the timeout fires once; the check-in follows
        assert c.session.user_state == "away"
        await asyncio.sleep(0.1)
        assert said == [c.ctl.render("lines/away_checkin", requested=False)]


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
