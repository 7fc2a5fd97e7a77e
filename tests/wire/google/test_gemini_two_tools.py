"""A Gemini reply that calls two tools, one of which hands off to a fresh session.

Where the 5 s go (livekit-agents 1.8.9, livekit-plugins-google 1.8.9, against the fake):

- the plugin answers both calls in ONE ``toolResponse`` carrying both ``functionResponses``
  (``RealtimeSession._sync_chat_ctx`` builds a single ``LiveClientToolResponse`` from every
  output, ``_send_task`` sends it with one ``send_tool_response``), as the Live API asks
  ("After receiving tool calls, the client should respond with a list of FunctionResponse
  objects", ai.google.dev/gemini-api/docs/live-api/tools); the fake answers that with one
  model turn, as BLOCKING calls do (``types.Behavior.BLOCKING``: "the system will wait to
  receive the function response before continuing the conversation");
- livekit runs both tools, emits ``function_tools_executed``, calls ``update_agent`` (the old
  activity starts draining: ``_scheduling_paused``), and, because one output of the reply has
  ``reply_required=True`` (``mark_user_away``'s text, or the ``ToolError`` of a refused second
  forget), installs an "auto tool reply" placeholder on the OLD activity with a 5 s timeout
  (voice/agent_activity.py, ``_realtime_generation_task_impl``);
- only that activity's ``_on_generation_created`` resolves it, for a generation that is not
  user-initiated while scheduling is not paused; but the draining activity skips every
  generation and detaches its listener (``_close_session``) right after the tool response went
  out, and the fresh activity's entry line is a user-initiated ``generate_reply``. Whatever the
  server sends, nothing resolves it: the run waits out the 5 s and logs "timed out waiting
  for realtime auto tool reply". The same happens when the server sends nothing at all.

So the stall is not the fake's: a reply that hands off must not ask livekit for an auto tool
reply. The controller cancels it (``FunctionToolsExecutedEvent.cancel_tool_reply``) for every
reply that hands off: the old session is drained and plays no reply; the fresh agent's entry
line answers. The user-state flicker has its own cause: the plugin reports
``input_speech_stopped`` at the end of every model turn and livekit turns that into
"listening"; the away hold now keeps "away" while it runs, before the state is emitted
(``lk_private.route_user_state``), instead of putting it back after the event went out.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest
from livekit.agents import Agent, RunContext, function_tool
from livekit.agents.llm import ToolResult
from livekit.plugins import google  # noqa: F401  (imported at collection, not inside a test)

from tests.compat import timeout
from tests.helpers import event_types, function_outputs, spoken, until

from ..support import controlled_session
from .fake_gemini import TEXT_MODEL, FakeGeminiLive, ToolCall
from .fixtures import gemini_env

STALL = "timed out waiting for realtime auto tool reply"
OLD_SESSION_REPLY = "(the old session answering its tool responses)"



def _stalls(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if STALL in r.getMessage()]


def _jitter(fake: FakeGeminiLive) -> None:
    """Small random delays in the model's replies: the faults these tests guard were races."""
    fake.pace, fake.response_delay = random.uniform(0, 0.01), random.uniform(0, 0.01)


async def _switch_and_away(fake: FakeGeminiLive, c: Any, *, run: bool = True) -> Any:
    """One reply that switches to the pirate and marks the user away: through ``session.run``
    (its RunResult returned), or ``generate_reply``, which has no run to hold open (so
    livekit installs no auto tool reply wait, and nothing stalls)."""
    fake.queue_reply(ToolCall("switch_persona", {"persona": "pirate"}), ToolCall("mark_user_away", {"minutes": 5}))
    fake.queue_text(OLD_SESSION_REPLY)  # Gemini answers the toolResponse on the old session
    fake.queue_text("Ahoy! Captain Reed here.")  # the fresh session's entry line
    user_input = "get me the pirate, and give me five minutes"
    if run:
        return await c.session.run(user_input=user_input)
    return c.session.generate_reply(user_input=user_input)


# ------------------------------------------------------------------------------------------
# the project: two tools in one reply that hands off
# ------------------------------------------------------------------------------------------


