"""A frontend's controls on the realtime providers: the worker's real entrypoint (stand-in
room, tests/room.py) on the real plugins against the loopback fakes, asserted on the
wire. OpenAI Realtime applies a switch and a forget in place, once the service confirmed
them; Gemini Live hands off to a fresh session, and the answer comes only once it took
over."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import livekit.plugins.google  # noqa: F401  (imported at collection, not inside a test)
import livekit.plugins.openai  # noqa: F401
import pytest
from livekit import rtc

import prompts
from agent.frontend import ATTR_PERSONA, NOT_CHANGED, RPC_FORGET, RPC_SWITCH_PERSONA
from agent.session.strategies import FORGET_RECONNECT_NOTE, RECONNECT_NOTE
from tests.helpers import until
from tests.room import run_worker

from .support import expected_instructions, expected_line
from .google.fake_gemini import FakeGeminiLive
from .google.fixtures import gemini_env
from .openai.fake_openai import FakeOpenAIRealtime
from .openai.fixtures import openai_env

GREETING = "Hi, I'm Alex. How can I help?"
SECRET = "my secret is 42"


def _switch_line() -> str:
    return expected_line("lines/switch", "pirate", previous={"id": "assistant", "name": "Alex"})


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    def start(env: dict[str, str]) -> Any:
        return run_worker(monkeypatch, tmp_path, env)

    return start


# ------------------------------------------------------------------------------------------
# OpenAI Realtime: in place, confirmed by the service
# ------------------------------------------------------------------------------------------


def _openai(fake: FakeOpenAIRealtime) -> dict[str, str]:
    return {"AGENT_PROVIDER": "openai", **openai_env(fake, modalities="text")}


async def test_openai_switch_from_a_frontend_is_confirmed_then_announced(worker: Any, fake_openai: FakeOpenAIRealtime) -> None:
    fake_openai.queue_text(GREETING)
    async with worker(_openai(fake_openai)) as w:
        fake_openai.queue_text("Nice.")
        await w.say("I like tea")
        fake_openai.queue_text("Ahoy!")  # the pirate's announcement
        answer = await w.participant.call(RPC_SWITCH_PERSONA, {"persona": "pirate"})
        assert w.participant.attributes[ATTR_PERSONA] == "pirate"
        await w.session.wait_for_idle()
        history = w.history_texts()

    (conn,) = fake_openai.connections  # in place: no reconnect
    assert answer["status"] == "switched" and answer["persona"] == "pirate" and answer["notes"] == []
    assert answer["announced"] == _switch_line()
    assert conn.instructions == expected_instructions("openai", "pirate")
    assert conn.voice == prompts.PromptLibrary().persona("pirate").voices["openai"]
    assert fake_openai.sent_events("error") == []
    # the announcement is asked of the model after the service confirmed the update
    updated = [i for i, e in enumerate(conn.sent) if e["type"] == "session.updated"][-1]
    asked = [i for i, e in enumerate(conn.sent) if e["type"] == "response.created"][-1]
    assert updated < asked
    assert _switch_line() in json.dumps(conn.events("response.create")[-1])
    assert history[-1] == "Ahoy!"


async def test_openai_refused_switch_from_a_frontend_changes_nothing(worker: Any, fake_openai: FakeOpenAIRealtime) -> None:
    fake_openai.queue_text(GREETING)
    async with worker(_openai(fake_openai)) as w:
        before = w.agent_instructions()
        updates = list(w.participant.updates)
        fake_openai.refuse_next_session_update(code="invalid_value", message="Invalid value for instructions.")
        with pytest.raises(rtc.RpcError) as raised:
            await w.participant.call(RPC_SWITCH_PERSONA, {"persona": "pirate"})
        assert raised.value.code == NOT_CHANGED
        assert "refused" in raised.value.message and "nothing changed" in raised.value.message
        assert w.participant.updates == updates and w.ctl.persona_id == "assistant"
        assert w.agent_instructions() == before == expected_instructions("openai")

    (conn,) = fake_openai.connections
    assert [e["error"]["code"] for e in conn.sent_events("error")] == ["invalid_value"]
    assert conn.instructions == expected_instructions("openai")


async def test_openai_forget_from_a_frontend_deletes_the_turn_on_the_service(worker: Any, fake_openai: FakeOpenAIRealtime) -> None:
    fake_openai.queue_text(GREETING)
    async with worker(_openai(fake_openai)) as w:
        fake_openai.queue_text("Nice.")
        await w.say("I like tea")
        fake_openai.queue_text("Noted.")
        await w.say(SECRET)
        (conn,) = fake_openai.connections
        held = {it["id"]: _text(it) for it in conn.items}
        fake_openai.queue_text("Done.")
        answer = await w.participant.call(RPC_FORGET, {"scope": "last_turn"})
        await w.session.wait_for_idle()
        context, history, left = w.context_texts(), w.history_texts(), [_text(it) for it in conn.items]

    assert answer["status"] == "forgotten" and answer["announced"] == expected_line("lines/forget", scope="last_turn")
    # the user's last turn and the reply to it, each deleted and confirmed, and nothing else
    deleted = [e["item_id"] for e in conn.events("conversation.item.delete")]
    assert sorted(held[i] for i in deleted) == sorted([SECRET, "Noted."])
    assert sorted(e["item_id"] for e in conn.sent_events("conversation.item.deleted")) == sorted(deleted)
    assert fake_openai.sent_events("error") == []
    assert "I like tea" in left and not any("42" in t or "Noted" in t for t in left)
    for texts in (context, history):
        assert SECRET not in texts and "Noted." not in texts and "I like tea" in texts
    assert history[-1] == "Done."


def _text(item: dict[str, Any]) -> str:
    return " ".join(part.get("text") or "" for part in item.get("content") or [])


async def test_openai_forget_outlives_the_callers_deadline(worker: Any, fake_openai: FakeOpenAIRealtime) -> None:
    """livekit cancels an RPC handler when the caller's response timeout passes
    (``LocalParticipant._run_incoming_chain``): a forget cut there would have deleted the
    words on the service and left them in the transcript. It finishes instead."""
    fake_openai.queue_text(GREETING)
    async with worker(_openai(fake_openai)) as w:
        fake_openai.queue_text("Noted.")
        await w.say(SECRET)
        fake_openai.queue_text("Done.")
        call = asyncio.create_task(w.participant.call(RPC_FORGET, {"scope": "last_turn"}))
        await fake_openai.wait_for("conversation.item.delete")  # not yet answered: the deadline passes
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await until(lambda: SECRET not in w.history_texts(), what="the transcript forgot it too")
        assert SECRET not in w.context_texts()
        # and the controller is free for the next change
        fake_openai.queue_text("Ahoy!")
        assert (await w.participant.call(RPC_SWITCH_PERSONA, {"persona": "pirate"}))["status"] == "switched"


# ------------------------------------------------------------------------------------------
# Gemini Live: a hand-off to a fresh session
# ------------------------------------------------------------------------------------------


def _gemini(fake: FakeGeminiLive) -> dict[str, str]:
    assert fake.ca_file
    return {"AGENT_PROVIDER": "google", "SSL_CERT_FILE": fake.ca_file, **gemini_env(fake, modalities="text")}


async def test_gemini_switch_from_a_frontend_answers_once_the_fresh_session_took_over(
    worker: Any, fake_gemini: FakeGeminiLive
) -> None:
    fake_gemini.queue_text(GREETING)
    async with worker(_gemini(fake_gemini)) as w:
        fake_gemini.queue_text("Nice.")
        await w.say("I like tea")
        first_agent = w.session.current_agent
        fake_gemini.queue_text("Ahoy!")  # the new session's announcement
        answer = await w.participant.call(RPC_SWITCH_PERSONA, {"persona": "pirate"})
        # by the answer the hand-off happened: the fresh agent entered, the attribute says so
        assert w.session.current_agent is not first_agent and w.session.current_agent.entered.is_set()
        assert w.participant.attributes[ATTR_PERSONA] == "pirate"
        second = await fake_gemini.wait_for_connections(2)
        await w.session.wait_for_idle()
        first = fake_gemini.connections[0]
        await until(lambda: first.closed, what="the old session closed")
        history = w.history_texts()

    assert answer == {
        "status": "switched",
        "persona": "pirate",
        "user_state": "listening",
        "notes": [RECONNECT_NOTE],
        "announced": _switch_line(),
    }
    assert second.system_instruction == expected_instructions("google", "pirate")
    assert second.voice == prompts.PromptLibrary().persona("pirate").voices["google"]
    assert second.resumption_handle is None
    assert ("user", "I like tea") in second.turns()  # the conversation carried
    assert _switch_line() in json.dumps(second.client_contents)  # announced by the new session
    assert history[-1] == "Ahoy!"


async def test_gemini_forget_from_a_frontend_starts_a_session_without_it(worker: Any, fake_gemini: FakeGeminiLive) -> None:
    fake_gemini.queue_text(GREETING)
    async with worker(_gemini(fake_gemini)) as w:
        fake_gemini.queue_text("Nice.")
        await w.say("I like tea")
        fake_gemini.queue_text("Noted.")
        await w.say(SECRET)
        fake_gemini.queue_text("Done.")
        answer = await w.participant.call(RPC_FORGET, {"scope": "last_turn"})
        second = await fake_gemini.wait_for_connections(2)
        await w.session.wait_for_idle()
        context, history = w.context_texts(), w.history_texts()

    assert answer["status"] == "forgotten" and answer["notes"] == [FORGET_RECONNECT_NOTE]
    assert answer["announced"] == expected_line("lines/forget", scope="last_turn")
    carried = json.dumps(second.client_contents)
    assert SECRET not in carried and "Noted." not in carried and "I like tea" in carried
    assert second.resumption_handle is None  # a resumed session would bring the old history back
    for texts in (context, history):
        assert SECRET not in texts and "Noted." not in texts and "I like tea" in texts


async def test_gemini_switch_from_a_frontend_during_a_tool_hand_off_waits_for_it(
    worker: Any, fake_gemini: FakeGeminiLive
) -> None:
    """The model's switch (a hand-off) is under way when the frontend asks for another: the
    frontend's waits until the first took over, then hands off again; neither is lost."""
    fake_gemini.queue_text(GREETING)
    async with worker(_gemini(fake_gemini)) as w:
        fake_gemini.queue_function_call("switch_persona", {"persona": "pirate"})
        fake_gemini.queue_text("(the old session answering its tool response)")
        fake_gemini.queue_text("Ahoy!")  # the pirate's session
        fake_gemini.queue_text("Hi, Ada here.")  # the tutor's session
        replying = asyncio.Event()
        w.session.on("speech_created", lambda _: replying.set())
        turn = asyncio.create_task(w.say("can I talk to the pirate?"))
        await replying.wait()  # the model's reply (and its hand-off) is under way
        answer = await w.participant.call(RPC_SWITCH_PERSONA, {"persona": "tutor"})
        (await turn).expect.contains_agent_handoff()
        third = await fake_gemini.wait_for_connections(3)
        await w.session.wait_for_idle()
        updates = w.participant.updates[1:]

    assert answer["status"] == "switched" and answer["persona"] == "tutor"
    assert updates == [{ATTR_PERSONA: "pirate"}, {ATTR_PERSONA: "tutor"}]
    second = fake_gemini.connections[1]
    assert second.system_instruction == expected_instructions("google", "pirate")
    assert third.system_instruction == expected_instructions("google", "tutor")
    assert ("user", "can I talk to the pirate?") in third.turns()


