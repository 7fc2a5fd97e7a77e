"""Small asyncio helpers the session code shares: background tasks that are waited
for and whose failures are logged, "the first of", and "when this speech is done"."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Tasks:
    """Background tasks kept alive until done; a failure is logged as ``what``, never lost."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        on_start: Callable[[asyncio.Task[Any]], None] | None = None,
        expected: tuple[type[BaseException], ...] = (),
    ) -> None:
        """``expected``: failures a caller of the task answers itself (not logged)."""
        self._logger, self._what, self._on_start, self._expected = logger, what, on_start, expected
        self._running: set[asyncio.Task[Any]] = set()

    def __bool__(self) -> bool:
        return bool(self._running)

    def spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._done)
        if self._on_start is not None:
            self._on_start(task)
        return task

    async def wait(self) -> None:
        """Until every task, including those started meanwhile, is done."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled() and (e := task.exception()) is not None and not isinstance(e, self._expected):
            self._logger.warning("%s: %s", self._what, e, exc_info=e)


async def first_of(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``work``'s result, or None if ``stop`` is set first (``work`` is then cancelled)."""
    task, stopped = asyncio.ensure_future(work), asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    return None


async def speech_done(handle: Any) -> None:
    """Until ``handle`` (a LiveKit SpeechHandle) is done: played out, interrupted or dropped."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    handle.add_done_callback(lambda _: done.done() or done.set_result(None))
    await done
