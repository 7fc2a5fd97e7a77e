"""One pending hand-off to a fresh agent (a fresh realtime session), from the moment a
change asks for it until it entered or was dropped.

LiveKit may drop a hand-off (a barge-in, two in one reply) or the session may close
first; what the change carries (persona, history, report, attributes) commits only
when the fresh agent really entered. ``result`` resolves True then, False otherwise.

The fresh agent's context was planned from the old one when the change was asked for;
the user may say more before LiveKit switches agents. ``late_turns`` gives those turns,
which the controller adds at the switch, so nothing said in between is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from livekit.agents import llm


class HandOff:
    def __init__(
        self,
        fresh: Any,
        old: Any,
        *,
        planned_on: llm.ChatContext,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.fresh = fresh
        self.old = old  # the agent handed off from
        self.on_commit = on_commit  # what the change commits when ``fresh`` enters
        self.result: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        # what the plan already judged (kept, or forgotten): nothing of it comes along again
        self._planned = {it.id for it in planned_on.items}

    def late_turns(self) -> list[llm.ChatItem]:
        """The user's turns that reached the old agent after the plan, in order."""
        return [
            it
            for it in self.old.chat_ctx.items
            if it.type == "message" and it.role == "user" and it.id not in self._planned
        ]

    def settle(self, entered: bool) -> None:
        if self.result.done():
            return
        if entered and self.on_commit is not None:
            self.on_commit()
        self.result.set_result(entered)
