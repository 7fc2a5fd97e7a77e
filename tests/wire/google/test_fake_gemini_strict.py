"""The Gemini Live fake is as strict as the service: schema checks against google-genai's
types, the 1007 refusals, cancellation and interruption on barge-in, goAway, resumption
updates, and replies streamed over time.

Most tests speak the wire protocol through a raw ``websockets`` client (trusting the fake's
certificate), so each rule is checked on its own; a few run the real plugin where its
reaction is the point. The sources of each rule are cited in fake_gemini.py beside its code.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from google.genai.types import Modality
from livekit.agents import Agent, AgentSession, llm

from tests.compat import timeout
from tests.helpers import until

from .fake_gemini import (
    GO_AWAY_CLOSE_CODE,
    INVALID_ARGUMENT_REASON,
    NATIVE_AUDIO_TEXT_REASON,
    SYSTEM_ROLE_REASON,
    TEXT_MODEL,
    FakeGeminiLive,
    ModelText,
    ToolCall,
    duration,
    split_text,
)
from .fixtures import assert_gemini_schema_clean
from .gemini_schema import check_client_message, check_server_message

NATIVE_AUDIO_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"  # the plugin's default
GEMINI3_MODEL = "gemini-3.1-flash-live-preview"
TEST_TIMEOUT = 10.0
RECV_TIMEOUT = 3.0


# ------------------------------------------------------------------------------------------
# a raw Live API client
# ------------------------------------------------------------------------------------------


class RawClient:
    """Speaks the Live API's JSON to the fake, as google-genai would (keys as it sends them)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.got: list[dict[str, Any]] = []
        self.got_at: list[float] = []

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, timeout_s: float = RECV_TIMEOUT) -> dict[str, Any]:
        msg = json.loads(await asyncio.wait_for(self.ws.recv(), timeout_s))
        self.got.append(msg)
        self.got_at.append(time.perf_counter())
        return msg

    async def recv_until(
        self, pred: Callable[[dict[str, Any]], bool], timeout_s: float = RECV_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Messages received up to and including the first that ``pred`` accepts."""
        out = []
        async with timeout(timeout_s):
            while True:
                msg = await self.recv()
                out.append(msg)
                if pred(msg):
                    return out

    async def closed(self, timeout_s: float = RECV_TIMEOUT) -> tuple[int | None, str | None]:
        """Read until the server closes; the close code and reason."""
        from websockets.exceptions import ConnectionClosed

        with contextlib.suppress(ConnectionClosed):
            async with timeout(timeout_s):
                while True:
                    await self.recv()
        return self.ws.close_code, self.ws.close_reason

    async def setup(self, model: str = TEXT_MODEL, modalities: tuple[str, ...] = ("TEXT",),
                    **extra: Any) -> dict[str, Any]:
        await self.send({"setup": {
            "model": f"models/{model}",
            "generationConfig": {"responseModalities": list(modalities)},
            "sessionResumption": {},
            **extra,
        }})
        return await self.recv()

    async def user_turn(self, text: str) -> None:
        await self.send({"client_content": {
            "turns": [{"role": "user", "parts": [{"text": text}]}], "turnComplete": True,
        }})


@contextlib.asynccontextmanager
async def raw_client(server: FakeGeminiLive) -> AsyncIterator[RawClient]:
    from websockets.asyncio.client import connect

    url = (server.base_url.replace("https://", "wss://")
           + "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent")
    async with timeout(TEST_TIMEOUT):
        async with connect(url, ssl=server.client_ssl_context,
                           additional_headers={"x-goog-api-key": server.api_key}) as ws:
            yield RawClient(ws)


def _sc(msg: dict[str, Any], key: str) -> Any:
    return (msg.get("serverContent") or {}).get(key)


def _text_of(msgs: list[dict[str, Any]]) -> str:
    """The model's words: modelTurn text parts (TEXT output) or outputTranscription (AUDIO)."""
    out = ""
    for m in msgs:
        for p in ((_sc(m, "modelTurn") or {}).get("parts") or []):
            out += p.get("text", "")
        out += (_sc(m, "outputTranscription") or {}).get("text", "")
    return out


def _pcm_b64(amplitude: int, n: int = 800) -> str:
    pcm = b"".join(int(amplitude if i % 2 else -amplitude).to_bytes(2, "little", signed=True)
                   for i in range(n))
    return base64.urlsafe_b64encode(pcm).decode()


# ------------------------------------------------------------------------------------------
# 1. schema
# ------------------------------------------------------------------------------------------


def test_checker_accepts_what_google_genai_sends_and_receives() -> None:
    assert check_client_message({"setup": {
        "model": "models/x",
        "generationConfig": {"candidate_count": 1, "responseModalities": ["AUDIO"],
                             "speechConfig": {"voice_config": {"prebuilt_voice_config": {"voice_name": "Puck"}}}},
        "tools": [{"functionDeclarations": [{"name": "f", "parameters": {
            "type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "property_ordering": ["a"],
        }}]}],
        "sessionResumption": {}, "inputAudioTranscription": {},
    }}) == []
    assert check_client_message({"tool_response": {"functionResponses": [
        {"id": "fc-1", "name": "f", "response": {"output": "ok", "nested": {"any": [1]}}}]}}) == []
    assert check_client_message({"realtime_input": {"audio": {"data": _pcm_b64(0), "mimeType": "audio/pcm;rate=16000"}}}) == []
    assert check_server_message({"serverContent": {"modelTurn": {"parts": [{"text": "hi"}]}},
                                 "usageMetadata": {"promptTokenCount": 3}}) == []
    assert check_server_message({"sessionResumptionUpdate": {"resumable": False}}) == []


def test_checker_catches_unknown_fields_and_bad_types() -> None:
    bad_client = {"client_content": {
        "turns": [{"role": "user", "parts": [{"text": "x", "colour": "red"}]}],
        "turnComplete": "yes",
    }}
    assert check_client_message(bad_client) == [
        "client_content.turns[0].parts[0].colour: unknown field 'colour' of Part",
        "client_content.turnComplete: expected a bool, got 'yes'",
    ]
    (problem,) = check_client_message({"setup": {"model": "m", "generationConfig": {"responseModalities": ["TXT"]}}})
    assert "'TXT' is not a Modality" in problem
    (problem,) = check_client_message({"setup": {"model": "m"}, "toolResponse": {}})
    assert "one message type" in problem
    (problem,) = check_client_message({"realtime_input": {"audio": {"data": "not base64!"}}})
    assert "not base64" in problem
    (problem,) = check_client_message({"setup": {"systemInstruction": {"parts": [{"text": "x"}], "rol": "user"}}})
    assert problem == "setup.systemInstruction.rol: unknown field 'rol' of Content"

    (problem,) = check_server_message({"serverContent": {"interrupted": True, "wasInterrupted": True}})
    assert problem == "serverContent.wasInterrupted: unknown field 'wasInterrupted' of LiveServerContent"
    # the service writes camelCase, and google-genai only reads it so
    assert check_server_message({"server_content": {"turnComplete": True}}) == [
        "server_content: the service writes lowerCamelCase ('serverContent'), not 'server_content'"
    ]
    (problem,) = check_server_message({"toolCallCancellation": {"ids": "fc-1"}})
    assert problem == "toolCallCancellation.ids: expected an array, got 'fc-1'"
    (problem,) = check_server_message({"goAway": {"timeLeft": "1s"}, "toolCall": {"functionCalls": []}})
    assert "one message type" in problem


async def test_fake_records_and_refuses_a_client_message_off_the_schema() -> None:
    async with FakeGeminiLive() as server, raw_client(server) as client:
        assert "setupComplete" in await client.setup()
        await client.send({"client_content": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}],
                                              "turnComplete": True, "endOfTurn": True}})
        code, reason = await client.closed()
        assert code == 1007 and reason is not None
        assert reason.startswith("Invalid JSON payload received. client_content.endOfTurn: unknown field")
        assert server.schema_violations == [
            "connection 0, client message ['client_content']: "
            "client_content.endOfTurn: unknown field 'endOfTurn' of LiveClientContent"
        ]
        # the fixture turns any recorded violation into a failed test
        with pytest.raises(pytest.fail.Exception, match="endOfTurn"):
            assert_gemini_schema_clean(server)


