"""How long a session change takes to take effect, per provider.

Measured from the moment the model's tool call reaches the controller (its
``switch_persona`` / ``forget`` entry) to the moment the change is observable:

- offline and pipeline (in-process, a scripted LLM for the pipeline): the running
  agent's instructions are the new persona's / the forgotten words are out of its
  context;
- OpenAI Realtime and Gemini Live (the real plugins against the loopback fakes in
  tests/wire): the fake received the new instructions (a ``session.update``, or the
  setup of a new connection), the last ``conversation.item.delete``, or the fresh
  session's setup and seeded turns.

A forget is applied once the acknowledgement has been spoken, so its figure includes
that reply (instant here: the models are scripted). Loopback figures leave out network
and model latency; they show what the code and the plugins add.

    python benchmarks/session_changes.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OPERATIONS = ("switch", "forget last_turn", "forget everything")
SECRET = "my secret is 42"


@dataclass
class Figure:
    provider: str
    operation: str
    seconds: list[float]
    reconnects: set[int]
    note: str = ""


# ------------------------------------------------------------------------------------------
# in-process: the offline model and a scripted pipeline LLM
# ------------------------------------------------------------------------------------------


async def _first_true(cond: Callable[[], bool], timeout: float = 10.0) -> float:
    """perf_counter at the first event-loop turn on which ``cond()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise TimeoutError("the change was never observed")
        await asyncio.sleep(0)
    return time.perf_counter()


def _context_texts(c: Any) -> str:
    return json.dumps([m.text_content for m in c.agent.chat_ctx.messages()])


async def in_process(kind: str, operation: str) -> tuple[float, int]:
    from tests.harness import start_chat
    from tests.scripted import ScriptedLLM, call

    model = None
    if kind == "pipeline":
        step = (
            call("switch_persona", persona="pirate")
            if operation == "switch"
            else call("forget_conversation", scope=operation.split()[1])
        )
        model = ScriptedLLM("Nice.", "Noted.", step, "Done.")
    async with start_chat(model) as c:
        await c.say("I like tea")
        await c.say(SECRET)
        if operation == "switch":
            target = c.ctl.instructions("pirate")
            watcher = asyncio.ensure_future(_first_true(lambda: c.agent.instructions == target))
            await c.say("can I talk to the pirate?")
        else:
            words = SECRET if operation == "forget last_turn" else "I like tea"
            watcher = asyncio.ensure_future(_first_true(lambda: words not in _context_texts(c)))
            await c.say("forget what I just said" if operation == "forget last_turn" else "forget everything")
        t1 = await watcher
        (_, t0), *_ = c.tool_calls
        return t1 - t0, 0


# ------------------------------------------------------------------------------------------
# OpenAI Realtime against the loopback fake
# ------------------------------------------------------------------------------------------


async def openai(modalities: str | None, operation: str) -> tuple[float, int]:
    from tests.wire.support import WireLog, controlled_session
    from tests.wire.openai.fixtures import openai_env
    from tests.wire.openai.fake_openai import FakeOpenAIRealtime

    async with FakeOpenAIRealtime() as fake:
        log = WireLog(fake)
        async with controlled_session("openai", openai_env(fake, modalities=modalities)) as c:
            await c.say("I like tea")  # with audio output, the voice is now fixed
            await c.say(SECRET)
            if operation == "switch":
                target = c.ctl.instructions("pirate")
                fake.queue_function_call("switch_persona", {"persona": "pirate"})
                await c.say("can I talk to the pirate?")

                def observed(_i: int, what: str, msg: Any) -> bool:
                    return (
                        what == "recv"
                        and msg.get("type") == "session.update"
                        and msg["session"].get("instructions") == target
                    )
            else:
                fake.queue_function_call("forget_conversation", {"scope": operation.split()[1]})
                await c.say("forget what I just said")
            (_, t0), *_ = c.tool_calls
        if operation == "switch":
            t1 = log.first_time(observed, after=t0)
        else:  # the last of the deletes
            t1 = max(
                (t for _, t, _, w, m in log.entries if w == "recv" and m.get("type") == "conversation.item.delete"),
                default=None,
            )
        assert t1 is not None, "the change never reached the wire"
        return t1 - t0, len(fake.connections) - 1


