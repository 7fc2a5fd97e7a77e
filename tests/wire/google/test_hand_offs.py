"""Hand-offs livekit does not apply change nothing, and the model hears the truth.

livekit 1.8.9 applies no hand-off when one reply returns two agents ("expected to
receive only one Agent from the tool executions", voice/agent_activity.py), and
answers "the agent handoff was interrupted and did not happen" when the user barges
in (voice/generation.py). The controller commits a change that needs a fresh session
only when that session's agent enters, so persona, instructions, history, report and
the attributes a frontend reads stay as they were. Real Google plugin against the
loopback Gemini fake, where every switch and forget is a hand-off.
"""

from __future__ import annotations

import json
from typing import Any

from livekit.plugins import google  # noqa: F401  (imported at collection, not inside a test)

from agent.worker import session_attributes

from tests.helpers import barge_in_once, function_outputs, until

from ..support import controlled_session
from .fake_gemini import FakeGeminiLive, ToolCall
from .fixtures import gemini_env

SECRET = "my secret is 42"


async def _secret_turn(fake: FakeGeminiLive, c: Any) -> None:
    fake.queue_text("Noted.")
    await c.say(SECRET)


async def test_two_hand_offs_in_one_reply_apply_one_and_refuse_the_other(trust_fake_gemini: FakeGeminiLive) -> None:
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        await _secret_turn(fake, c)
        first_agent = c.agent
        fake.queue_reply(ToolCall("switch_persona", {"persona": "pirate"}), ToolCall("forget_conversation", {"scope": "everything"}))
        fake.queue_text("(the old session answering its tool responses)")
        fake.queue_text("Ahoy! Captain Reed here.")
        result = await c.say("forget everything and get me the pirate")
        outputs = {o.name: o for o in function_outputs(result)}
        await until(lambda: c.agent is not first_agent and c.agent.entered.is_set(), what="hand-off")
        second = await fake.wait_for_connections(2)
        attributes = session_attributes(c.ctl, c.session)
        # the model handed off from is closed now, not at the end of the session
        await until(lambda: all(m is not first_agent.llm for m in c.ctl.provider.made), what="old model released")

    switch, forget = outputs["switch_persona"], outputs["forget_conversation"]
    # exactly one change was made, and it is the one the model was told about
    assert not switch.is_error and switch.output.startswith("Switched: you are now Captain Reed.")
    assert forget.is_error and "did not happen" in forget.output
    assert c.ctl.persona_id == "pirate" and attributes["agent.persona"] == "pirate"
    assert ("persona_changed", "pirate") in c.events
    assert second.system_instruction == c.agent.instructions
    # the refused forget left the words everywhere: nothing claims otherwise
    assert SECRET in json.dumps(second.client_contents)
    assert SECRET in c.history_texts()
    assert len(fake.connections) == 2


async def test_a_barge_in_during_a_hand_off_changes_nothing(trust_fake_gemini: FakeGeminiLive) -> None:
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        await _secret_turn(fake, c)
        first_agent, instructions = c.agent, c.agent.instructions
        made_before = list(c.ctl.provider.made)
        barge_in_once(c, "switch_persona")
        fake.queue_function_call("switch_persona", {"persona": "pirate"})
        fake.queue_text("(the model, after the interrupted tool call)")
        result = await c.say("can I talk to the pirate?")
        (output,) = function_outputs(result)
        await until(lambda: c.ctl.provider.made == made_before, what="the unused fresh model released")
        attributes = session_attributes(c.ctl, c.session)

    assert output.is_error and output.output == "the agent handoff was interrupted and did not happen"
    assert c.agent is first_agent and c.agent.instructions == instructions
    assert c.ctl.persona_id == "assistant" and attributes["agent.persona"] == "assistant"
    assert not [e for e in c.events if e[0] == "persona_changed"]
    assert len(fake.connections) == 1  # the fresh session never opened


async def test_a_forget_whose_hand_off_is_dropped_leaves_the_history_as_the_model_has_it(
    trust_fake_gemini: FakeGeminiLive,
) -> None:
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        fake.queue_text("Nice.")
        await c.say("I like tea")
        await _secret_turn(fake, c)
        barge_in_once(c, "forget")
        fake.queue_function_call("forget_conversation", {"scope": "last_turn"})
        fake.queue_text("(the model, after the interrupted tool call)")
        result = await c.say("forget what I just said")
        (output,) = function_outputs(result)

    assert output.is_error and "did not happen" in output.output
    # the model still has the words (one session, never reseeded), and so do the history and report
    assert len(fake.connections) == 1
    assert SECRET in c.history_texts()
    assert SECRET in repr([e.model_dump() for e in c.session._recorded_events])
