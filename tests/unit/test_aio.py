"""agent/session/aio.py: background tasks are waited for, and their failures logged,
except those the caller answers itself."""

from __future__ import annotations

import asyncio
import logging

import pytest

from agent.session.aio import Tasks


class Refused(Exception):
    pass


async def test_tasks_are_waited_for_and_unexpected_failures_logged(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.aio")
    tasks = Tasks(log, "background work failed", expected=(Refused,))
    done: list[str] = []

    async def work(name: str, fail: type[Exception] | None = None) -> None:
        await asyncio.sleep(0.01)
        done.append(name)
        if fail is not None:
            raise fail(name)

    async def spawns_more() -> None:
        await asyncio.sleep(0)
        tasks.spawn(work("started meanwhile"))

    with caplog.at_level(logging.WARNING, logger="test.aio"):
        tasks.spawn(work("fine"))
        tasks.spawn(work("refused", Refused))
        tasks.spawn(work("broken", RuntimeError))
        tasks.spawn(spawns_more())
        assert tasks
        await tasks.wait()

    assert not tasks and sorted(done) == ["broken", "fine", "refused", "started meanwhile"]
    assert [r.getMessage() for r in caplog.records] == ["background work failed: broken"]
