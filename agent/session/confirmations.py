"""A provider's own answer to an in-place update, so a change is reported only once it took.

A provider whose plugin relays the service's answers gives the mechanism a
:class:`Confirmations` that waits for them (``ModelSource.confirmations``); one that
cannot be asked gives :class:`Unasked`: its updates count as applied, as livekit
reports them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from livekit.agents import llm


class Refused(llm.RealtimeError):
    """The provider refused an update (or never confirmed it). ``fresh_session``: the
    provider said it cannot make this change in place, and a fresh session can."""

    def __init__(self, code: str, message: str, *, fresh_session: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.fresh_session = fresh_session


class Confirmations(Protocol):
    """The answers to the updates made in its ``with`` block."""

    available: bool  # whether the provider answers at all

    def __enter__(self) -> Confirmations: ...

    def __exit__(self, *exc: object) -> None: ...

    async def session_updated(self) -> None:
        """Wait for the answer to one update of the session; raise :class:`Refused` on a refusal."""
        ...

    async def items_deleted(self, item_ids: Collection[str]) -> list[str]:
        """Wait until each item is deleted; return the refusals (empty: all deleted)."""
        ...


class Unasked:
    """A provider that cannot be asked: every update counts as applied."""

    available = False

    def __enter__(self) -> Unasked:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    async def session_updated(self) -> None:
        return None

    async def items_deleted(self, item_ids: Collection[str]) -> list[str]:
        return []
