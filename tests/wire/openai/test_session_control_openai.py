"""Session control on OpenAI Realtime, end to end and asserted on the wire.

The real SessionController, ControlledAgent and AgentSession drive the real
livekit-plugins-openai RealtimeModel (built by agent/providers.py from environment
values) against the loopback fake; the fake is scripted to answer the user's turn
with the tool call, and the assertions are on what the fake server received.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import livekit.plugins.openai  # noqa: F401  (imported at collection: 2-3 s, not inside a test)

from tests.helpers import until

from ..support import WireLog, controlled_session, expected_instructions, expected_line
from .fake_openai import FakeOpenAIRealtime
from .fixtures import openai_env

RECONNECT = "after a short reconnect"


def _voice(update: dict[str, Any]) -> str | None:
    return ((update["session"].get("audio") or {}).get("output") or {}).get("voice")


def _voices_sent(conn: Any) -> list[str]:
    return [v for e in conn.events("session.update") if (v := _voice(e)) is not None]


def _initial_session(conn: Any) -> dict[str, Any]:
    """The session as configured by the session.updates sent before anything else."""
    merged: dict[str, Any] = {}
    for ev in conn.received:
        if ev["type"] != "session.update":
            break
        for k, v in ev["session"].items():
            if isinstance(v, dict) and isinstance(merged.get(k), dict):
                merged[k] = {**merged[k], **v}
            else:
                merged[k] = v
    return merged


def _tool_outputs(conn: Any) -> list[str]:
    return [
        e["item"]["output"]
        for e in conn.events("conversation.item.create")
        if e["item"]["type"] == "function_call_output"
    ]


def _cannot_update_voice(server: FakeOpenAIRealtime) -> list[dict[str, Any]]:
    return [e for e in server.sent_events("error") if e["error"]["code"] == "cannot_update_voice"]


async def _switch_to_pirate(server: FakeOpenAIRealtime, c: Any, reply: str = "Arr.") -> Any:
    server.queue_function_call("switch_persona", {"persona": "pirate"})
    server.queue_text(reply)
    result = await c.say("can I talk to the pirate?")
    result.expect.contains_function_call(name="switch_persona", arguments={"persona": "pirate"})
    return result


# ------------------------------------------------------------------------------------------
# switch_persona
# ------------------------------------------------------------------------------------------


async def test_switch_in_text_mode_is_applied_in_place(fake_openai: FakeOpenAIRealtime) -> None:
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        await c.say("hi")
        pirate_voice = c.ctl.library.persona("pirate").voices["openai"]
        result = await _switch_to_pirate(fake_openai, c, reply="Arr, Captain Reed here.")
        output = result.expect.contains_function_call_output().event().item.output
        spoken = [e.item.text_content for e in result.events if e.type == "message"]
        instructions = expected_instructions("openai", "pirate")

    (conn,) = fake_openai.connections  # no reconnect
    # the rendered persona instructions went out in a session.update ...
    assert [e for e in conn.events("session.update") if e["session"].get("instructions") == instructions]
    assert conn.instructions == instructions
    # ... and so did the pirate's voice: text output has no audio, so the change is legal
    assert _voices_sent(conn)[-1] == pirate_voice and conn.voice == pirate_voice
    assert fake_openai.sent_events("error") == [] and c.errors == []
    # honest: the model is told it switched, and nothing about a reconnect
    assert _tool_outputs(conn) == [output]
    assert output.startswith("Switched: you are now Captain Reed.") and RECONNECT not in output
    assert c.ctl.render("lines/switch", "pirate", previous={"id": "assistant", "name": "Alex"}) in output
    assert spoken == ["Arr, Captain Reed here."]
    # the follow-up reply was asked for on the same connection, after the update
    assert conn.received[-1]["type"] == "response.create"


async def test_switch_before_any_audio_changes_the_voice_in_place(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    async with controlled_session("openai", openai_env(fake_openai)) as c:  # audio output
        assert c.agent.llm.capabilities.audio_output
        pirate_voice = c.ctl.library.persona("pirate").voices["openai"]
        result = await _switch_to_pirate(fake_openai, c)  # the first turn: no audio yet
        output = result.expect.contains_function_call_output().event().item.output
        instructions = expected_instructions("openai", "pirate")
        # the tool's follow-up reply is spoken in the new voice: audio from here on
        await until(lambda: fake_openai.last.audio_produced, what="audio reply")

    (conn,) = fake_openai.connections
    assert _voices_sent(conn) == [c.ctl.library.persona("assistant").voices["openai"], pirate_voice]
    assert conn.voice == pirate_voice and conn.instructions == instructions
    assert _cannot_update_voice(fake_openai) == [] and c.errors == []
    assert RECONNECT not in output


async def test_switch_after_audio_hands_off_to_a_new_connection(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    log = WireLog(fake_openai)
    async with controlled_session("openai", openai_env(fake_openai)) as c:
        first_agent = c.agent
        await c.say("hi")  # answered with audio: this connection's voice is now fixed
        first = fake_openai.connections[0]
        assert first.audio_produced
        old_voice = first.voice

        fake_openai.queue_function_call("switch_persona", {"persona": "pirate"})
        fake_openai.queue_text("Ahoy! Captain Reed here.")  # the new session's first line
        result = await c.say("can I talk to the pirate?")
        result.expect.contains_function_call(name="switch_persona")
        output = result.expect.contains_function_call_output().event().item.output
        result.expect.contains_agent_handoff()
        assert c.agent is not first_agent and c.agent.entered.is_set()
        second = await fake_openai.wait_for_connections(2)
        await until(lambda: first.closed, what="old connection closed")
        sent_by_first = len(first.received)

        # the new session carries the conversation on
        result = await c.say("who are you?")
        result.expect.contains_message(role="assistant")
        instructions = expected_instructions("openai", "pirate")
        pirate = c.ctl.library.persona("pirate")

    # exactly one reconnect, and the new session answered the follow-up
    assert len(fake_openai.connections) == 2
    assert [e["type"] for e in second.received].count("response.create") == 2  # line + follow-up

    # the new connection is configured, before anything else, with the new voice and instructions
    initial = _initial_session(second)
    assert initial["audio"]["output"]["voice"] == pirate.voices["openai"]
    assert initial["instructions"] == instructions
    assert set(_voices_sent(second)) == {pirate.voices["openai"]}
    # the conversation came along
    created = [e["item"] for e in second.events("conversation.item.create")]
    texts = [c_["text"] for it in created if it["type"] == "message" for c_ in it["content"]]
    assert "hi" in texts and "can I talk to the pirate?" in texts
    # ... but not the switch's own call, which has no output there
    assert not [it for it in created if it["type"].startswith("function_call")]
    # the pirate's line is asked for on the new connection
    line = expected_line("lines/switch", "pirate", previous={"id": "assistant", "name": "Alex"})
    first_response = second.events("response.create")[0]["response"]
    assert line in (first_response.get("instructions") or "")

    # the old voice was never touched on the old connection: no cannot_update_voice provoked
    assert _voices_sent(first) == [old_voice]
    assert _cannot_update_voice(fake_openai) == [] and fake_openai.sent_events("error") == []
    assert c.errors == []

    # the old connection fell silent before the new one opened, and stayed silent
    assert log.last_received(0) < log.opened(1)
    assert len(first.received) == sent_by_first

    # honest: the model is told a reconnect happens
    assert RECONNECT in output
    assert _tool_outputs(first) == [output]


# ------------------------------------------------------------------------------------------
# forget_conversation
# ------------------------------------------------------------------------------------------


def _server_items_in_order(conn: Any) -> list[dict[str, Any]]:
    """Every item the server ever held, in insertion order, with its final content."""
    order: list[str] = []
    final: dict[str, dict[str, Any]] = {}
    for ev in conn.sent:
        if ev["type"] in ("conversation.item.added", "conversation.item.done"):
            item = ev["item"]
            if item["id"] not in final:
                order.append(item["id"])
            final[item["id"]] = item
    return [final[i] for i in order]


def _text(item: dict[str, Any]) -> str:
    return json.dumps(item.get("content") or item.get("output") or item.get("arguments") or "")


async def _three_turns_then_forget(server: FakeOpenAIRealtime, c: Any, scope: str) -> Any:
    server.queue_text("Nice.")
    await c.say("I like tea")
    server.queue_text("Noted.")
    await c.say("my secret is 42")
    server.queue_function_call("forget_conversation", {"scope": scope})
    server.queue_text("Done, forgotten.")
    return await c.say("forget what I just said")


async def test_forget_last_turn_deletes_exactly_the_forgotten_items(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        result = await _three_turns_then_forget(fake_openai, c, "last_turn")
        output = result.expect.contains_function_call_output().event().item.output
        spoken = [e.item.text_content for e in result.events if e.type == "message"]
        conn = fake_openai.last
        await until(lambda: conn.sent_events("conversation.item.deleted"), what="deletions")
        kept_after_forget = conn.item_ids()

        server_items = _server_items_in_order(conn)
        ids = [it["id"] for it in server_items]
        secret_at = next(i for i, it in enumerate(server_items) if "my secret is 42" in _text(it))
        kept, forgotten = ids[:secret_at], ids[secret_at:]

        # the next turn still works, and goes after a kept item
        fake_openai.queue_text("You like tea.")
        await c.say("what do you know about me?")
        follow_up = conn.events("conversation.item.create")[-1]

    assert len(fake_openai.connections) == 1
    # the previous turn, its reply, the request, the call, its output and the acknowledgement
    assert [json.loads(_text(it)) for it in server_items[secret_at:] if it["type"] == "message"] == [
        [{"type": "input_text", "text": "my secret is 42"}],
        [{"type": "output_text", "text": "Noted."}],
        [{"type": "input_text", "text": "forget what I just said"}],
        [{"type": "output_text", "text": "Done, forgotten."}],
    ]
    assert {it["type"] for it in server_items[secret_at:]} == {"message", "function_call", "function_call_output"}
    deleted = [e["item_id"] for e in conn.events("conversation.item.delete")]
    assert sorted(deleted) == sorted(forgotten)  # one delete per forgotten item, nothing else
    assert kept_after_forget == kept and len(kept) == 2  # "I like tea" and "Nice." remain
    # (item texts only: a random item id may well contain "42")
    assert not any(word in _text(it) for it in conn.items for word in ("42", "secret", "Noted", "forget what"))
    assert fake_openai.sent_events("error") == [] and c.errors == []
    assert follow_up["previous_item_id"] in kept
    assert spoken == ["Done, forgotten."]
    assert RECONNECT not in output and "reconnect" not in " ".join(spoken)


async def test_forget_everything_deletes_every_item(fake_openai: FakeOpenAIRealtime) -> None:
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        result = await _three_turns_then_forget(fake_openai, c, "everything")
        output = result.expect.contains_function_call_output().event().item.output
        conn = fake_openai.last
        all_ids = [it["id"] for it in _server_items_in_order(conn)]
        await until(
            lambda: len(conn.sent_events("conversation.item.deleted")) >= len(all_ids),
            what="deletions",
        )
        assert conn.items == []
        instructions = expected_instructions("openai")

        fake_openai.queue_text("We just met.")
        await c.say("what do you know about me?")

    assert len(fake_openai.connections) == 1
    deleted = [e["item_id"] for e in conn.events("conversation.item.delete")]
    assert sorted(deleted) == sorted(all_ids) and len(all_ids) == 8
    # only the new turn is on the server now; the instructions were left alone
    assert [it.get("role") for it in conn.items] == ["user", "assistant"]
    assert not any("42" in _text(it) for it in conn.items)
    assert conn.instructions == instructions
    assert fake_openai.sent_events("error") == [] and c.errors == []
    assert "the whole conversation" in output and RECONNECT not in output


async def test_forget_about_deletes_the_turns_that_mention_it_and_nothing_else(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        fake_openai.queue_text("Nice.")
        await c.say("I like tea")
        fake_openai.queue_text("Noted.")
        await c.say("my secret is 42")
        fake_openai.queue_text("Lovely.")
        await c.say("I live in Leeds")
        fake_openai.queue_function_call("forget_conversation", {"about": "my secret"})
        fake_openai.queue_text("Done, forgotten.")
        result = await c.say("forget my secret")
        output = result.expect.contains_function_call_output().event().item.output
        conn = fake_openai.last
        server_items = _server_items_in_order(conn)
        secret_at = next(i for i, it in enumerate(server_items) if "my secret is 42" in _text(it))
        request_at = next(i for i, it in enumerate(server_items) if "forget my secret" in _text(it))
        forgotten = {it["id"] for it in server_items[secret_at : secret_at + 2] + server_items[request_at:]}
        await until(lambda: len(conn.sent_events("conversation.item.deleted")) >= len(forgotten), what="deletions")
        history = c.history_texts()

    deleted = [e["item_id"] for e in conn.events("conversation.item.delete")]
    assert sorted(deleted) == sorted(forgotten) and len(forgotten) == 6  # the turn, its reply, request, call, output, ack
    kept = [json.loads(_text(it))[0]["text"] for it in conn.items if it["type"] == "message"]
    assert kept == ["I like tea", "Nice.", "I live in Leeds", "Lovely."]
    assert history == kept
    assert 'about "my secret" (their turn 2 of 3)' in output
    assert fake_openai.sent_events("error") == [] and c.errors == []


async def test_a_refused_voice_change_falls_back_to_one_reconnect(
    fake_openai: FakeOpenAIRealtime,
) -> None:
    """The safety net: should the agent miss that audio was produced (its has_spoken flag,
    set from the plugin's audio events, is cleared here to simulate that), the service's
    cannot_update_voice error moves the persona to a fresh session: still one reconnect."""
    async with controlled_session("openai", openai_env(fake_openai)) as c:
        await c.say("hi")
        assert fake_openai.last.audio_produced
        c.agent.has_spoken = False
        await _switch_to_pirate(fake_openai, c)
        second = await fake_openai.wait_for_connections(2)
        await until(lambda: c.agent.entered.is_set(), what="hand-off")
        result = await c.say("who are you?")
        result.expect.contains_message(role="assistant")
        pirate = c.ctl.library.persona("pirate")
        instructions = expected_instructions("openai", "pirate")

    assert len(fake_openai.connections) == 2
    assert [e["error"]["code"] for e in fake_openai.sent_events("error")] == ["cannot_update_voice"]
    initial = _initial_session(second)
    assert initial["audio"]["output"]["voice"] == pirate.voices["openai"]
    assert initial["instructions"] == instructions
    assert second.events("response.create")  # the follow-up was answered by the new session


async def test_a_refused_delete_is_reported_and_the_history_still_scrubbed(
    fake_openai: FakeOpenAIRealtime, caplog: pytest.LogCaptureFixture
) -> None:
    """The service no longer has one of the items to forget (say it dropped it), so it
    answers that delete with item_delete_invalid_item_id. The forget is not stalled nor
    silently half done: the words leave the history and the report, a warning is logged,
    and the agent corrects its acknowledgement with lines/forget_incomplete."""
    correction = expected_line("lines/forget_incomplete", scope="last_turn")
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        fake_openai.queue_text("Nice.")
        await c.say("I like tea")
        fake_openai.queue_text("Noted.")
        await c.say("my secret is 42")
        conn = fake_openai.last
        secret_item = next(it for it in conn.items if "my secret is 42" in _text(it))
        conn.items.remove(secret_item)  # gone on the server, still in the plugin's copy
        fake_openai.queue_function_call("forget_conversation", {"scope": "last_turn"})
        fake_openai.queue_text("Done, forgotten.")
        fake_openai.queue_text(correction)
        await c.say("forget what I just said")
        await until(lambda: correction in c.history_texts(), what="the correction")
        # not stalled: the refusal names the plugin's delete, so its own wait ended with it
        plugin_waits = [t for t in asyncio.all_tasks() if "update_chat_ctx" in repr(t.get_coro())]
        report = repr([e.model_dump() for e in c.session._recorded_events])
        history = c.history_texts()

    errors = [e["error"]["code"] for e in fake_openai.sent_events("error")]
    assert errors == ["item_delete_invalid_item_id"]
    # the refusal names the plugin's delete request (chat_ctx_delete_…)
    assert fake_openai.sent_events("error")[0]["error"]["event_id"] in {e["event_id"] for e in conn.events("conversation.item.delete")}
    assert not [t for t in plugin_waits if not t.done()]
    assert "my secret is 42" not in history and "Noted." not in history
    assert "my secret is 42" not in report
    assert history[:2] == ["I like tea", "Nice."]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and r.name == "agent"]
    assert any("did not forget everything" in w and "item_delete_invalid_item_id" in w for w in warnings)
    # the model was asked to say the correction, word for word
    assert correction in json.dumps(conn.events("response.create")[-1])


async def test_a_refused_session_update_leaves_everything_as_it_was(fake_openai: FakeOpenAIRealtime) -> None:
    """The service refuses the switch's session.update (an error event naming it,
    no session.updated): the old instructions stay in effect, the tool does not say
    "Switched", and nothing that a frontend or the model reads has changed."""
    async with controlled_session("openai", openai_env(fake_openai, modalities="text")) as c:
        await c.say("hi")
        before = c.agent.instructions
        fake_openai.refuse_next_session_update(code="invalid_value", message="Invalid value for instructions.")
        fake_openai.queue_function_call("switch_persona", {"persona": "pirate"})
        fake_openai.queue_text("Sorry, I can't switch right now.")
        result = await c.say("can I talk to the pirate?")
        output = result.expect.contains_function_call_output().event().item
        instructions_after = c.agent.instructions
        await fake_openai.wait_for("session.update", count=len(fake_openai.events("session.update")))

    (conn,) = fake_openai.connections
    assert [e["error"]["code"] for e in conn.sent_events("error")] == ["invalid_value"]
    assert output.is_error and "refused" in output.output and "nothing changed" in output.output
    assert "Switched" not in output.output
    assert c.ctl.persona_id == "assistant" and not [e for e in c.events if e[0] == "persona_changed"]
    assert before == instructions_after == expected_instructions("openai")
    assert conn.instructions == expected_instructions("openai")  # the service still holds the old
