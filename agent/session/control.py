"""The session controller: carries out what the tools ask, and keeps the state
(persona, away hold) that must survive a hand-off to a fresh realtime session."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from livekit.agents import AgentSession, RunContext, llm
from livekit.agents.llm import ToolError

import prompts
from tools import Outcome, PersonaChoice, about_minutes

from . import forgetting, lk_private
from .away import AwayHold, AwayPolicy
from .direct import DirectChanges
from .model_source import ModelSource, Understanding
from .session_agent import SessionAgent
from .strategies import Applied, strategy_for

logger = logging.getLogger("agent")


class SessionController(DirectChanges):
    def __init__(
        self,
        library: prompts.PromptLibrary,
        provider: ModelSource,
        *,
        persona: str = "assistant",
        user_name: str | None = None,
        language: str = "en",
        away: AwayPolicy | None = None,
    ) -> None:
        self.library = library
        self.provider = provider
        self.persona_id = library.persona(persona).id
        self.user_name = user_name
        self.language = language
        self.away = AwayHold(self, away or AwayPolicy())
        self.session: AgentSession | None = None
        self.on_persona_changed: list[Callable[[str], None]] = []
        self.on_reply_judged: list[Callable[[bool], None]] = []  # after each may_reply decision
        self._pending: set[asyncio.Task[Any]] = set()  # deferred edits, releases
        self.forgotten_ids: set[str] = set()  # every item forgotten so far
        self._forgets: set[asyncio.Task[Any]] = set()  # forgets waiting for their acknowledgement
        self._before_last_forget: set[str] = set()  # user turns said before the last forget request
        self._changing = asyncio.Lock()  # tools of one reply run concurrently: one change at a time
        self._direct = asyncio.Lock()  # direct changes (a frontend's): one at a time, start to end
        self._hand_off_moved = asyncio.Event()  # set (and replaced) whenever _hand_off changes
        self._hand_off: SessionAgent | None = None  # returned to livekit, not entered yet
        self._active: SessionAgent | None = None  # the agent that entered last
        self._render_faults: set[str] = set()  # lines that failed to render, logged once each
        self.behaviour = provider.behaviour
        self.strategy = strategy_for(provider, self.behaviour)

    # -- building agents and rendering ------------------------------------------------

    def variables(self, persona_id: str | None = None, **extra: Any) -> dict[str, Any]:
        return prompts.standard_variables(
            self.library.persona(persona_id or self.persona_id),
            user_name=self.user_name,
            language=self.language,
            capabilities=self.behaviour.as_template_variables(),
            away=self.away.active,
        ) | extra

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

    def router(self) -> Understanding:
        return self.provider.understanding(self.library)

    def persona_choices(self) -> list[PersonaChoice]:
        return [PersonaChoice(p.id, p.name, p.description) for p in self.library.personas().values()]

    def new_agent(self, *, persona_id: str | None = None, chat_ctx: llm.ChatContext | None = None, entry_line: str = "") -> SessionAgent:
        persona = self.library.persona(persona_id or self.persona_id)
        return SessionAgent(
            self,
            persona_id=persona.id,
            instructions=self.instructions(persona.id),
            model=self.provider.model_for(persona.voices, hooks=self),
            tts=self.provider.tts_for(persona.voices),
            chat_ctx=chat_ctx,
            entry_line=entry_line,
            voice=persona.voices.get(self.provider.voice_key),
        )

    def first_agent(self, *, greet: bool = True) -> SessionAgent:
        return self.new_agent(entry_line=self.library.persona(self.persona_id).greeting if greet else "")

    def attach(self, session: AgentSession) -> None:
        self.session = session
        self.away.attach(session, realtime=self.provider.realtime)

    # -- the tools' side -----------------------------------------------------------------

    async def switch_persona(self, persona: str, ctx: RunContext) -> Outcome:
        async with self._changing:
            target, instructions, line = self._switch_target(persona)
            if target.id == self.persona_id:
                return Outcome("unchanged", target.name, say=self.line("lines/already_persona"))
            self._one_change_at_a_time(f"the switch to {target.name}", hand_off=True)
            agent = self._agent()
            carried = forgetting.without_call(agent.chat_ctx, ctx.function_call.call_id)
            old_tts = agent.tts
            applied = await self._apply_switch(agent, target, instructions, line, carried)
            if applied.handoff is not None:
                self._expect_hand_off(applied.handoff, ctx.speech_handle)
            else:
                agent.persona_id = target.id
                self._commit_persona(target.id)
                if agent.tts is not old_tts:
                    self._after(ctx.speech_handle, self.provider.release(old_tts))
            return Outcome("switched", target.name, say="" if applied.handoff else line, notes=applied.notes, handoff=applied.handoff)

    async def forget(self, scope: str, ctx: RunContext, about: str | None = None) -> Outcome:
        async with self._changing:
            call_id, context = ctx.function_call.call_id, self._agent().chat_ctx
            reply_ids = _reply_ids(ctx.speech_handle)
            about = about if about and forgetting.topic_words(about) else None
            if about:
                planned = forgetting.items_to_forget(context.items, scope, call_id, reply_ids, about=about)
                if not planned:
                    return Outcome("nothing_about", about, say=self.line("lines/forget_no_match", about=_to_user(about)))
            elif scope == "last_turn":
                previous = forgetting.previous_turn(context.items, call_id, reply_ids)
                # never past an earlier forget: the turn before was that request, already gone
                if previous is None or previous.id in self._before_last_forget:
                    return Outcome("nothing_to_forget", say=self.line("lines/nothing_to_forget"))
            line = self.line("lines/forget", scope=scope, about=_to_user(about) if about else None)
            gone = forgetting.items_to_forget(context.items, scope, call_id, reply_ids, about=about)
            kept = forgetting.without(context, gone)
            self._one_change_at_a_time("forgetting", hand_off=self.strategy.forget_hands_off)
            applied = self.strategy.forget(self, kept, line)
            in_place = applied.handoff is None
            fence = {it.id for it in forgetting.earlier_turns(context.items, call_id, reply_ids)}
            if not in_place:
                # the fresh session starts without the forgotten part; the history follows
                # once the hand-off really happened
                def entered() -> None:
                    self._before_last_forget = fence
                    self._scrub_history(scope, call_id, _reply_ids(ctx.speech_handle), about=about)

                applied.handoff.on_entered = entered
                self._expect_hand_off(applied.handoff, ctx.speech_handle)
            else:
                self._before_last_forget = fence
                task = asyncio.create_task(self._forget_after_reply(ctx.speech_handle, scope, call_id, about))
                self._forgets.add(task)
                task.add_done_callback(self._forgets.discard)
                self._track(task)
            if about:
                earlier = forgetting.earlier_turns(context.items, call_id, reply_ids)
                gone_ids = {it.id for it in gone}
                numbers = [n for n, it in enumerate(earlier, 1) if it.id in gone_ids]
                turns = f"turn{'s' if len(numbers) > 1 else ''} {_numbered(numbers)} of {len(earlier)}"
                subject = f'what the user said about "{about}" (their {turns}), your replies to it, and this request'
            else:
                subject = "the whole conversation" if scope == "everything" else "the user's previous turn and your reply"
            return Outcome("forgotten", subject, say=line if in_place else "", notes=applied.notes, handoff=applied.handoff)

    async def mark_away(self, reason: str | None, minutes: float | None, ctx: RunContext) -> Outcome:
        already = self.away.requested
        self.away.start(requested=True, minutes=minutes, call_id=ctx.function_call.call_id)
        subject = about_minutes(minutes or self.away.policy.default_hold_minutes)
        if already:
            return Outcome("already_away", subject)
        return Outcome("away", subject, say=self.line("lines/away_ack", minutes=minutes))

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
        self, agent: SessionAgent, target: prompts.Persona, instructions: str, line: str, carried: llm.ChatContext
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
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    # -- committing only what happened ---------------------------------------------------------

    def _one_change_at_a_time(self, what: str, *, hand_off: bool) -> None:
        """Refuse a change that cannot combine with one still being made: livekit applies
        no hand-off when one reply returns two, and an agent about to be replaced (or a
        fresh one carrying words still being forgotten) would lose it."""
        if self._hand_off is not None or (hand_off and self._forgets):
            busy = "a change to a fresh session" if self._hand_off is not None else "forgetting"
            raise ToolError(f"Another change ({busy}) is still being made; {what} did not happen. Ask again in a moment.")

    def _expect_hand_off(self, fresh: SessionAgent, handle: Any) -> None:
        """The change commits when ``fresh`` enters (``entered``); livekit may drop the
        hand-off (a barge-in, two in one reply), and then nothing changed."""
        self._hand_off = fresh

        def done(_: Any) -> None:
            if self._hand_off is fresh and self.require_session().current_agent is not fresh:
                self._hand_off = None
                logger.warning("the hand-off to a fresh session did not happen; nothing changed")
                self._track(asyncio.create_task(self.provider.release(fresh.llm, fresh.tts)))

        handle.add_done_callback(done)

    def entered(self, agent: SessionAgent) -> None:
        """``agent`` became the session's agent: commit what it carries, close what the
        agent before it used."""
        if self._hand_off is agent:
            self._hand_off = None
        previous, self._active = self._active, agent
        if agent.persona_id != self.persona_id:
            self._commit_persona(agent.persona_id)
        if agent.on_entered is not None:
            agent.on_entered()
        if previous is not None and previous is not agent:
            self._track(asyncio.create_task(self.provider.release(previous.llm, previous.tts)))

    def _commit_persona(self, persona_id: str) -> None:
        self.persona_id = persona_id
        for callback in self.on_persona_changed:
            callback(persona_id)

    def _after(self, handle: Any, work: Any) -> None:
        """Run ``work`` (a coroutine) once the speech ``handle`` is done."""

        async def later() -> None:
            await _speech_done(handle)
            await work

        self._track(asyncio.create_task(later()))

    # -- forgetting -----------------------------------------------------------------------------

    async def _forget_after_reply(self, handle: Any, scope: str, call_id: str, about: str | None = None) -> None:
        # the acknowledgement is generated from the old context and the tool call
        # lands after it: edit once that speech is over
        await _speech_done(handle)
        if await self._forget_in_place(scope, call_id, _reply_ids(handle), about=about):
            self.speak(self.line("lines/forget_incomplete", scope=scope))

    async def _forget_in_place(
        self, scope: str, call_id: str | None, reply_ids: set[str], *, about: str | None = None
    ) -> list[str]:
        """Edit the context where it stands and scrub the history and report; the
        provider's refusals (empty: all of it went)."""
        try:
            forgotten, refusals = await self.strategy.apply_forget(self._agent(), scope, call_id, reply_ids, about=about)
        except Exception as e:  # never dropped: the words still leave the history and report
            forgotten, refusals = [], [str(e) or type(e).__name__]
        self._scrub_history(scope, call_id, reply_ids, also=forgotten, about=about)
        if refusals:
            logger.warning("the provider did not forget everything asked (%s): %s", scope, "; ".join(refusals))
        return refusals

    def _scrub_history(
        self, scope: str, call_id: str, reply_ids: set[str], also: list[llm.ChatItem] = (), *, about: str | None = None
    ) -> None:
        session = self.require_session()
        in_history = forgetting.items_to_forget(session.history.items, scope, call_id, reply_ids, about=about)
        gone = [*in_history, *also]
        ids = {it.id for it in gone}
        self.forgotten_ids |= ids
        session.history.items[:] = [it for it in session.history.items if it.id not in ids]
        call_ids = {c for it in gone if (c := getattr(it, "call_id", None))}
        lk_private.scrub_recorded_events(session, ids | call_ids, forgetting.spoken_texts(gone))
        logger.info("forgot %s (%d items)", scope, len(ids))

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._pending.add(task)
        task.add_done_callback(self._finished)
        lk_private.hold_run_open(self.require_session(), task)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and (e := task.exception()) is not None:
            logger.warning("a deferred session change failed: %s", e, exc_info=e)

    # -- small helpers -------------------------------------------------------------------------

    def require_session(self) -> AgentSession:
        if self.session is None:
            raise RuntimeError("the controller is not attached to a session")
        return self.session

    def _agent(self) -> SessionAgent:
        agent = self.require_session().current_agent
        assert isinstance(agent, SessionAgent)
        return agent

    def _name(self) -> str:
        return self.library.persona(self.persona_id).name


async def _speech_done(handle: Any) -> None:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    handle.add_done_callback(lambda _: done.done() or done.set_result(None))
    await done


def _to_user(about: str) -> str:
    """What the user said, as the agent says it back: "my card number" -> "your card number"."""
    swap = {"my": "your", "mine": "yours", "me": "you", "i": "you", "i'm": "you're", "myself": "yourself"}
    return " ".join(swap.get(w.lower(), w) for w in about.split())


def _numbered(numbers: list[int]) -> str:
    return str(numbers[0]) if len(numbers) == 1 else ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


def _reply_ids(handle: Any) -> set[str]:
    """The items a reply added so far (the tool call, its output, the acknowledgement)."""
    return {it.id for it in handle.chat_items}
