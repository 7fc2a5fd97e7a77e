"""The three session-control tools: schemas, descriptions, and what they tell the model.

The tools check their arguments and hand the change to a ``SessionControl``
(implemented in ``agent/``); they never touch LiveKit internals. What they
return is the true outcome, so the model never claims a change that did not take.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from livekit.agents import RunContext
from livekit.agents.llm import RawFunctionTool, ToolError, ToolResult, function_tool

from .arguments import FORGET_SCOPES, MAX_AWAY_MINUTES, check_about, check_minutes, check_persona, check_reason, check_scope

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

    @function_tool(
        raw_schema={
            "name": "switch_persona",
            "description": (
                "Switch who the user is talking to. Call it when the user asks for another "
                "persona by name or description. The conversation is kept."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "persona": {
                        "type": "string",
                        "enum": persona_ids,
                        "description": "The persona to switch to. "
                        + " ".join(f"`{c.id}`: {c.description}" for c in choices),
                    }
                },
                "required": ["persona"],
                "additionalProperties": False,
            },
        }
    )
    async def switch_persona(raw_arguments: dict[str, Any], context: RunContext) -> str:
        persona = check_persona(_args(raw_arguments).get("persona"), persona_ids)
        return reply(await control.switch_persona(persona, context))

    @function_tool(
        raw_schema={
            "name": "forget_conversation",
            "description": (
                "Really forget part of the conversation when the user asks you to forget, "
                "delete or scratch what they said: their last turn, everything, or what they "
                "said about something ('forget my address'). Not for anything else that is 'forgotten'."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "scope": {
                        "type": "string",
                        "enum": list(FORGET_SCOPES),
                        "description": "`last_turn` (the default): the user's previous turn and your reply to it. "
                        "`everything`: the whole conversation so far.",
                    },
                    "about": {
                        "type": "string",
                        "description": "Only when the user names what to forget: a few of their words for it, "
                        "e.g. \"my card number\" for 'forget my card number'. Every earlier user turn that "
                        "mentions it goes, with your replies; `scope` is then not used.",
                    },
                },
                "required": [],
                "additionalProperties": False,
            },
        }
    )
    async def forget_conversation(raw_arguments: dict[str, Any], context: RunContext) -> str:
        args = _args(raw_arguments)
        scope, about = check_scope(args.get("scope")), check_about(args.get("about"))
        return reply(await control.forget(scope, context, about=about))

    @function_tool(
        raw_schema={
            "name": "mark_user_away",
            "description": (
                "The user is stepping away for a moment ('hold on', 'brb', 'give me a minute'). "
                "You then stay silent until they are back."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "reason": {"type": "string", "description": "Why, in a few words, if the user said."},
                    "minutes": {
                        "type": "number",
                        "description": f"How long they asked for, in minutes (at most {MAX_AWAY_MINUTES}), if they said.",
                    },
                },
                "required": [],
                "additionalProperties": False,
            },
        }
    )
    async def mark_user_away(raw_arguments: dict[str, Any], context: RunContext) -> str:
        args = _args(raw_arguments)
        minutes = check_minutes(args.get("minutes"))
        reason = check_reason(args.get("reason"))
        return tell_model(await control.mark_away(reason, minutes, context))

    # switch_persona only where there is someone to switch to
    return [switch_persona, forget_conversation, mark_user_away] if choices else [forget_conversation, mark_user_away]


def _args(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ToolError("Arguments must be a JSON object.")
    return raw
