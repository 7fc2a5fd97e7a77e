"""Time per turn: the same scripted 20-turn conversation through a bare LiveKit
Agent and through this agent (real AgentSession, text only), plus the offline
understanding's time per utterance.

    python benchmarks/conversation_turns.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from livekit.agents import Agent, AgentSession  # noqa: E402

import prompts  # noqa: E402
from agent.compose import controlled_session  # noqa: E402
from agent.session.control import SessionController  # noqa: E402
from tests.harness import ScriptedProvider  # noqa: E402
from tests.scripted import ScriptedLLM  # noqa: E402

TURNS = 20
ROUNDS = 5
UTTERANCES = [
    "can I talk to the pirate?", "forget what I just said", "give me five minutes", "I watched a pirate movie",
    "I keep forgetting my keys", "wait till you hear this", "what's the capital of France?", "hold on",
]  # fmt: skip


async def bare_agent_turns() -> float:
    session = AgentSession(vad=None, user_away_timeout=None, turn_handling={"turn_detection": "manual"})
    await session.start(Agent(instructions="You are a helpful assistant.", llm=ScriptedLLM(*["Sure."] * TURNS)))
    start = time.perf_counter()
    for i in range(TURNS):
        await session.run(user_input=f"tell me thing number {i}")
    elapsed = time.perf_counter() - start
    await session.aclose()
    return elapsed / TURNS


async def this_agent_turns(library: prompts.PromptLibrary) -> float:
    provider = ScriptedProvider("pipeline", {}, model=ScriptedLLM(*["Sure."] * TURNS))
    async with controlled_session(
        provider, env={}, library=library, vad=None, user_away_timeout=None, turn_handling={"turn_detection": "manual"}
    ) as live:
        await live.start(greet=False)
        start = time.perf_counter()
        for i in range(TURNS):
            await live.session.run(user_input=f"tell me thing number {i}")
            await live.controller.settle()
        elapsed = time.perf_counter() - start
    return elapsed / TURNS


def understanding_time(library: prompts.PromptLibrary) -> float:
    ctl = SessionController(library, ScriptedProvider("pipeline", {}, model=ScriptedLLM()))
    understanding = ctl.router()
    n = 2000
    start = time.perf_counter()
    for i in range(n):
        understanding.route(UTTERANCES[i % len(UTTERANCES)])
    return (time.perf_counter() - start) / n


async def main() -> None:
    library = prompts.PromptLibrary()
    bare, ours = [], []
    for _ in range(ROUNDS):
        bare.append(await bare_agent_turns())
        ours.append(await this_agent_turns(library))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"bare LiveKit Agent   : {b * 1000:7.2f} ms/turn (median of {ROUNDS} runs of {TURNS} turns)")
    print(f"this agent           : {o * 1000:7.2f} ms/turn")
    print(f"ratio                : {o / b:7.2f}x")
    print(f"offline understanding: {understanding_time(library) * 1e6:7.1f} us/utterance")


if __name__ == "__main__":
    asyncio.run(main())