# ------------------------------------------------------------------------------------------
# Gemini Live against the loopback fake (TLS trusted through SSL_CERT_FILE)
# ------------------------------------------------------------------------------------------


async def gemini(operation: str) -> tuple[float, int]:
    import os

    from tests.wire.support import WireLog, controlled_session
    from tests.wire.google.fixtures import gemini_env
    from tests.wire.google.fake_gemini import FakeGeminiLive

    async with FakeGeminiLive() as fake:
        assert fake.ca_file
        previous = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = fake.ca_file
        log = WireLog(fake)
        try:
            async with controlled_session("google", gemini_env(fake)) as c:
                await c.say("I like tea")
                await c.say(SECRET)
                if operation == "switch":
                    target = c.ctl.instructions("pirate")
                    fake.queue_function_call("switch_persona", {"persona": "pirate"})
                    await c.say("can I talk to the pirate?")
                else:
                    target = c.ctl.instructions()
                    fake.queue_function_call("forget_conversation", {"scope": operation.split()[1]})
                    await c.say("forget what I just said")
                (_, t0), *_ = c.tool_calls
        finally:
            if previous is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = previous

        def setup_of_fresh_session(i: int, what: str, msg: Any) -> bool:
            return i >= 1 and what == "recv" and "setup" in msg and json.dumps(target)[1:-1] in json.dumps(msg)

        t1 = log.first_time(setup_of_fresh_session, after=t0)
        if operation == "forget last_turn":  # ... and its seeded turns
            seeded = log.first_time(lambda i, w, m: i >= 1 and w == "recv" and "clientContent" in m, after=t0)
            t1 = seeded if seeded is not None and (t1 is None or seeded > t1) else t1
        assert t1 is not None, "the fresh session never appeared on the wire"
        return t1 - t0, len(fake.connections) - 1


# ------------------------------------------------------------------------------------------


async def collect(rounds: int) -> list[Figure]:
    cases: list[tuple[str, str, Callable[[], Awaitable[tuple[float, int]]], str]] = []
    for op in OPERATIONS:
        cases.append(("offline", op, lambda op=op: in_process("offline", op), "in place"))
    for op in OPERATIONS:
        cases.append(("pipeline (scripted LLM)", op, lambda op=op: in_process("pipeline", op), "in place"))
    for op in OPERATIONS:
        cases.append(("openai, text output", op, lambda op=op: openai("text", op), "in place"))
    cases.append(("openai, after audio", "switch", lambda: openai(None, "switch"), "hand-off (voice fixed)"))
    for op in OPERATIONS:
        note = "hand-off" if op == "switch" else "hand-off; the fresh session says the acknowledgement"
        cases.append(("gemini", op, lambda op=op: gemini(op), note))

    figures = []
    for provider, op, measure, note in cases:
        await measure()  # warm-up: first imports and connections
        seconds, reconnects = [], set()
        for _ in range(rounds):
            s, r = await measure()
            seconds.append(s)
            reconnects.add(r)
        figures.append(Figure(provider, op, seconds, reconnects, note))
    return figures


def report(figures: list[Figure], rounds: int) -> None:
    print(f"Time from the tool call to the change being observable (median of {rounds}, min-max), ms")
    print(f"{'provider':<26}{'operation':<20}{'median':>9}{'min':>9}{'max':>9}  reconnects  how")
    for f in figures:
        ms = [s * 1000 for s in f.seconds]
        print(
            f"{f.provider:<26}{f.operation:<20}{statistics.median(ms):>9.2f}{min(ms):>9.2f}{max(ms):>9.2f}"
            f"  {','.join(map(str, sorted(f.reconnects))):>10}  {f.note}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the plugins' expected warnings would drown the table
    report(asyncio.run(collect(args.rounds)), args.rounds)


if __name__ == "__main__":
    main()
