"""What a frontend sees and drives: the agent participant's attributes and RPC methods.

Attributes (strings; components-react reads them through
``useVoiceAssistant().agentAttributes`` / ``useAgent().attributes``). LiveKit reserves
the ``lk.`` prefix for itself, so these live under ``agent.``:

- ``agent.persona``: the persona now speaking (its id)
- ``agent.personas``: JSON ``[{"id", "name", "description"}, ...]``
- ``agent.user_state``: livekit's user state, ``listening`` | ``speaking`` | ``away``

RPC methods on the agent participant (payload: a JSON object, at most
``MAX_PAYLOAD_BYTES``; the names and arguments are the tools'):

- ``agent.switch_persona`` ``{"persona": ID}``
- ``agent.forget_conversation`` ``{"scope": "last_turn" | "everything"}``
- ``agent.mark_user_away`` ``{"minutes"?: N, "reason"?: TEXT}``
- ``agent.mark_user_back`` ``{}``

Each goes through the controller exactly as the tool does, and answers with what really
happened: ``{"status", "persona", "user_state", "notes", "announced"}``. A bad request or
a change that did not happen is an ``RpcError`` (codes below); nothing changed then.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Collection, Coroutine
from typing import Any, Protocol, TypeVar

from livekit import rtc
from livekit.agents import AgentSession
from livekit.agents.llm import ToolError

from tools import Arguments, ForgetScopeArgs, MarkAwayArgs, Outcome, SwitchPersonaArgs

from .session import aio
from .session.control import SessionController

logger = logging.getLogger("agent")

ATTR_PERSONA = "agent.persona"
ATTR_PERSONAS = "agent.personas"
ATTR_USER_STATE = "agent.user_state"

RPC_SWITCH_PERSONA = "agent.switch_persona"
RPC_FORGET = "agent.forget_conversation"
RPC_MARK_AWAY = "agent.mark_user_away"
RPC_MARK_BACK = "agent.mark_user_back"

MAX_PAYLOAD_BYTES = 1024

# RpcError codes 1001-1999 are livekit's own
INVALID_REQUEST = 2400  # malformed, oversized, unknown argument or value: nothing changed
NOT_CHANGED = 2500  # the change could not be made (refused, would not load, session closing): nothing changed

MAX_USER_NAME_CHARS = 60

A = TypeVar("A", bound=Arguments)


class Participant(Protocol):
    """What the frontend surface needs of ``rtc.LocalParticipant``."""

    async def set_attributes(self, attributes: dict[str, str]) -> None: ...

    def register_rpc_method(self, method_name: str, handler: Any = None) -> Any: ...


def session_attributes(ctl: SessionController, session: AgentSession) -> dict[str, str]:
    personas = [{"id": c.id, "name": c.name, "description": c.description} for c in ctl.persona_choices()]
    return {
        ATTR_PERSONA: ctl.persona_id,
        ATTR_PERSONAS: json.dumps(personas, ensure_ascii=False),
        ATTR_USER_STATE: session.user_state,
    }


def dispatch_options(metadata: str | None, persona_ids: Collection[str]) -> dict[str, str]:
    """``persona`` and ``user_name`` from the job's metadata (JSON, as set by the dispatch or
    a frontend's ``agentMetadata``); anything unusable is logged and left out."""
    if not metadata or not metadata.strip():
        return {}
    try:
        data = json.loads(metadata)
    except ValueError:
        logger.warning("job metadata is not JSON; ignored")
        return {}
    if not isinstance(data, dict):
        logger.warning("job metadata is not a JSON object; ignored")
        return {}
    options: dict[str, str] = {}
    if "persona" in data:
        try:
            options["persona"] = SwitchPersonaArgs.check({"persona": data["persona"]}, personas=persona_ids).persona
        except ToolError as e:
            logger.warning("job metadata: %s The default persona is used.", e)
    if "user_name" in data:
        name = data["user_name"]
        if isinstance(name, str) and 0 < len(name.strip()) <= MAX_USER_NAME_CHARS:
            options["user_name"] = " ".join(name.split())
        else:
            logger.warning("job metadata: user_name must be a name of at most %d characters; ignored", MAX_USER_NAME_CHARS)
    return options


