"""The worker publishes the persona and the user's away state for frontends."""

from __future__ import annotations

from agent.worker import ATTR_PERSONA, ATTR_USER_STATE, session_attributes


async def test_attributes_follow_the_session(chat) -> None:
    async with chat() as c:
        assert session_attributes(c.ctl, c.session) == {ATTR_PERSONA: "assistant", ATTR_USER_STATE: "listening"}
        await c.say("can I talk to the tutor?")
        await c.say("brb")
        assert session_attributes(c.ctl, c.session) == {ATTR_PERSONA: "tutor", ATTR_USER_STATE: "away"}