async def test_switch_and_away_in_one_reply_does_not_stall_the_run(
    trust_fake_gemini: FakeGeminiLive, caplog: pytest.LogCaptureFixture
) -> None:
    fake = trust_fake_gemini
    _jitter(fake)
    caplog.set_level(logging.WARNING, logger="livekit.agents")
    async with controlled_session("google", gemini_env(fake)) as c:
        first_agent = c.agent
        result = await _switch_and_away(fake, c)
        assert _stalls(caplog) == []
        await until(lambda: c.agent is not first_agent and c.agent.entered.is_set(), what="hand-off")
        switch_outputs, away_outputs = function_outputs(result, "switch_persona"), function_outputs(result, "mark_user_away")
        persona, away = c.ctl.persona_id, c.ctl.away.requested

    assert _stalls(caplog) == []
    assert event_types(result) == [
        "function_call", "function_call", "function_call_output", "function_call_output", "agent_handoff", "message",
    ]  # fmt: skip
    (switch,), (marked,) = switch_outputs, away_outputs
    assert not switch.is_error and switch.output.startswith("Switched: you are now Captain Reed.")
    assert not marked.is_error and "marked away" in marked.output
    assert spoken(result) == ["Ahoy! Captain Reed here."]  # the old session's answer is never played
    assert persona == "pirate" and away
    assert len(fake.connections) == 2


async def test_two_forgets_in_one_reply_do_not_stall_the_run(
    trust_fake_gemini: FakeGeminiLive, caplog: pytest.LogCaptureFixture
) -> None:
    fake = trust_fake_gemini
    _jitter(fake)
    caplog.set_level(logging.WARNING, logger="livekit.agents")
    async with controlled_session("google", gemini_env(fake)) as c:
        fake.queue_text("Nice.")
        await c.say("I like tea")
        fake.queue_text("Noted.")
        await c.say("my secret is 42")
        first_agent = c.agent
        fake.queue_reply(
            ToolCall("forget_conversation", {"scope": "last_turn"}),
            ToolCall("forget_conversation", {"scope": "everything"}),
        )
        fake.queue_text(OLD_SESSION_REPLY)
        fake.queue_text("Done, forgotten.")
        result = await c.session.run(user_input="forget what I just said, no, forget everything")
        assert _stalls(caplog) == []
        await until(lambda: c.agent is not first_agent and c.agent.entered.is_set(), what="hand-off")

    assert _stalls(caplog) == []
    assert event_types(result) == [
        "function_call", "function_call", "function_call_output", "function_call_output", "agent_handoff", "message",
    ]  # fmt: skip
    applied, refused = sorted(function_outputs(result, "forget_conversation"), key=lambda o: o.is_error)
    assert not applied.is_error and applied.output.startswith("Forgetting ")
    assert refused.is_error and "did not happen" in refused.output  # one change at a time
    assert spoken(result) == ["Done, forgotten."]
    assert len(fake.connections) == 2


async def test_the_user_stays_away_through_a_switch_and_away_hand_off(trust_fake_gemini: FakeGeminiLive) -> None:
    """The fresh session's entry line ends with the plugin's input_speech_stopped and livekit
    says "listening"; a listener used to see ["away", "listening", "away"]."""
    fake = trust_fake_gemini
    _jitter(fake)
    async with controlled_session("google", gemini_env(fake)) as c:
        states: list[str] = []
        c.session.on("user_state_changed", lambda ev: states.append(ev.new_state))
        first_agent = c.agent
        await _switch_and_away(fake, c, run=False)  # the state, apart from the stall above
        await until(lambda: c.agent is not first_agent and c.agent.entered.is_set(), what="hand-off")
        entry = c.agent.entry_speech
        await until(lambda: entry is not None and entry.done(), what="the entry line spoken")
        await fake.wait_idle()
        await until(lambda: c.session.user_state == "away", what="away again")
        hold_active = c.ctl.away.requested

    assert hold_active
    assert states == ["away"]


# ------------------------------------------------------------------------------------------
# what holds today
# ------------------------------------------------------------------------------------------