async def test_fake_records_a_server_message_off_the_schema() -> None:
    async with FakeGeminiLive() as server, raw_client(server) as client:
        await client.setup()
        conn = await server.wait_for_connections(1)
        await conn.send({"serverContent": {"turnComplete": True, "turnCompleteReson": "DONE"}})
        assert await client.recv() == {"serverContent": {"turnComplete": True, "turnCompleteReson": "DONE"}}
        (violation,) = server.schema_violations
        assert "turnCompleteReson: unknown field" in violation and "server message" in violation


async def test_every_message_of_a_plugin_session_is_checked(fake_gemini: FakeGeminiLive) -> None:
    """The real plugin's traffic passes the checker (the fixture fails the test otherwise),
    and the checker did see it: corrupt one recorded message and it is caught."""
    fake_gemini.queue_function_call("lookup", {"q": "x"})
    fake_gemini.queue_text("Found it.")
    async with _plugin_session(fake_gemini, model=TEXT_MODEL, modalities=[Modality.TEXT]) as session:
        await session.run(user_input="look it up")
    conn = fake_gemini.last
    kinds = {k for m in conn.raw for k in m}
    assert {"setup", "client_content", "tool_response"} <= kinds
    assert all(check_client_message(m) == [] for m in conn.raw)
    assert all(check_server_message(m) == [] for m in conn.sent)
    broken = json.loads(json.dumps(conn.raw[-1]))
    broken["tool_response"]["functionResponses"][0]["reponse"] = {}
    assert check_client_message(broken)


