"""The away hold, spoken: voice activity, transcripts and LiveKit's own away timer."""

from __future__ import annotations

import asyncio

from agent.session.away import AwayPolicy
from tests.audio.voice import WAIT, start_voice
from tests.helpers import until

# a requested hold of one "minute" lasts 12 s here: long enough for side-talk inside it
HOLD = AwayPolicy(default_hold_minutes=1, goodbye_after_minutes=1000, seconds_per_minute=12)
NO_GOODBYE = AwayPolicy(goodbye_after_minutes=1000, seconds_per_minute=12)


async def test_away_by_voice_side_talk_check_in_and_back() -> None:
    async with start_voice(away=HOLD) as v:
        checkin = v.ctl.render("lines/away_checkin", requested=True)
        went = await v.say("Hold on, I'll be right back.")
        assert [s.value[0] for s in went if s.kind == "tool"] == ["mark_user_away"]
        held_at = next(s.at for s in went if s.kind == "user_state" and s.value[1] == "away")
        assert [s.value for s in went if s.kind == "assistant"] == [v.ctl.render("lines/away_ack", minutes=None)]
        assert v.session.user_state == "away"

        side = await v.say("Did you see the game last night?", answered=False)
        await until(lambda: v.session.user_state == "away" and v.idle(), what="the away state back after side-talk", timeout=WAIT, log=v.log)
        states = [s.value for s in side if s.kind == "user_state"]
        assert ("away", "speaking") in states  # voice activity was heard ...
        assert v.session.user_state == "away"  # ... and the user is still away

        await until(lambda: checkin in v.since(0, "assistant"), what="the check-in", timeout=WAIT, log=v.log)
        checked_at = next(s.at for s in v.log if s.kind == "assistant" and s.value == checkin)
        assert checked_at - held_at >= HOLD.default_hold_minutes * HOLD.seconds_per_minute
        await until(v.idle, what="the check-in to be spoken", timeout=WAIT, log=v.log)

        back = await v.say("Okay, I'm back.")
        assert [s.value for s in back if s.kind == "assistant"] == [v.ctl.render("lines/welcome_back")]
        assert v.session.user_state == "listening"
        # the side-talk got no answer of its own: the agent said only these since the hold began
        replies = [s.value for s in v.log if s.kind == "assistant" and s.at >= held_at]
        assert replies == [v.ctl.render("lines/away_ack", minutes=None), checkin, v.ctl.render("lines/welcome_back")]


async def test_silence_gets_one_check_in_from_livekits_away_timer_then_an_answer() -> None:
    async with start_voice(away=NO_GOODBYE, user_away_timeout=1.0) as v:
        checkin = v.ctl.render("lines/away_checkin", requested=False)
        await until(lambda: checkin in v.since(0, "assistant") and v.idle(), what="the check-in", timeout=WAIT, log=v.log)
        assert v.session.user_state == "away"
        await asyncio.sleep(3.0)  # three more away timeouts of silence: room for a second check-in
        assert v.since(0, "assistant").count(checkin) == 1

        start = v.mark()
        answer = await v.say("What's the weather like tomorrow?")
        assert v.since(start, "user_state")[0] == ("away", "speaking")
        offline = v.ctl.library.render_block(v.ctl.persona_id, "offline_reply", **v.ctl.variables())
        assert [s.value for s in answer if s.kind == "assistant"] == [offline]
        assert v.since(0, "assistant").count(checkin) == 1