async def test_two_tools_in_one_reply_without_a_hand_off_do_not_stall(
    trust_fake_gemini: FakeGeminiLive, caplog: pytest.LogCaptureFixture
) -> None:
    """Two calls in one toolCall are not the trouble: answered in one toolResponse, the model's
    single follow-up turn resolves livekit's wait (switching to the persona already speaking
    changes nothing, so no hand-off)."""
    fake = trust_fake_gemini
    _jitter(fake)
    caplog.set_level(logging.WARNING, logger="livekit.agents")
    async with controlled_session("google", gemini_env(fake)) as c:
        fake.queue_reply(ToolCall("switch_persona", {"persona": "assistant"}), ToolCall("mark_user_away", {"minutes": 5}))
        fake.queue_text("Take your time.")
        result = await c.session.run(user_input="stay as you are, and give me five minutes")
        first = fake.connections[0]

    assert _stalls(caplog) == []
    assert event_types(result) == [
        "function_call", "function_call", "function_call_output", "function_call_output", "message",
    ]  # fmt: skip
    assert spoken(result) == ["Take your time."]
    assert len(fake.connections) == 1
    (response,) = first.tool_responses  # both answers in one message
    assert sorted(fr["name"] for fr in response["functionResponses"]) == ["mark_user_away", "switch_persona"]


async def test_a_hand_off_alone_does_not_stall(
    trust_fake_gemini: FakeGeminiLive, caplog: pytest.LogCaptureFixture
) -> None:
    """The hand-off's own output asks for no reply, so livekit waits for none."""
    fake = trust_fake_gemini
    _jitter(fake)
    caplog.set_level(logging.WARNING, logger="livekit.agents")
    async with controlled_session("google", gemini_env(fake)) as c:
        first_agent = c.agent
        fake.queue_function_call("switch_persona", {"persona": "pirate"})
        fake.queue_text(OLD_SESSION_REPLY)
        fake.queue_text("Ahoy! Captain Reed here.")
        result = await c.session.run(user_input="can I talk to the pirate?")
        await until(lambda: c.agent is not first_agent and c.agent.entered.is_set(), what="hand-off")

    assert _stalls(caplog) == []
    assert spoken(result) == ["Ahoy! Captain Reed here."]


# ------------------------------------------------------------------------------------------
# livekit 1.8.9 on its own (no project code): what the fix relies on
# ------------------------------------------------------------------------------------------


def _text_model(fake: FakeGeminiLive) -> Any:
    from google.genai.types import Modality

    return fake.realtime_model(model=TEXT_MODEL, modalities=[Modality.TEXT])


class _Bare(Agent):
    """A hand-off tool and a tool whose output asks (or not) for a reply."""

    def __init__(self, model: Any, fresh_model: Any, *, note_wants_reply: bool) -> None:
        super().__init__(instructions="bare", llm=model)
        self.fresh_model = fresh_model
        self.note_wants_reply = note_wants_reply

    @function_tool
    async def hand_off(self, context: RunContext) -> Any:
        """Hand off to a fresh agent."""
        return Agent(instructions="fresh", llm=self.fresh_model), ToolResult("handed off", reply_required=False)

    @function_tool
    async def note(self, context: RunContext) -> Any:
        """Take a note."""
        return ToolResult("noted", reply_required=self.note_wants_reply)


@pytest.mark.parametrize("note_wants_reply", [True, False], ids=["an-output-wants-a-reply", "no-output-wants-a-reply"])
async def test_livekit_waits_for_an_auto_tool_reply_a_hand_off_never_lets_through(
    fake_gemini: FakeGeminiLive, caplog: pytest.LogCaptureFixture, note_wants_reply: bool
) -> None:
    """Pins livekit-agents 1.8.9: in a reply that hands off on Gemini, any output with
    reply_required=True makes the run wait out the 5 s auto tool reply timeout; none does not.
    When an upgrade fixes the first case, the controller's cancel_tool_reply on hand-offs
    (SessionController._on_tools_executed) is no longer needed."""
    from livekit.agents import AgentSession

    fake = fake_gemini
    caplog.set_level(logging.WARNING, logger="livekit.agents")
    fake.queue_reply(ToolCall("hand_off"), ToolCall("note"))
    fake.queue_text(OLD_SESSION_REPLY)
    model, fresh_model = _text_model(fake), _text_model(fake)
    async with timeout(10.0):
        async with model, fresh_model, AgentSession() as session:
            await session.start(_Bare(model, fresh_model, note_wants_reply=note_wants_reply))
            result = await session.run(user_input="hand off and take a note")
            await fake.wait_for_connections(2)
    assert event_types(result) == [
        "function_call", "function_call", "function_call_output", "function_call_output", "agent_handoff",
    ]  # fmt: skip
    assert bool(_stalls(caplog)) is note_wants_reply