# ------------------------------------------------------------------------------------------
# 2. refusals (close 1007)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("modalities", [("TEXT",), ("AUDIO", "TEXT")])
async def test_native_audio_model_refuses_text_output(modalities: tuple[str, ...]) -> None:
    async with FakeGeminiLive() as server, raw_client(server) as client:
        await client.send({"setup": {"model": f"models/{NATIVE_AUDIO_MODEL}",
                                     "generationConfig": {"responseModalities": list(modalities)}}})
        assert await client.closed() == (1007, NATIVE_AUDIO_TEXT_REASON)
    assert server.last.close_code == 1007 and server.last.close_reason == NATIVE_AUDIO_TEXT_REASON
    assert server.last.sent == []  # no setupComplete


@pytest.mark.parametrize(
    ("model", "modalities"),
    [(NATIVE_AUDIO_MODEL, ("AUDIO",)), (TEXT_MODEL, ("TEXT",)), (GEMINI3_MODEL, ("AUDIO",))],
)
async def test_setups_the_service_accepts(model: str, modalities: tuple[str, ...]) -> None:
    async with FakeGeminiLive() as server, raw_client(server) as client:
        assert await client.setup(model, modalities) == {"setupComplete": {}}


async def test_plugin_on_a_native_audio_model_with_text_output_fails_to_connect(
    fake_gemini: FakeGeminiLive,
) -> None:
    """What an agent on the plugin's default model sees when it asks for TEXT: an
    unrecoverable session error carrying the service's reason."""
    errors: list[Any] = []
    async with timeout(TEST_TIMEOUT):
        model = fake_gemini.realtime_model(modalities=[Modality.TEXT])  # default model: native audio
        async with model, AgentSession(llm=model) as session:
            session.on("error", errors.append)
            await session.start(Agent(instructions="x"))
            await until(lambda: errors, timeout=5, what="a session error")
    err = errors[0].error
    assert isinstance(err, llm.RealtimeModelError) and not err.recoverable
    assert NATIVE_AUDIO_TEXT_REASON in str(err.error)
    assert fake_gemini.last.close_code == 1007


async def test_system_role_in_client_content_is_refused_on_the_gemini_api() -> None:
    async with FakeGeminiLive() as server, raw_client(server) as client:
        await client.setup()
        await client.send({"client_content": {
            "turns": [{"role": "system", "parts": [{"text": "You are a pirate."}]}],
            "turnComplete": False,
        }})
        assert await client.closed() == (1007, SYSTEM_ROLE_REASON)