@pytest.mark.parametrize("closing", ["before_the_change", "during_the_hand_off"])
async def test_gemini_switch_from_a_frontend_cut_short_by_the_session_closing_changes_nothing(
    worker: Any, fake_gemini: FakeGeminiLive, closing: str
) -> None:
    fake_gemini.queue_text(GREETING)
    async with worker(_gemini(fake_gemini)) as w:
        ctl, updates = w.ctl, list(w.participant.updates)
        call = asyncio.create_task(w.participant.call(RPC_SWITCH_PERSONA, {"persona": "pirate"}))
        if closing == "during_the_hand_off":
            await until(lambda: ctl.hand_off is not None, what="the hand-off asked of livekit")
        await w.session.aclose()
        with pytest.raises(rtc.RpcError) as raised:
            await call

    assert raised.value.code == NOT_CHANGED and "nothing changed" in raised.value.message
    expected = "The session is closing" if closing == "before_the_change" else "The session closed before the switch"
    assert raised.value.message.startswith(expected)
    assert ctl.persona_id == "assistant" and ctl.hand_off is None and w.participant.updates == updates
    assert len(fake_gemini.connections) == 1


async def test_gemini_switch_outlives_the_callers_deadline(worker: Any, fake_gemini: FakeGeminiLive) -> None:
    """livekit cancels an RPC handler when the caller's response timeout passes
    (``LocalParticipant._run_incoming_chain``); the change is not left half made: it
    finishes, and the attributes tell the frontend."""
    fake_gemini.queue_text(GREETING)
    async with worker(_gemini(fake_gemini)) as w:
        fake_gemini.queue_text("Ahoy!")
        call = asyncio.create_task(w.participant.call(RPC_SWITCH_PERSONA, {"persona": "pirate"}))
        await until(lambda: w.ctl.hand_off is not None, what="the hand-off asked of livekit")  # now the deadline passes
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await w.participant.attribute(ATTR_PERSONA, "pirate")
        second = await fake_gemini.wait_for_connections(2)
        assert w.ctl.persona_id == "pirate" and w.ctl.hand_off is None

    assert second.system_instruction == expected_instructions("google", "pirate")


async def test_openai_forget_from_a_frontend_that_the_service_refuses_in_part_says_so(
    worker: Any, fake_openai: FakeOpenAIRealtime
) -> None:
    """One item to delete is already gone on the service (item_delete_invalid_item_id): the
    answer is "incomplete", the agent says lines/forget_incomplete, and the words still
    leave the transcript."""
    fake_openai.queue_text(GREETING)
    async with worker(_openai(fake_openai)) as w:
        fake_openai.queue_text("Noted.")
        await w.say(SECRET)
        (conn,) = fake_openai.connections
        conn.items.remove(next(it for it in conn.items if SECRET in _text(it)))  # gone on the server only
        fake_openai.queue_text("Sorry.")
        answer = await w.participant.call(RPC_FORGET, {"scope": "last_turn"})
        history = w.history_texts()

    assert answer["status"] == "incomplete"
    assert answer["announced"] == expected_line("lines/forget_incomplete", scope="last_turn")
    assert [e["error"]["code"] for e in fake_openai.sent_events("error")] == ["item_delete_invalid_item_id"]
    assert SECRET not in history and "Noted." not in history
