"""Your own LiveKit agent, with honest away and forget, in a few lines.

The concierge has its own instructions and its own tool; ``ControlledAgent`` adds
``forget_conversation`` and ``mark_user_away``, which really take effect on whichever
provider the environment selects (OpenAI Realtime, Gemini Live, Ultravox, Nova Sonic,
a pipeline, or the offline model), and the agent never claims a change that did not happen.

    python examples/concierge.py dev        # a LiveKit worker (LIVEKIT_URL, LIVEKIT_API_KEY, ...)
"""

from __future__ import annotations

from livekit.agents import AgentServer, JobContext, RunContext, cli, function_tool

from agent import ControlledAgent, ControlledSession, build_session

INSTRUCTIONS = """You are the front desk of Hotel Lumen, a small hotel by the harbour.
Answer guests' questions briefly and warmly; you can tell them when breakfast is served."""
GREETING = "Hotel Lumen front desk, how can I help?"


class Concierge(ControlledAgent):
    @function_tool
    async def breakfast_hours(self, context: RunContext) -> str:
        """When and where breakfast is served."""
        return "Breakfast is served from 7 to 10:30 in the garden room."


def concierge_session(**options) -> ControlledSession:
    """The concierge's session; ``options`` go to ``build_session`` (a provider, its
    settings, ``AgentSession``'s own arguments such as ``stt``, ``tts`` and ``vad``)."""
    return build_session(instructions=INSTRUCTIONS, agent_class=Concierge, greeting=GREETING, **options)


server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    live = concierge_session()
    ctx.add_shutdown_callback(live.aclose)
    await live.start(room=ctx.room)


if __name__ == "__main__":
    cli.run_app(server)