async def test_model_role_update_is_accepted() -> None:
    """What the plugin sends for update_instructions on the Gemini API."""
    async with FakeGeminiLive() as server, raw_client(server) as client:
        await client.setup()
        await client.send({"client_content": {
            "turns": [{"role": "model", "parts": [{"text": "You are a pirate."}]}],
            "turnComplete": False,
        }})
        await client.user_turn("hi")
        replies = await client.recv_until(lambda m: bool(_sc(m, "turnComplete")))
        assert _text_of(replies) == "OK."


async def test_gemini3_refuses_client_content_after_the_first_model_turn() -> None:
    async with FakeGeminiLive() as server, raw_client(server) as client:
        await client.setup(GEMINI3_MODEL, ("AUDIO",))
        await client.user_turn("hi")  # before any model turn: accepted
        await client.recv_until(lambda m: bool(_sc(m, "turnComplete")))
        await client.send({"realtime_input": {"text": "and now?"}})  # the 3.x way: fine
        await client.recv_until(lambda m: bool(_sc(m, "turnComplete")))
        await client.user_turn("again")
        assert await client.closed() == (1007, INVALID_ARGUMENT_REASON)
    assert server.last.model_turns == 2


async def test_gemini3_with_initial_history_in_client_content() -> None:
    """historyConfig.initialHistoryInClientContent: the seeded history triggers no model call,
    and clientContent after a model turn is not refused."""
    async with FakeGeminiLive() as server, raw_client(server) as client:
        await client.setup(GEMINI3_MODEL, ("AUDIO",),
                           historyConfig={"initialHistoryInClientContent": True})
        await client.send({"client_content": {"turns": [
            {"role": "user", "parts": [{"text": "I like tea"}]},
            {"role": "model", "parts": [{"text": "Noted."}]},
        ], "turnComplete": True}})
        server.queue_text("Tea.")
        await client.send({"realtime_input": {"text": "what do I like?"}})
        first = await client.recv_until(lambda m: bool(_sc(m, "turnComplete")))
        assert _text_of(first) == "Tea."
        await asyncio.sleep(0.2)
        assert server.last.model_turns == 1  # the history itself was not answered
        await client.user_turn("and later?")
        await client.recv_until(lambda m: bool(_sc(m, "turnComplete")))
        assert server.last.close_code is None


# ------------------------------------------------------------------------------------------
# 3. barge-in: toolCallCancellation, interrupted
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "barge_in",
    [
        {"activity_start": {}},
        {"text": "no wait"},
        {"audio": {"data": _pcm_b64(4000), "mimeType": "audio/pcm;rate=16000"}},
    ],
    ids=["activityStart", "text", "speech"],
)
async def test_barge_in_during_a_tool_call_cancels_it(barge_in: dict[str, Any]) -> None:
    async with FakeGeminiLive() as server, raw_client(server) as client:
        server.queue_reply(ToolCall("lookup", {"q": "a"}, id="fc-a"), ToolCall("lookup", {"q": "b"}, id="fc-b"))
        server.queue_text("Answer to the barge-in.")
        server.queue_text("Never said.")
        await client.setup()
        await client.user_turn("look both up")
        (call,) = [m for m in await client.recv_until(lambda m: "toolCall" in m)]
        assert [c["id"] for c in call["toolCall"]["functionCalls"]] == ["fc-a", "fc-b"]

        await client.send({"realtime_input": barge_in})
        cancel = await client.recv_until(lambda m: "toolCallCancellation" in m)
        assert cancel[-1] == {"toolCallCancellation": {"ids": ["fc-a", "fc-b"]}}
        if "text" in barge_in:
            reply = await client.recv_until(lambda m: bool(_sc(m, "turnComplete")))
            assert _text_of(reply) == "Answer to the barge-in."

        # the late answer to a cancelled call starts nothing
        await client.send({"tool_response": {"functionResponses": [
            {"id": "fc-a", "name": "lookup", "response": {"output": "late"}},
            {"id": "fc-b", "name": "lookup", "response": {"output": "late"}},
        ]}})
        await server.wait_for("toolResponse")
        await asyncio.sleep(0.1)
        assert not server.last.generating
        assert server.pending_replies == (1 if "text" in barge_in else 2)
        assert "Never said." not in json.dumps(server.last.sent)
        assert server.last.cancelled_calls == ["fc-a", "fc-b"] and server.last.pending_calls == {}


