"""A frontend sees and drives the session: the worker's real entrypoint on the offline
model, with a stand-in room (tests/room.py). Attributes are checked after each tool and
each RPC; each RPC's outcome is what really happened, and a bad one changes nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from livekit import rtc

import prompts
from agent.frontend import (
    ATTR_PERSONA,
    ATTR_PERSONAS,
    ATTR_USER_STATE,
    INVALID_REQUEST,
    MAX_PAYLOAD_BYTES,
    RPC_FORGET,
    RPC_MARK_AWAY,
    RPC_MARK_BACK,
    RPC_SWITCH_PERSONA,
    dispatch_options,
)
from tests.room import run_worker

LIBRARY = prompts.PromptLibrary()
PERSONAS = json.dumps(
    [{"id": p.id, "name": p.name, "description": p.description} for p in LIBRARY.personas().values()],
    ensure_ascii=False,
)
# the stand-in room carries no audio: a text-only worker (with the voice extra it would speak)
OFFLINE = {"AGENT_PROVIDER": "offline", "AGENT_MODALITIES": "text"}
SECRET = "My locker code is 4312."


def line(name: str, persona: str = "assistant", **extra: Any) -> str:
    """A line as its template renders it, independent of the agent under test."""
    return LIBRARY.render(name, **prompts.standard_variables(LIBRARY.persona(persona)) | extra)


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    def start(env: dict[str, str] | None = None, *, metadata: str = "") -> Any:
        return run_worker(monkeypatch, tmp_path, env or OFFLINE, metadata=metadata)

    return start


async def test_attributes_follow_each_tool(worker: Any) -> None:
    async with worker() as w:
        p = w.participant
        assert p.attributes == {ATTR_PERSONA: "assistant", ATTR_PERSONAS: PERSONAS, ATTR_USER_STATE: "listening"}
        assert set(p.rpc_methods) == {RPC_SWITCH_PERSONA, RPC_FORGET, RPC_MARK_AWAY, RPC_MARK_BACK}

        await w.say("can I talk to the tutor?")
        await p.attribute(ATTR_PERSONA, "tutor")
        await w.say("brb")
        await p.attribute(ATTR_USER_STATE, "away")
        await w.say("I'm back")
        await p.attribute(ATTR_USER_STATE, "listening")
        await w.say(SECRET)
        await w.say("forget what I just said")
        assert SECRET not in w.history_texts()
        # only what changed is sent, each change once; the list of personas went out once
        assert p.updates[1:] == [
            {ATTR_PERSONA: "tutor"},
            {ATTR_USER_STATE: "away"},
            {ATTR_USER_STATE: "listening"},
        ]


async def test_rpc_switch_persona_is_made_announced_and_published(worker: Any) -> None:
    async with worker() as w:
        p = w.participant
        answer = await p.call(RPC_SWITCH_PERSONA, {"persona": "pirate"})
        switch_line = line("lines/switch", "pirate", previous={"id": "assistant", "name": "Alex"})
        assert answer == {
            "status": "switched",
            "persona": "pirate",
            "user_state": "listening",
            "notes": [],
            "announced": switch_line,
        }
        assert p.attributes[ATTR_PERSONA] == "pirate"  # published before the answer
        await w.session.wait_for_idle()
        assert w.history_texts()[-1] == switch_line  # the pirate says it, from the template
        assert w.agent_instructions() == LIBRARY.render_persona("pirate", **w.ctl.variables("pirate"))

        again = await p.call(RPC_SWITCH_PERSONA, {"persona": "pirate"})
        assert again["status"] == "unchanged" and again["announced"] == ""
        assert p.updates[1:] == [{ATTR_PERSONA: "pirate"}]


async def test_rpc_away_holds_like_the_tool_and_back_ends_it(worker: Any) -> None:
    async with worker() as w:
        p = w.participant
        answer = await p.call(RPC_MARK_AWAY, {"minutes": 5, "reason": "door"})
        assert answer["status"] == "away" and answer["user_state"] == "away"
        assert answer["announced"] == line("lines/away_ack", minutes=5.0)
        assert p.attributes[ATTR_USER_STATE] == "away"
        assert w.ctl.away.requested and w.ctl.away.timer_pending
        await w.session.wait_for_idle()
        assert w.history_texts()[-1] == answer["announced"]  # said, not only reported

        # the same hold as the tool's: side-talk gets no reply, and the state stays away
        result = await w.say("did you see the game last night?")
        assert not [e for e in result.events if e.type == "message" and e.item.role == "assistant"]
        assert p.attributes[ATTR_USER_STATE] == "away"

        again = await p.call(RPC_MARK_AWAY, {})
        assert again["status"] == "already_away" and again["announced"] == ""

        back = await p.call(RPC_MARK_BACK)
        assert back == {
            "status": "back",
            "persona": "assistant",
            "user_state": "listening",
            "notes": [],
            "announced": line("lines/welcome_back"),
        }
        assert p.attributes[ATTR_USER_STATE] == "listening"
        assert not w.ctl.away.active and not w.ctl.away.timer_pending
        await w.session.wait_for_idle()
        assert w.history_texts()[-1] == back["announced"]
        assert (await p.call(RPC_MARK_BACK, "{}"))["status"] == "not_away"
        assert p.updates[1:] == [{ATTR_USER_STATE: "away"}, {ATTR_USER_STATE: "listening"}]


async def test_rpc_away_passes_its_reason_to_the_lines_and_never_to_the_logs(
    worker: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.harness import prompts_folder

    folder = prompts_folder(tmp_path / "mine", {"lines/away_ack": "Sure, go see to {{ reason or 'it' }}."})
    caplog.set_level(logging.INFO)
    async with worker({**OFFLINE, "PROMPTS_DIR": str(folder)}) as w:
        answer = await w.participant.call(RPC_MARK_AWAY, {"reason": "the parcel at the door"})
        assert answer["status"] == "away" and answer["announced"] == "Sure, go see to the parcel at the door."
    assert [r.getMessage() for r in caplog.records if "parcel" in r.getMessage() or "parcel" in repr(vars(r))] == []


async def test_rpc_forget_last_turn_removes_it_everywhere(worker: Any) -> None:
    async with worker() as w:
        assert (await w.participant.call(RPC_FORGET, {"scope": "last_turn"}))["status"] == "nothing_to_forget"
        await w.say("I like sailing.")
        await w.say(SECRET)
        answer = await w.participant.call(RPC_FORGET, {"scope": "last_turn"})
        assert answer["status"] == "forgotten"
        assert answer["announced"] == line("lines/forget", scope="last_turn")
        await w.session.wait_for_idle()
        for texts in (w.context_texts(), w.history_texts()):
            assert SECRET not in texts and "I like sailing." in texts
        assert w.history_texts()[-1] == answer["announced"]


async def test_rpc_forget_everything_keeps_the_instructions(worker: Any) -> None:
    async with worker() as w:
        await w.say("I like sailing.")
        await w.say(SECRET)
        answer = await w.participant.call(RPC_FORGET, '{"scope": "everything"}')
        assert answer["status"] == "forgotten"
        await w.session.wait_for_idle()
        assert w.context_texts() == w.history_texts() == [line("lines/forget", scope="everything")]
        assert w.agent_instructions() == LIBRARY.render_persona("assistant", **w.ctl.variables())


BAD_REQUESTS = [
    (RPC_SWITCH_PERSONA, '{"persona": "wizard"}', "Unknown persona 'wizard'"),
    (RPC_SWITCH_PERSONA, "{}", "`persona` must be one of"),
    (RPC_SWITCH_PERSONA, '{"persona": "pirate"', "not valid JSON"),
    (RPC_SWITCH_PERSONA, '"pirate"', "must be a JSON object"),
    (RPC_SWITCH_PERSONA, '{"persona": "pirate", "voice": "x"}', "Unknown argument 'voice'"),
    (RPC_SWITCH_PERSONA, json.dumps({"persona": "pirate" + " " * MAX_PAYLOAD_BYTES}), f"larger than {MAX_PAYLOAD_BYTES} bytes"),
    (RPC_FORGET, '{"scope": "yesterday"}', "`scope` must be one of: last_turn, everything"),
    (RPC_FORGET, "[]", "must be a JSON object"),
    (RPC_FORGET, '{"about": "my card number"}', "Unknown argument 'about' (accepted: `scope`)"),  # the tool's only
    (RPC_MARK_AWAY, '{"minutes": 5, "for": "lunch"}', "Unknown argument 'for' (accepted: `minutes`, `reason`)"),
    (RPC_MARK_AWAY, '{"minutes": -1}', "`minutes` must be more than 0"),
    (RPC_MARK_AWAY, '{"minutes": true}', "not true/false"),
    (RPC_MARK_AWAY, '{"reason": 7}', "`reason` must be a short text"),
    (RPC_MARK_BACK, '{"now": true}', "Unknown argument 'now'"),
]


async def test_bad_requests_get_a_clear_error_and_change_nothing(worker: Any) -> None:
    async with worker() as w:
        p = w.participant
        await w.say(SECRET)
        before = (dict(p.attributes), len(p.updates), w.history_texts(), w.context_texts())
        for method, payload, message in BAD_REQUESTS:
            with pytest.raises(rtc.RpcError) as raised:
                await p.call(method, payload)
            assert raised.value.code == INVALID_REQUEST, (method, payload)
            assert message in raised.value.message and "othing" in raised.value.message, raised.value.message
        await w.session.wait_for_idle()
        assert (dict(p.attributes), len(p.updates), w.history_texts(), w.context_texts()) == before
        assert w.ctl.persona_id == "assistant" and not w.ctl.away.active


async def test_an_rpc_during_a_reply_waits_for_it_and_both_changes_happen(worker: Any) -> None:
    """The tool's switch (in the reply) and the frontend's take the same path, one after
    the other: neither is lost, and the attributes show both, in order."""
    async with worker() as w:
        p = w.participant
        replying = asyncio.Event()
        w.session.on("speech_created", lambda _: replying.set())
        reply = asyncio.create_task(w.say("can I talk to the pirate?"))
        await replying.wait()  # the reply is under way
        answer = await p.call(RPC_SWITCH_PERSONA, {"persona": "tutor"})
        result = await reply
        result.expect.contains_function_call(name="switch_persona", arguments={"persona": "pirate"})
        assert answer["status"] == "switched" and answer["persona"] == "tutor"
        assert answer["announced"] == line("lines/switch", "tutor", previous={"id": "pirate", "name": "Captain Reed"})
        assert p.updates[1:] == [{ATTR_PERSONA: "pirate"}, {ATTR_PERSONA: "tutor"}]


async def test_two_rpcs_at_once_are_made_one_after_the_other(worker: Any) -> None:
    async with worker() as w:
        p = w.participant
        first, second = await asyncio.gather(
            p.call(RPC_SWITCH_PERSONA, {"persona": "pirate"}), p.call(RPC_MARK_AWAY, {"minutes": 2})
        )
        assert (first["status"], second["status"]) == ("switched", "away")
        # the away line is the pirate's: the switch was made before the hold started
        assert second["announced"] == line("lines/away_ack", "pirate", minutes=2.0)
        assert p.updates[1:] == [{ATTR_PERSONA: "pirate"}, {ATTR_USER_STATE: "away"}]


# ------------------------------------------------------------------------------------------
# persona and user name at dispatch (the job's metadata)
# ------------------------------------------------------------------------------------------


async def test_the_job_metadata_chooses_persona_and_user_name(worker: Any) -> None:
    async with worker(metadata=json.dumps({"persona": "pirate", "user_name": "Sam", "room_theme": "dark"})) as w:
        assert w.participant.attributes[ATTR_PERSONA] == "pirate"
        assert w.history_texts() == [LIBRARY.persona("pirate").greeting]
        assert "Sam" in w.agent_instructions()
        await w.participant.call(RPC_MARK_AWAY)
        back = await w.participant.call(RPC_MARK_BACK)
        assert back["announced"] == line("lines/welcome_back", "pirate", user_name="Sam") and "Sam" in back["announced"]


@pytest.mark.parametrize(
    ("metadata", "logged"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"persona": "wizard"}', "Unknown persona 'wizard'"),
        ('{"persona": 7}', "`persona` must be one of"),
        ('{"user_name": ""}', "user_name must be a name"),
        ('{"user_name": ["Sam"]}', "user_name must be a name"),
    ],
)
def test_bad_metadata_is_logged_and_ignored(metadata: str, logged: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="agent"):
        assert dispatch_options(metadata, ["assistant", "pirate"]) == {}
    assert logged in caplog.text


def test_good_metadata_is_kept_and_the_rest_ignored() -> None:
    ids = ["assistant", "pirate"]
    assert dispatch_options("", ids) == dispatch_options(None, ids) == {}
    assert dispatch_options('{"persona": " Pirate ", "user_name": "  Sam  Lee "}', ids) == {"persona": "pirate", "user_name": "Sam Lee"}
    assert dispatch_options('{"persona": "wizard", "user_name": "Sam"}', ids) == {"user_name": "Sam"}


async def test_bad_metadata_starts_the_default_persona(worker: Any) -> None:
    async with worker(metadata='{"persona": "wizard"') as w:
        assert w.participant.attributes[ATTR_PERSONA] == "assistant"
        assert w.history_texts() == [LIBRARY.persona("assistant").greeting]
