"""Session control on Gemini Live (Gemini API), end to end and asserted on the wire.

The real SessionController, ControlledAgent and AgentSession drive the real
livekit-plugins-google RealtimeModel (built by agent/providers.py from environment
values; TLS trust through SSL_CERT_FILE) against the loopback fake.

On the Gemini API neither instructions nor removals take in place, so a switch and a
forget both hand off to a fresh session: a new connection without a resumption handle,
seeded with exactly the turns that survive.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from livekit.plugins import google  # noqa: F401  (imported at collection, not inside a test)

from tests.helpers import spoken, until

from ..support import WireLog, controlled_session, expected_instructions
from .fake_gemini import FakeGeminiLive
from .fixtures import gemini_env

RECONNECT = "after a short reconnect"
FORGOTTEN = ("secret", "42", "Noted", "forget what I just said")
OLD_SESSION_REPLY = "(the old session answering its tool response)"


def _all_text(conn: Any) -> str:
    return json.dumps(conn.client_contents)


def _tool_outputs(conn: Any) -> list[str]:
    return [fr["response"]["output"] for fr in conn.function_responses()]


async def _two_turns(server: FakeGeminiLive, c: Any) -> None:
    server.queue_text("Nice.")
    await c.say("I like tea")
    server.queue_text("Noted.")
    await c.say("my secret is 42")


# ------------------------------------------------------------------------------------------
# switch_persona
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("modalities", ["text", None], ids=["text", "audio"])
async def test_switch_opens_a_fresh_session_with_the_new_persona_and_the_old_turns(
    trust_fake_gemini: FakeGeminiLive, modalities: str | None
) -> None:
    fake = trust_fake_gemini
    log = WireLog(fake)
    async with controlled_session("google", gemini_env(fake, modalities=modalities)) as c:
        first_agent = c.agent
        await _two_turns(fake, c)
        first = fake.connections[0]
        assert first.issued_handles  # the old session could have been resumed

        fake.queue_function_call("switch_persona", {"persona": "pirate"})
        # Gemini answers every toolResponse; that reply goes to the old, draining session
        fake.queue_text(OLD_SESSION_REPLY)
        fake.queue_text("Ahoy! Captain Reed here.")  # the new session's first line
        result = await c.say("can I talk to the pirate?")
        output = result.expect.contains_function_call_output().event().item.output
        result.expect.contains_agent_handoff()
        spoken = [e.item.text_content for e in result.events if e.type == "message"]
        assert c.agent is not first_agent and c.agent.entered.is_set()
        second = await fake.wait_for_connections(2)
        await until(lambda: first.closed, what="old connection closed")
        sent_by_first = len(first.raw)

        fake.queue_text("Captain Reed, at yer service.")
        follow_up = await c.say("who are you?")
        follow_up.expect.contains_message(role="assistant")
        instructions = expected_instructions("google", "pirate")
        pirate = c.ctl.library.persona("pirate")
        history = [m.text_content for m in c.session.history.messages()]

    assert len(fake.connections) == 2  # one reconnect, and the follow-up did not add one
    # the new session is set up as the pirate: instructions and voice, from scratch
    assert second.system_instruction == instructions
    assert second.voice == pirate.voices["google"]
    assert second.response_modalities == first.response_modalities == (["TEXT"] if modalities else ["AUDIO"])
    assert second.resumption_requested and second.resumption_handle is None
    # ... and carries the old turns, but not the switch's own call, which has no answer there
    assert "switch_persona" not in json.dumps(second.client_contents)
    seed = second.client_contents[0]
    assert seed["turnComplete"] is False
    assert [(t["role"], t["parts"][0]["text"]) for t in seed["turns"]][:5] == [
        ("user", "I like tea"),
        ("model", "Nice."),
        ("user", "my secret is 42"),
        ("model", "Noted."),
        ("user", "can I talk to the pirate?"),
    ]
    # the pirate's line is asked for on the new connection, then the follow-up turn
    line = c.ctl.render("lines/switch", "pirate", previous={"id": "assistant", "name": "Alex"})
    assert line in json.dumps(second.client_contents[1])
    assert ("user", "who are you?") in second.turns()
    assert spoken == ["Ahoy! Captain Reed here."]

    # the old connection went quiet before the new one opened, and what it said after its
    # tool response was never played
    assert log.last_received(0) < log.opened(1)
    assert len(first.raw) == sent_by_first
    assert OLD_SESSION_REPLY not in history
    assert c.errors == []

    # honest: the model is told a reconnect happens
    assert _tool_outputs(first) == [output]
    assert RECONNECT in output


# ------------------------------------------------------------------------------------------
# forget_conversation
# ------------------------------------------------------------------------------------------


async def _forget(fake: FakeGeminiLive, c: Any, scope: str) -> tuple[Any, Any]:
    """Ask to forget; return the turn's RunResult and the fresh session's connection."""
    first_agent = c.agent
    fake.queue_function_call("forget_conversation", {"scope": scope})
    fake.queue_text("Done, forgotten.")
    run = await asyncio.wait_for(c.session.run(user_input="forget what I just said"), 3)
    second = await fake.wait_for_connections(2)
    await until(lambda: c.agent is not first_agent and c.agent.entered.is_set(), what="hand-off")
    return run, second


async def _fence(fake: FakeGeminiLive, c: Any) -> None:
    """A new user turn on the fresh session: whatever was seeded went out before it."""
    fake.queue_text("We just met.")
    c.session.generate_reply(user_input="what do you know about me?")
    await fake.wait_for(
        "clientContent",
        where=lambda m: "what do you know about me?" in json.dumps(m),
    )


async def test_forget_last_turn_reseeds_a_fresh_session_with_the_earlier_turns(
    trust_fake_gemini: FakeGeminiLive,
) -> None:
    fake = trust_fake_gemini
    log = WireLog(fake)
    async with controlled_session("google", gemini_env(fake)) as c:
        await _two_turns(fake, c)
        run, second = await _forget(fake, c, "last_turn")
        await _fence(fake, c)
        instructions = expected_instructions("google")
        context = [m.text_content for m in c.agent.chat_ctx.messages() if m.role != "system"]
        history = c.history_texts()
        report = repr([e.model_dump() for e in c.session._recorded_events])

    first = fake.connections[0]
    assert len(fake.connections) == 2  # one reconnect
    assert second.system_instruction == instructions  # the current persona's, in full
    assert second.resumption_requested and second.resumption_handle is None  # no old history
    seed = second.client_contents[0]
    assert seed["turnComplete"] is False
    assert [(t["role"], t["parts"][0]["text"]) for t in seed["turns"]] == [
        ("user", "I like tea"),
        ("model", "Nice."),
    ]
    assert not any(word in _all_text(second) for word in FORGOTTEN)
    assert context[:2] == ["I like tea", "Nice."] and not any(w in json.dumps(context) for w in FORGOTTEN)
    # the session's own record follows: the history and the report built from its events
    assert history[:2] == ["I like tea", "Nice."] and not any(w in json.dumps(history) for w in FORGOTTEN)
    assert "I like tea" in report and not any(w in report for w in ("my secret is 42", "Noted."))
    assert log.last_received(0) < log.opened(1)
    assert "the user's previous turn" in _tool_outputs(first)[0]


async def test_forget_everything_starts_a_fresh_session_with_no_turns(
    trust_fake_gemini: FakeGeminiLive,
) -> None:
    fake = trust_fake_gemini
    log = WireLog(fake)
    async with controlled_session("google", gemini_env(fake)) as c:
        await _two_turns(fake, c)
        run, second = await _forget(fake, c, "everything")
        await _fence(fake, c)
        instructions = expected_instructions("google")

    assert len(fake.connections) == 2
    assert second.system_instruction == instructions
    assert second.resumption_requested and second.resumption_handle is None
    # nothing was seeded: the fresh session was only asked for the acknowledgement, then the new user turn
    assert [role for role, _ in second.turns()][:1] == ["model"] and "forgotten" in second.turns()[0][1]
    # ("." is the plugin's placeholder that asks Gemini for a reply)
    assert [t for t in second.turns() if t[0] == "user" and t[1] != "."][0] == ("user", "what do you know about me?")
    assert not any(word in _all_text(second) for word in (*FORGOTTEN, "I like tea", "Nice."))
    assert log.last_received(0) < log.opened(1)


async def test_forget_about_reseeds_a_fresh_session_without_the_turns_that_mention_it(
    trust_fake_gemini: FakeGeminiLive,
) -> None:
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        await _two_turns(fake, c)
        fake.queue_text("Lovely.")
        await c.say("I live in Leeds")
        first_agent = c.agent
        fake.queue_function_call("forget_conversation", {"about": "my secret"})
        fake.queue_text("Done, forgotten.")
        await asyncio.wait_for(c.session.run(user_input="forget my secret"), 3)
        second = await fake.wait_for_connections(2)
        await until(lambda: c.agent is not first_agent and c.agent.entered.is_set(), what="hand-off")
        await _fence(fake, c)
        history = c.history_texts()
        report = repr([e.model_dump() for e in c.session._recorded_events])

    seed = second.client_contents[0]
    assert [(t["role"], t["parts"][0]["text"]) for t in seed["turns"]] == [
        ("user", "I like tea"), ("model", "Nice."), ("user", "I live in Leeds"), ("model", "Lovely."),
    ]  # fmt: skip
    # (the acknowledgement the fresh session is asked to say names the topic, not what was said)
    assert not any(word in _all_text(second) for word in ("my secret is", "42", "Noted"))
    assert history[:4] == ["I like tea", "Nice.", "I live in Leeds", "Lovely."]
    assert not any(w in json.dumps(history) for w in ("secret", "Noted"))
    assert "I live in Leeds" in report and not any(w in report for w in ("my secret is 42", "Noted."))
    assert 'about "my secret"' in _tool_outputs(fake.connections[0])[0]


async def test_forget_acknowledgement_is_spoken_once_by_the_fresh_session(
    trust_fake_gemini: FakeGeminiLive,
) -> None:
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        await _two_turns(fake, c)
        run, second = await _forget(fake, c, "last_turn")
        ack = c.ctl.render("lines/forget", scope="last_turn")
    assert len(spoken(run)) == 1  # one acknowledgement, not one from each session
    assert any(ack in text for _, text in second.turns())  # asked of the fresh session


async def test_forget_output_reports_the_reconnect(trust_fake_gemini: FakeGeminiLive) -> None:
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        await _two_turns(fake, c)
        await _forget(fake, c, "last_turn")
    assert len(fake.connections) == 2  # a reconnect did happen
    (output,) = _tool_outputs(fake.connections[0])
    assert "reconnect" in output