async def test_silence_is_not_a_barge_in() -> None:
    async with FakeGeminiLive() as server, raw_client(server) as client:
        server.queue_function_call("lookup", {"q": "a"}, id="fc-a")
        server.queue_text("Done.")
        await client.setup()
        await client.user_turn("look it up")
        await client.recv_until(lambda m: "toolCall" in m)
        await client.send({"realtime_input": {"audio": {"data": _pcm_b64(20), "mimeType": "audio/pcm;rate=16000"}}})
        await client.send({"realtime_input": {"activity_end": {}}})
        await client.send({"tool_response": {"functionResponses": [
            {"id": "fc-a", "name": "lookup", "response": {"output": "ok"}}]}})
        reply = await client.recv_until(lambda m: bool(_sc(m, "turnComplete")))
        assert _text_of(reply) == "Done."
        assert not any("toolCallCancellation" in m for m in client.got)


async def test_barge_in_while_a_turn_streams_interrupts_it() -> None:
    text = "one two three four five six seven eight"
    async with FakeGeminiLive(pace=0.05) as server, raw_client(server) as client:
        server.queue_text(text, chunks=8)
        server.queue_text("Yes?")
        await client.setup()
        await client.user_turn("count")
        first = await client.recv_until(lambda m: bool(_sc(m, "modelTurn")))
        await client.send({"realtime_input": {"text": "stop"}})
        rest = await client.recv_until(lambda m: bool(_sc(m, "interrupted")))
        after = await client.recv_until(lambda m: bool(_sc(m, "turnComplete")))
        # interrupted > turnComplete, and no generationComplete for the cut turn
        assert after[0] == {"serverContent": {"turnComplete": True}}
        cut = first + rest + after
        assert not any(_sc(m, "generationComplete") for m in cut)
        assert 1 <= len([m for m in cut if _sc(m, "modelTurn")]) < 8
        assert text.startswith(_text_of(cut)) and _text_of(cut) != text
        # then the answer to the barge-in, whole
        reply = await client.recv_until(lambda m: bool(_sc(m, "turnComplete")))
        assert _text_of(reply) == "Yes?" and any(_sc(m, "generationComplete") for m in reply)
    assert server.last.interruptions == 1


async def test_client_content_interrupts_a_streaming_turn() -> None:
    """types.LiveClientContent: "A message here will interrupt any current model generation"."""
    async with FakeGeminiLive(pace=0.05) as server, raw_client(server) as client:
        server.queue_text("a b c d e f", chunks=6)
        await client.setup()
        await client.user_turn("go")
        await client.recv_until(lambda m: bool(_sc(m, "modelTurn")))
        await client.send({"client_content": {"turns": [{"role": "model", "parts": [{"text": "note"}]}],
                                              "turnComplete": False}})
        await client.recv_until(lambda m: bool(_sc(m, "interrupted")))
        assert server.last.interruptions == 1


async def test_plugin_barge_in_stops_the_streaming_reply(fake_gemini: FakeGeminiLive) -> None:
    """The real plugin with manual activity detection: its interrupt() sends activityStart;
    the fake cuts the turn (``interrupted``) and the agent's speech ends interrupted, the
    rest of the text never said."""
    from google.genai import types

    text = "alpha beta gamma delta epsilon zeta eta theta"
    fake_gemini.pace = 0.1
    fake_gemini.queue_text(text, chunks=8)
    manual = types.RealtimeInputConfig(
        automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)
    )
    async with _plugin_session(fake_gemini, model=TEXT_MODEL, modalities=[Modality.TEXT],
                               realtime_input_config=manual) as session:
        handle = session.generate_reply(user_input="recite")
        await fake_gemini.wait_for_sent("serverContent", where=lambda sc: "modelTurn" in sc)
        session.current_agent.realtime_llm_session.interrupt()
        await fake_gemini.wait_for_sent("serverContent", where=lambda sc: sc.get("interrupted"))
        await asyncio.wait_for(handle, 5)
        said = [m.text_content for m in session.history.messages() if m.role == "assistant"]
    assert fake_gemini.last.interruptions == 1
    assert fake_gemini.messages("realtimeInput")[-1] == {"activityStart": {}}
    assert handle.interrupted
    assert text not in said and all(text.startswith(s) for s in said)
    sent = fake_gemini.last.sent_of("serverContent")
    assert [sc for sc in sent if "interrupted" in sc or "turnComplete" in sc] == [
        {"interrupted": True}, {"turnComplete": True}]
    assert not any("generationComplete" in sc for sc in sent)


