"""The session controller: carries out what the tools ask, and keeps the state
(persona, away hold) that must survive a hand-off to a fresh realtime session."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from livekit.agents import AgentSession, RunContext, llm
from livekit.agents.llm import ToolError

import prompts
from tools import Outcome, PersonaChoice, about_minutes

from . import aio, forgetting, lk_private
from .away import AwayHold, AwayPolicy
from .reply_gate import RealtimeReplyGate
from .hand_off import HandOff
from .requested import RequestedChanges
from .model_source import ModelSource, RequestReader
from .controlled_agent import ControlledAgent
from .strategies import Applied, strategy_for

logger = logging.getLogger("agent")


class SessionController(RequestedChanges):
    def __init__(
        self,
        library: prompts.PromptLibrary,
        provider: ModelSource,
        *,
        persona: str = "assistant",
        instructions: str | None = None,
        agent_class: type[ControlledAgent] = ControlledAgent,
        greeting: str = "",
        user_name: str | None = None,
        language: str = "en",
        away: AwayPolicy | None = None,
    ) -> None:
        """``instructions``: an agent's own (no persona files, so nothing to switch to);
        the session tools' rules and every line still come from ``library``. ``agent_class``:
        the ControlledAgent subclass each agent is made of (a fresh session makes a new one)."""
        self.library = library
        self.provider = provider
        self.persona_id = library.persona(persona).id
        self.own_instructions = instructions
        self.agent_class = agent_class
        self.greeting = greeting
        self.user_name = user_name
        self.language = language
        self.away = AwayHold(self, away or AwayPolicy())
        self.session: AgentSession | None = None
        self.on_persona_changed: list[Callable[[str], None]] = []
        self.on_reply_judged: list[Callable[[bool], None]] = []  # after each may_reply decision
        # deferred edits and releases; a running session.run waits for them too
        self._tasks = aio.Tasks(logger, "a deferred session change failed", on_start=self._hold_run_open)
        self.forgotten_ids: set[str] = set()  # every item forgotten so far
        self._forgets: set[asyncio.Task[Any]] = set()  # forgets waiting for their acknowledgement
        self._before_last_forget: set[str] = set()  # user turns said before the last forget request
        self._changing = asyncio.Lock()  # tools of one reply run concurrently: one change at a time
        self._requested = asyncio.Lock()  # changes a frontend or command asks for: one at a time
        self._edits = asyncio.Lock()  # edits of the context in place: one at a time
        self.hand_off: HandOff | None = None  # asked of livekit, not entered or dropped yet
        self._render_faults: set[str] = set()  # lines that failed to render, logged once each
        self.changeable = provider.changeable
        self.strategy = strategy_for(provider, self.changeable)

    # -- building agents and rendering ------------------------------------------------

    def variables(self, persona_id: str | None = None, **extra: Any) -> dict[str, Any]:
        return prompts.standard_variables(
            self.library.persona(persona_id or self.persona_id),
            user_name=self.user_name,
            language=self.language,
            capabilities=self.changeable.as_template_variables(),
            away=self.away.active,
        ) | ({"personas": []} if self.own_instructions is not None else {}) | extra

    def render(self, name: str, persona_id: str | None = None, **extra: Any) -> str:
        return self.library.render(name, **self.variables(persona_id, **extra))

    def line(self, name: str, persona_id: str | None = None, **extra: Any) -> str:
        """A line to say: the template rendered, else an apology that renders (a broken
        template never leaves the user in silence, and never fails the session's model)."""
        try:
            return self.render(name, persona_id, **extra)
        except prompts.PromptError as e:
            return self._apology(e, persona_id)

    def _apology(self, error: prompts.PromptError, persona_id: str | None = None) -> str:
        if str(error) not in self._render_faults:  # once per fault, not once per turn
            self._render_faults.add(str(error))
            logger.warning("a line did not render, saying lines/sorry instead: %s", error)
        try:
            return self.render("lines/sorry", persona_id)
        except prompts.PromptError:
            return prompts.APOLOGY

    def instructions(self, persona_id: str | None = None) -> str:
        pid = persona_id or self.persona_id
        if self.own_instructions is not None:
            rules = self.render("session_tools", pid)
            return f"{self.own_instructions.strip()}\n\n# Session tools\n{rules}"
        return self.library.render_persona(pid, **self.variables(pid))

    def offline_line(self) -> str:
        """The line of a model with no words of its own (ModelHooks): ``lines/welcome_back``
        to a user just back, else the persona's ``offline_reply`` block."""
        if self.away.take_welcome():
            return self.line("lines/welcome_back")
        try:
            return self.library.render_block(self.persona_id, "offline_reply", **self.variables())
        except prompts.PromptError as e:
            return self._apology(e)

    def router(self) -> RequestReader:
        return self.provider.understanding(self.library)

    def persona_choices(self) -> list[PersonaChoice]:
        """The personas switch_persona offers: none for an agent with its own instructions."""
        if self.own_instructions is not None:
            return []
        return [PersonaChoice(p.id, p.name, p.description) for p in self.library.personas().values()]

    def new_agent(self, *, persona_id: str | None = None, chat_ctx: llm.ChatContext | None = None, entry_line: str = "") -> ControlledAgent:
        persona = self.library.persona(persona_id or self.persona_id)
        voices = {} if self.own_instructions is not None else persona.voices  # the provider's default voice
        return self.agent_class(
            self,
            instructions=self.instructions(persona.id),
            model=self.provider.model_for(voices, hooks=self),
            tts=self.provider.tts_for(voices),
            chat_ctx=chat_ctx,
            entry_line=entry_line,
            voice=voices.get(self.provider.voice_key),
        )

    def first_agent(self, *, greet: bool = True) -> ControlledAgent:
        greeting = self.greeting if self.own_instructions is not None else self.library.persona(self.persona_id).greeting
        return self.new_agent(entry_line=greeting if greet else "")

    def attach(self, session: AgentSession) -> None:
        self.session = session
        self.away.attach(session)
        if self.provider.realtime:  # it answers speech on its own, past llm_node: gate its replies
            RealtimeReplyGate(self.away, session).attach()
        session.on("conversation_item_added", self._on_item_added)
        session.on("function_tools_executed", self._on_tools_executed)
        session.on("close", self._on_close)

    # -- the tools' side: each change's one core, said by the tool's reply ------------------

    async def switch_persona(self, persona: str, ctx: RunContext) -> Outcome:
        async with self._changing:
            outcome, hand_off, old_tts = await self._switch(persona, call_id=ctx.function_call.call_id)
            if hand_off is not None:  # livekit hands off when the tool returns the fresh agent
                self._begin_hand_off(hand_off, ctx.speech_handle)
                return replace(outcome, say="")  # the fresh agent says the line when it enters
            if old_tts is not None:
                self._after(ctx.speech_handle, self.provider.release(old_tts))
            return outcome

    async def forget(self, scope: str, ctx: RunContext, about: str | None = None) -> Outcome:
        async with self._changing:
            handle, call_id = ctx.speech_handle, ctx.function_call.call_id
            plan = self._plan_forget(scope, call_id, _reply_ids(handle), about=about)
            if isinstance(plan, Outcome):
                return plan
            self._one_change_at_a_time("forgetting", hand_off=self.strategy.forget_hands_off)
            applied = self.strategy.forget(self, plan.kept, plan.line)
            outcome = Outcome("forgotten", plan.subject, say=plan.line, notes=applied.notes, handoff=applied.handoff)
            if applied.handoff is None:
                self._before_last_forget = plan.fence
                waiting = self._tasks.spawn(self._forget_after_reply(handle, scope, call_id, about))
                self._forgets.add(waiting)
                waiting.add_done_callback(self._forgets.discard)
                return outcome

            def commit() -> None:  # the fresh session started without it; the history follows
                self._before_last_forget = plan.fence
                self._scrub_history(scope, call_id, _reply_ids(handle), about=about)

            self._begin_hand_off(self._hand_off_for(applied.handoff, plan.context, commit), handle)
            return replace(outcome, say="")

    async def mark_away(self, reason: str | None, minutes: float | None, ctx: RunContext) -> Outcome:
        return self._mark_away(minutes, reason=reason, call_id=ctx.function_call.call_id)

    def _mark_away(self, minutes: float | None, *, reason: str | None = None, call_id: str | None = None) -> Outcome:
        """``reason``: why the user stepped away, as they said it (user text: the lines get
        it, the logs never)."""
        already = self.away.requested
        self.away.start(requested=True, minutes=minutes, reason=reason, call_id=call_id)
        subject = about_minutes(minutes or self.away.policy.default_hold_minutes)
        if already:
            return Outcome("already_away", subject)
        return Outcome("away", subject, say=self.line("lines/away_ack", minutes=minutes, reason=reason))

    # -- the cores --------------------------------------------------------------------------

    async def _switch(self, persona: str, *, call_id: str | None) -> tuple[Outcome, HandOff | None, Any]:
        """Make the switch: in place (committed now; the TTS it replaced is returned, to be
        released once the line is said) or as a pending hand-off. ``call_id``: the tool call
        asking for it, left out of what a fresh session carries."""
        target, instructions, line = self._switch_target(persona)
        if target.id == self.persona_id:
            return Outcome("unchanged", target.name, say=self.line("lines/already_persona")), None, None
        self._one_change_at_a_time(f"the switch to {target.name}", hand_off=True)
        agent = self._agent()
        carried = forgetting.without_call(agent.chat_ctx, call_id) if call_id else agent.chat_ctx.copy()
        old_tts = agent.tts
        applied = await self._apply_switch(agent, target, instructions, line, carried)
        outcome = Outcome("switched", target.name, say=line, notes=applied.notes, handoff=applied.handoff)
        if applied.handoff is not None:
            return outcome, self._hand_off_for(applied.handoff, carried, lambda: self._commit_persona(target.id)), None
        self._commit_persona(target.id)
        return outcome, None, (old_tts if agent.tts is not old_tts else None)

    def _plan_forget(self, scope: str, call_id: str | None, reply_ids: set[str], *, about: str | None) -> _ForgetPlan | Outcome:
        """What a forget removes and what it says; an Outcome where nothing is to be forgotten."""
        context = self._agent().chat_ctx
        about = about if about and forgetting.topic_words(about) else None
        gone = forgetting.items_to_forget(context.items, scope, call_id, reply_ids, about=about)
        if about and not gone:
            return Outcome("nothing_about", about, say=self.line("lines/forget_no_match", about=_to_user(about)))
        if not about and scope == "last_turn":
            previous = forgetting.previous_turn(context.items, call_id, reply_ids)
            # never past an earlier forget: the turn before was that request, already gone
            if previous is None or previous.id in self._before_last_forget:
                return Outcome("nothing_to_forget", say=self.line("lines/nothing_to_forget"))
        earlier = forgetting.earlier_turns(context.items, call_id, reply_ids)
        if about:
            gone_ids = {it.id for it in gone}
            numbers = [n for n, it in enumerate(earlier, 1) if it.id in gone_ids]
            turns = f"turn{'s' if len(numbers) > 1 else ''} {_numbered(numbers)} of {len(earlier)}"
            subject = f'what the user said about "{about}" (their {turns}), your replies to it, and this request'
        elif call_id is None:
            subject = "the whole conversation" if scope == "everything" else "the user's last turn and the reply to it"
        else:
            subject = "the whole conversation" if scope == "everything" else "the user's previous turn and your reply"
        return _ForgetPlan(
            context=context,
            gone=gone,
            kept=forgetting.without(context, gone),
            line=self.line("lines/forget", scope=scope, about=_to_user(about) if about else None),
            subject=subject,
            fence={it.id for it in earlier},
        )

    def _switch_target(self, persona: str) -> tuple[prompts.Persona, str, str]:
        """The persona asked for, its instructions and its switch line (both empty when
        it already speaks); a ToolError, nothing changed, when it does not render."""
        try:
            target = self.library.persona(persona)
            if target.id == self.persona_id:
                return target, "", ""
            instructions = self.instructions(target.id)
            line = self.render("lines/switch", target.id, previous={"id": self.persona_id, "name": self._name()})
        except prompts.PromptError as e:
            logger.warning("persona %s does not render: %s", persona, e)
            raise ToolError(f"The {persona} persona could not be loaded; nothing changed.") from None
        return target, instructions, line

    async def _apply_switch(
        self, agent: ControlledAgent, target: prompts.Persona, instructions: str, line: str, carried: llm.ChatContext
    ) -> Applied:
        try:
            return await self.strategy.switch_persona(self, agent, target, instructions, line, carried)
        except llm.RealtimeError as e:
            logger.warning("the provider refused the switch to %s: %s", target.id, e)
            raise ToolError(f"The provider refused the switch to {target.name}; nothing changed.") from None

    # -- speaking and gating -----------------------------------------------------------------

    def speak(self, text: str) -> Any:
        """Say a rendered line: verbatim where a TTS, a text output or a realtime model
        that speaks given text (``supports_say``, e.g. a forced agent message) exists, through the
        realtime model otherwise."""
        session = self.require_session()
        model = session.current_agent.llm
        if isinstance(model, llm.RealtimeModel) and session.tts is None and not model.capabilities.supports_say:
            return session.generate_reply(instructions=f'Say exactly this and nothing else: "{text}"')
        return session.say(text)

    async def may_reply(self, chat_ctx: llm.ChatContext) -> bool:
        """False while the user is away and the words were side-talk."""
        allowed = await self._may_reply(chat_ctx)
        for callback in self.on_reply_judged:
            callback(allowed)
        return allowed

    async def _may_reply(self, chat_ctx: llm.ChatContext) -> bool:
        last = forgetting.last_exchanged(chat_ctx.items)
        if last is None or last.type != "message" or last.role != "user":
            return True  # a tool's reply: never held back
        await self.settle()  # a new user turn waits for a forget still being applied
        return self.away.allows_reply(last.text_content or "", turn=last.id)

    async def settle(self) -> None:
        """Wait until changes deferred past a reply have been applied."""
        await self._tasks.wait()

    # -- committing only what happened ---------------------------------------------------------

    def _one_change_at_a_time(self, what: str, *, hand_off: bool) -> None:
        """Refuse a change that cannot combine with one still being made: livekit applies
        no hand-off when one reply returns two, and an agent about to be replaced (or a
        fresh one carrying words still being forgotten) would lose it."""
        if self.hand_off is not None or (hand_off and self._forgets):
            busy = "a change to a fresh session" if self.hand_off is not None else "forgetting"
            raise ToolError(f"Another change ({busy}) is still being made; {what} did not happen. Ask again in a moment.")

    def _hand_off_for(self, fresh: ControlledAgent, planned_on: llm.ChatContext, commit: Callable[[], None]) -> HandOff:
        """``planned_on``: the context the change was planned on (a forget's forgotten part
        included, so it never comes along as a late turn)."""
        old = self._agent()

        def entered() -> None:
            commit()
            self._tasks.spawn(self.provider.release(old.llm, old.tts))  # the agent handed off from

        return HandOff(fresh, old, planned_on=planned_on, on_commit=entered)

    def _begin_hand_off(self, hand_off: HandOff, handle: Any = None) -> None:
        """The change commits when the fresh agent enters. ``handle``: the tool's reply,
        which livekit hands off after; when it is done and the fresh agent is not the
        session's, livekit dropped the hand-off (a barge-in, two in one reply)."""
        self.hand_off = hand_off

        def over(_: Any) -> None:
            if self.hand_off is hand_off:
                self.hand_off = None
            if not hand_off.result.result():
                logger.warning("the hand-off to a fresh session did not happen; nothing changed")
                self._tasks.spawn(self.provider.release(hand_off.fresh.llm, hand_off.fresh.tts))

        hand_off.result.add_done_callback(over)
        if handle is None:
            self.require_session().update_agent(hand_off.fresh)
            return
        session = self.require_session()
        handle.add_done_callback(lambda _: session.current_agent is hand_off.fresh or hand_off.settle(False))

    def _on_item_added(self, ev: Any) -> None:
        # livekit switches agents here, after the old one drained and before the fresh one
        # starts: the user's turns that reached the old agent since the plan come along
        item, hand_off = ev.item, self.hand_off
        if item.type != "agent_handoff" or hand_off is None or item.new_agent_id != hand_off.fresh.id:
            return
        if late := hand_off.late_turns():
            carried = hand_off.fresh.chat_ctx.copy()
            carried.items.extend(late)
            lk_private.set_chat_ctx_before_start(hand_off.fresh, carried)

    def _on_tools_executed(self, ev: Any) -> None:
        # a reply that hands off is answered by the fresh agent's line; the old session is
        # draining and never answers the other tools' outputs, so livekit must not wait for
        # it to (on a model that answers tool results itself it would wait 5 s for nothing)
        if ev.has_agent_handoff:
            ev.cancel_tool_reply()

    def entered(self, agent: ControlledAgent) -> None:
        """``agent`` became the session's agent: a hand-off to it commits."""
        if self.hand_off is not None and self.hand_off.fresh is agent:
            self.hand_off.settle(True)

    def _on_close(self, _: Any) -> None:
        if self.hand_off is not None:
            self.hand_off.settle(False)

    def _commit_persona(self, persona_id: str) -> None:
        self.persona_id = persona_id
        for callback in self.on_persona_changed:
            callback(persona_id)

    def _after(self, handle: Any, work: Any) -> None:
        """Run ``work`` (a coroutine) once the speech ``handle`` is done."""

        async def later() -> None:
            await aio.speech_done(handle)
            await work

        self._tasks.spawn(later())

    # -- forgetting -----------------------------------------------------------------------------

    async def _forget_after_reply(self, handle: Any, scope: str, call_id: str, about: str | None = None) -> None:
        # the acknowledgement is generated from the old context and the tool call
        # lands after it: edit once that speech is over
        await aio.speech_done(handle)
        if await self._forget_in_place(scope, call_id, _reply_ids(handle), about=about):
            self.speak(self.line("lines/forget_incomplete", scope=scope))

    async def _forget_in_place(
        self, scope: str, call_id: str | None, reply_ids: set[str], *, about: str | None = None
    ) -> list[str]:
        """Edit the context where it stands and scrub the history and report; the
        provider's refusals (empty: all of it went). One edit at a time, each planned on
        the context as it is when it applies (two forgets in one reply, or one that
        lands while another is being made, never write back an older copy)."""
        async with self._edits:
            try:
                forgotten, refusals = await self.strategy.apply_forget(self._agent(), scope, call_id, reply_ids, about=about)
            except Exception as e:  # never dropped: the words still leave the history and report
                forgotten, refusals = [], [str(e) or type(e).__name__]
            self._scrub_history(scope, call_id, reply_ids, also=forgotten, about=about)
        if refusals:
            logger.warning("the provider did not forget everything asked (%s): %s", scope, "; ".join(refusals))
        return refusals

    def _scrub_history(
        self, scope: str, call_id: str | None, reply_ids: set[str], also: list[llm.ChatItem] = (), *, about: str | None = None
    ) -> None:
        session = self.require_session()
        in_history = forgetting.items_to_forget(session.history.items, scope, call_id, reply_ids, about=about)
        gone = [*in_history, *also]
        ids = {it.id for it in gone}
        self.forgotten_ids |= ids
        self.away.forget_reason()
        session.history.items[:] = [it for it in session.history.items if it.id not in ids]
        call_ids = {c for it in gone if (c := getattr(it, "call_id", None))}
        lk_private.scrub_recorded_events(session, ids | call_ids, forgetting.spoken_texts(gone))
        logger.info("forgot %s (%d items)", scope, len(ids))

    # -- small helpers -------------------------------------------------------------------------

    def _hold_run_open(self, task: asyncio.Task[Any]) -> None:
        lk_private.hold_run_open(self.require_session(), task)

    def require_session(self) -> AgentSession:
        if self.session is None:
            raise RuntimeError("the controller is not attached to a session")
        return self.session

    def _agent(self) -> ControlledAgent:
        agent = self.require_session().current_agent
        assert isinstance(agent, ControlledAgent)
        return agent

    def _name(self) -> str:
        return self.library.persona(self.persona_id).name


@dataclass(frozen=True)
class _ForgetPlan:
    context: llm.ChatContext  # the agent's context it was planned on
    gone: list[llm.ChatItem]
    kept: llm.ChatContext
    line: str
    subject: str
    fence: set[str]  # the user's turns before the request: a later "last turn" forget stops there


def _to_user(about: str) -> str:
    """What the user said, as the agent says it back: "my card number" -> "your card number"."""
    swap = {"my": "your", "mine": "yours", "me": "you", "i": "you", "i'm": "you're", "myself": "yourself"}
    return " ".join(swap.get(w.lower(), w) for w in about.split())


def _numbered(numbers: list[int]) -> str:
    return str(numbers[0]) if len(numbers) == 1 else ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


def _reply_ids(handle: Any) -> set[str]:
    """The items a reply added so far (the tool call, its output, the acknowledgement)."""
    return {it.id for it in handle.chat_items}
