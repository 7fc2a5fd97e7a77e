"""The three session-control tools: schemas, descriptions, and what they tell the model.

The tools check their arguments (``arguments.py``) and hand the change to a ``SessionControl``
(implemented in ``agent/``); they never touch LiveKit internals. What they
return is the true outcome, so the model never claims a change that did not take.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from livekit.agents import RunContext
from livekit.agents.llm import RawFunctionTool, ToolResult, function_tool

from .arguments import ForgetArgs, MarkAwayArgs, SwitchPersonaArgs

logger = logging.getLogger("tools")


@dataclass(frozen=True)
class PersonaChoice:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class Outcome:
    """What really happened, reported back to the model.

    ``status`` is one of the keys of ``_STATUS`` for the tool; ``subject`` fills it
    in; ``say`` is the rendered line the agent speaks next (empty for none);
    ``notes`` are honest caveats such as a reconnect; ``handoff`` is a fresh agent
    to hand the session to (a new realtime session), which then speaks first.
    """

    status: str
    subject: str = ""
    say: str = ""
    notes: tuple[str, ...] = ()
    handoff: Any = None


class SessionControl(Protocol):
    def persona_choices(self) -> list[PersonaChoice]: ...

    async def switch_persona(self, persona: str, ctx: RunContext) -> Outcome: ...

    async def forget(self, scope: str, ctx: RunContext, about: str | None = None) -> Outcome: ...

    async def mark_away(self, reason: str | None, minutes: float | None, ctx: RunContext) -> Outcome: ...


_STATUS = {
    "switched": "Switched: you are now {subject}.",
    "unchanged": "Already speaking as {subject}; nothing changed.",
    "forgotten": "Forgetting {subject}: it is removed from your context and the transcript as soon as you have replied.",
    "nothing_to_forget": "There was no earlier turn to forget; nothing changed.",
    "nothing_about": 'Nothing the user said before mentions "{subject}"; nothing was forgotten.',
    "away": "The user is marked away for {subject}. After the line below, say nothing until they are back.",
    "already_away": "The user was already marked away; the hold now lasts {subject}.",
}


def about_minutes(minutes: float) -> str:
    """``about 1 minute``, ``about 5 minutes``, ``about 0.5 minutes``: how a tool output says a hold's length."""
    return f"about {minutes:g} minute{'' if minutes == 1 else 's'}"


SAY_PREFIX = "Say this to the user now, as it is:"
DO_NOT_REPLY = "Do not reply."


def tell_model(outcome: Outcome) -> str:
    parts = [_STATUS[outcome.status].format(subject=outcome.subject), *outcome.notes]
    parts.append(f'{SAY_PREFIX} "{outcome.say}"' if outcome.say else DO_NOT_REPLY)
    return " ".join(parts)


def reply(outcome: Outcome) -> Any:
    """What the tool returns: the outcome for the model, or livekit's hand-off to a
    fresh agent, after which the old session stays quiet while the model's record
    still says what happened."""
    if outcome.handoff is not None:
        return outcome.handoff, ToolResult(tell_model(outcome), reply_required=False)
    return tell_model(outcome)


def build_session_tools(control: SessionControl) -> list[RawFunctionTool]:
    """The tools for one agent, with the persona enum taken from the loaded personas (no
    switch_persona when there are none: an agent with instructions of its own)."""
    choices = control.persona_choices()
    persona_ids = [c.id for c in choices]
    switch_parameters = SwitchPersonaArgs.parameters_schema()
    persona = switch_parameters["properties"]["persona"]
    persona["enum"] = persona_ids
    persona["description"] += " " + " ".join(f"`{c.id}`: {c.description}" for c in choices)

    @function_tool(
        raw_schema={
            "name": "switch_persona",
            "description": (
                "Switch who the user is talking to. Call it when the user asks for another "
                "persona by name or description. The conversation is kept."
            ),
            "parameters": switch_parameters,
        }
    )
    async def switch_persona(raw_arguments: dict[str, Any], context: RunContext) -> str:
        args = SwitchPersonaArgs.check(raw_arguments, personas=persona_ids, extra="ignore")
        return reply(await control.switch_persona(args.persona, context))

    @function_tool(
        raw_schema={
            "name": "forget_conversation",
            "description": (
                "Really forget part of the conversation when the user asks you to forget, "
                "delete or scratch what they said: their last turn, everything, or what they "
                "said about something ('forget my address'). Not for anything else that is 'forgotten'."
            ),
            "parameters": ForgetArgs.parameters_schema(),
        }
    )
    async def forget_conversation(raw_arguments: dict[str, Any], context: RunContext) -> str:
        args = ForgetArgs.check(raw_arguments, extra="ignore")
        return reply(await control.forget(args.scope, context, about=args.about))

    @function_tool(
        raw_schema={
            "name": "mark_user_away",
            "description": (
                "The user is stepping away for a moment ('hold on', 'brb', 'give me a minute'). "
                "You then stay silent until they are back."
            ),
            "parameters": MarkAwayArgs.parameters_schema(),
        }
    )
    async def mark_user_away(raw_arguments: dict[str, Any], context: RunContext) -> str:
        args = MarkAwayArgs.check(raw_arguments, extra="ignore")
        return tell_model(await control.mark_away(args.reason, args.minutes, context))

    # switch_persona only where there is someone to switch to
    return [switch_persona, forget_conversation, mark_user_away] if choices else [forget_conversation, mark_user_away]