# ------------------------------------------------------------------------------------------
# 4. goAway, resumption updates
# ------------------------------------------------------------------------------------------


async def test_end_session_sends_go_away_then_closes() -> None:
    async with FakeGeminiLive() as server, raw_client(server) as client:
        await client.setup()
        conn = await server.wait_for_connections(1)
        ending = asyncio.create_task(conn.end_session(after=0.3))
        assert await client.recv() == {"goAway": {"timeLeft": "0.3s"}}
        t0 = time.perf_counter()
        code, _ = await client.closed()
        assert code == GO_AWAY_CLOSE_CODE and time.perf_counter() - t0 >= 0.2
        assert await ending is False  # the server had to close it
    assert duration(600) == "600s" and duration(1.25) == "1.25s"


async def test_plugin_reconnects_on_go_away_resuming_the_session(fake_gemini: FakeGeminiLive) -> None:
    fake_gemini.queue_text("Hello.")
    async with _plugin_session(fake_gemini, model=TEXT_MODEL, modalities=[Modality.TEXT]) as session:
        await session.run(user_input="hi")
        rt = session.current_agent.realtime_llm_session
        await until(lambda: rt.session_resumption_handle == fake_gemini.issued_handles[-1])
        first = fake_gemini.last
        client_closed_first = await first.end_session(after=2.0)
        second = await fake_gemini.wait_for_connections(2)
    assert first.sent_of("goAway") == [{"timeLeft": "2s"}]
    assert client_closed_first  # the plugin left on goAway, before the deadline
    assert second.resumption_handle == fake_gemini.issued_handles[-1]


async def test_resumption_updates_are_not_resumable_while_generating() -> None:
    async with FakeGeminiLive(pace=0.02) as server, raw_client(server) as client:
        server.queue_function_call("lookup", {"q": "a"}, id="fc-a")
        server.queue_text("Found it, all of it.", chunks=3)
        await client.setup()
        await client.user_turn("look it up")
        await client.recv_until(lambda m: "toolCall" in m)
        # the model waits for its tool: not resumable, and no handle
        assert await client.recv() == {"sessionResumptionUpdate": {"resumable": False}}
        await asyncio.sleep(0.1)
        assert server.last.generating is False and server.last.pending_calls == {"fc-a": "lookup"}
        await client.send({"tool_response": {"functionResponses": [
            {"id": "fc-a", "name": "lookup", "response": {"output": "ok"}}]}})
        reply = await client.recv_until(lambda m: bool((m.get("sessionResumptionUpdate") or {}).get("resumable")))

    updates = [(i, m["sessionResumptionUpdate"]) for i, m in enumerate(reply) if "sessionResumptionUpdate" in m]
    # while the reply streams: not resumable; a handle only once the turn is complete
    (turn_complete_at,) = [i for i, m in enumerate(reply) if _sc(m, "turnComplete")]
    assert [u for i, u in updates if i < turn_complete_at] == [{"resumable": False}]
    (last_i, last) = updates[-1]
    assert last_i > turn_complete_at and last["resumable"] is True and last["newHandle"]
    first_chunk = next(i for i, m in enumerate(reply) if _sc(m, "modelTurn"))
    assert updates[0][0] > first_chunk  # sent once the model is generating


# ------------------------------------------------------------------------------------------
# 5. replies arrive later, streamed
# ------------------------------------------------------------------------------------------