class Frontend:
    """Publishes the session's state as attributes and serves the controls as RPC methods."""

    def __init__(self, participant: Participant, ctl: SessionController, session: AgentSession) -> None:
        self.participant = participant
        self.ctl = ctl
        self.session = session
        self._published: dict[str, str] = {}
        self._publishing = asyncio.Lock()  # one update at a time, in order
        # attribute updates, and changes that outlive their RPC (a refusal is the caller's answer)
        self._tasks = aio.Tasks(logger, "a change a frontend asked for failed", expected=(ToolError,))

    async def start(self) -> None:
        self.session.on("user_state_changed", self._publish_soon)
        self.ctl.on_persona_changed.append(self._publish_soon)
        methods: dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, Outcome]]] = {
            RPC_SWITCH_PERSONA: self._switch_persona,
            RPC_FORGET: self._forget,
            RPC_MARK_AWAY: self._mark_away,
            RPC_MARK_BACK: self._mark_back,
        }
        for name, act in methods.items():
            self.participant.register_rpc_method(name, self._handler(act))
        await self.publish()

    async def publish(self) -> None:
        """Send the attributes that changed since the last update."""
        async with self._publishing:
            changed = {k: v for k, v in session_attributes(self.ctl, self.session).items() if self._published.get(k) != v}
            if not changed:
                return
            try:
                await self.participant.set_attributes(changed)
            except Exception as e:  # a disconnected room: the next change sends them again
                logger.warning("could not publish the agent's attributes: %s", e)
                return
            self._published.update(changed)

    def _publish_soon(self, *_: Any) -> None:
        self._tasks.spawn(self.publish())

    # -- the RPC methods --------------------------------------------------------------------

    def _handler(self, act: Callable[[dict[str, Any]], Coroutine[Any, Any, Outcome]]) -> Any:
        async def handle(data: rtc.RpcInvocationData) -> str:
            change_made = act(_arguments(data.payload))  # a bad request raises here, before any change
            # livekit cancels a handler past the caller's deadline: the change itself runs to
            # its end regardless, so it is never left half made (the attributes tell the result)
            change = self._tasks.spawn(change_made)
            try:
                outcome = await asyncio.shield(change)
            except ToolError as e:
                raise rpc_error(NOT_CHANGED, str(e)) from None
            await self.publish()
            return json.dumps(
                {
                    "status": outcome.status,
                    "persona": self.ctl.persona_id,
                    "user_state": self.session.user_state,
                    "notes": list(outcome.notes),
                    "announced": outcome.say,
                },
                ensure_ascii=False,
            )

        return handle

    # each checks its arguments with the tool's model (an unknown one is refused), then hands
    # the change to the controller

    def _switch_persona(self, args: dict[str, Any]) -> Coroutine[Any, Any, Outcome]:
        persona = _checked(SwitchPersonaArgs, args, personas=[c.id for c in self.ctl.persona_choices()]).persona
        return self.ctl.request_switch_persona(persona)

    def _forget(self, args: dict[str, Any]) -> Coroutine[Any, Any, Outcome]:
        return self.ctl.request_forget(_checked(ForgetScopeArgs, args).scope)

    def _mark_away(self, args: dict[str, Any]) -> Coroutine[Any, Any, Outcome]:
        checked = _checked(MarkAwayArgs, args)
        return self.ctl.request_mark_away(checked.minutes, reason=checked.reason)

    def _mark_back(self, args: dict[str, Any]) -> Coroutine[Any, Any, Outcome]:
        _checked(Arguments, args)  # none at all
        return self.ctl.request_mark_back()


def rpc_error(code: int, message: str) -> rtc.RpcError:
    return rtc.RpcError(code, message)


def _arguments(payload: str) -> dict[str, Any]:
    if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise rpc_error(INVALID_REQUEST, f"The payload is larger than {MAX_PAYLOAD_BYTES} bytes; nothing changed.")
    if not payload.strip():
        return {}
    try:
        arguments = json.loads(payload)
    except ValueError:
        raise rpc_error(INVALID_REQUEST, "The payload is not valid JSON; send a JSON object. Nothing changed.") from None
    if not isinstance(arguments, dict):
        raise rpc_error(INVALID_REQUEST, "The payload must be a JSON object. Nothing changed.")
    return arguments


def _checked(model: type[A], args: dict[str, Any], personas: Collection[str] = ()) -> A:
    try:
        return model.check(args, personas=personas)
    except ToolError as e:
        message = str(e)
        raise rpc_error(INVALID_REQUEST, message if "othing" in message else f"{message} Nothing changed.") from None