def test_split_text_keeps_every_character() -> None:
    for text, n in [("Arr, the pirate speaks.", 3), ("one", 5), ("", 3), ("a  b\nc ", 2)]:
        pieces = split_text(text, n)
        assert "".join(pieces) == text and 1 <= len(pieces) <= max(1, n)
    assert split_text("Arr, the pirate speaks.", 3) == ["Arr, the ", "pirate ", "speaks."]


async def test_reply_to_a_tool_response_comes_later_and_streamed() -> None:
    async with FakeGeminiLive(response_delay=0.3, pace=0.05) as server, raw_client(server) as client:
        server.queue_function_call("lookup", {"q": "a"}, id="fc-a")
        server.queue_text("The answer is forty two.", chunks=4)
        await client.setup()
        await client.user_turn("look it up")
        await client.recv_until(lambda m: "toolCall" in m)
        await client.send({"tool_response": {"functionResponses": [
            {"id": "fc-a", "name": "lookup", "response": {"output": "42"}}]}})
        # the fake goes on reading while the model "thinks": nothing was said yet
        await client.send({"realtime_input": {"audio": {"data": _pcm_b64(0), "mimeType": "audio/pcm;rate=16000"}}})
        await server.wait_for("realtimeInput")
        assert server.last.generating
        assert not any(_sc(m, "modelTurn") for m in server.last.sent)
        reply = await client.recv_until(lambda m: bool(_sc(m, "turnComplete")))
    chunks = [(m, t) for m, t in zip(client.got, client.got_at) if _sc(m, "modelTurn")]
    assert len(chunks) == 4 and _text_of([m for m, _ in chunks]) == "The answer is forty two."
    gaps = [b - a for (_, a), (_, b) in zip(chunks, chunks[1:])]
    assert min(gaps) >= 0.03
    assert reply[-1] == {"serverContent": {"turnComplete": True}}


async def test_plugin_reassembles_a_streamed_reply(fake_gemini: FakeGeminiLive) -> None:
    fake_gemini.pace = 0.02
    fake_gemini.queue_function_call("lookup", {"q": "x"})
    fake_gemini.queue_text("Found it: the treasure is under the palm tree.", chunks=5)
    async with _plugin_session(fake_gemini, model=TEXT_MODEL, modalities=[Modality.TEXT]) as session:
        result = await session.run(user_input="where is it?")
        result.expect.next_event().is_function_call(name="lookup")
        result.expect.next_event().is_function_call_output()
        msg = result.expect.next_event().is_message(role="assistant")
        assert msg.event().item.text_content == "Found it: the treasure is under the palm tree."
    text_chunks = [sc for sc in fake_gemini.sent_of("serverContent") if "modelTurn" in sc]
    assert len(text_chunks) == 5


async def test_audio_turn_streams_transcription_with_audio(fake_gemini: FakeGeminiLive) -> None:
    fake_gemini.queue_reply(ModelText("Ahoy there, matey.", audio_chunks=2, chunks=3))
    async with _plugin_session(fake_gemini) as session:  # the default: native audio, AUDIO out
        result = await session.run(user_input="hello")
        msg = result.expect.next_event().is_message(role="assistant")
        assert msg.event().item.text_content == "Ahoy there, matey."
    sent = fake_gemini.sent_of("serverContent")
    assert [sc["outputTranscription"]["text"] for sc in sent if "outputTranscription" in sc] == [
        "Ahoy ", "there, ", "matey."]
    assert sum(1 for sc in sent if "modelTurn" in sc) == 2 and fake_gemini.last.audio_produced


# ------------------------------------------------------------------------------------------


class _ToolAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You look things up.")

    @llm.function_tool
    async def lookup(self, q: str) -> str:
        """Look something up.

        Args:
            q: what to look up
        """
        return f"result for {q}"


@contextlib.asynccontextmanager
async def _plugin_session(server: FakeGeminiLive, **model_kwargs: Any) -> AsyncIterator[AgentSession]:
    async with timeout(TEST_TIMEOUT):
        model = server.realtime_model(**model_kwargs)
        async with model, AgentSession(llm=model) as session:
            await session.start(_ToolAgent())
            yield session
