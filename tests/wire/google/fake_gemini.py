"""A loopback fake of the Gemini Live API (Gemini API flavour, not Vertex), over TLS, as strict
as the real service where that is known.

google-genai always dials ``wss://`` (it rewrites the base URL's scheme), so the fake serves
TLS with a self-signed certificate for 127.0.0.1/localhost that it generates itself (with the
``cryptography`` package). The client is made to trust it through
``HttpOptions(async_client_args={"ssl": <SSLContext>})``, which google-genai passes straight
to ``websockets.connect(ssl=...)``; ``SSL_CERT_FILE=<server.ca_file>`` works too, if set
before the plugin builds its ``genai.Client`` (that happens in ``RealtimeModel.session()``).

Usage::

    async with FakeGeminiLive() as server:
        server.queue_function_call("switch_persona", {"persona": "pirate"})
        server.queue_text("Arr!")
        model = google.realtime.RealtimeModel(
            model="gemini-live-2.5-flash-preview",  # TEXT output needs a non-native-audio model
            modalities=[Modality.TEXT], **server.model_kwargs())
        ...
        conn = server.last
        assert conn.system_instruction == "..."

Replies are scripted: a completed client turn (``clientContent`` with ``turnComplete``), a
``toolResponse`` that answers every outstanding call, or a ``realtimeInput`` text each consume
the next queued reply (taken at once, in arrival order); when the script is empty
``default_reply`` is used (``None``: no reply at all). A reply is *generated* in a task of its
own, after ``response_delay``, streamed in several chunks ``pace`` seconds apart, while the
fake goes on reading the client: so a reply never arrives inside the client's send, and the
user can barge in on it.

What the fake enforces, like the service (each rule cites its source beside the code):

- every client message is checked against ``LiveClientMessage`` (setup: ``LiveClientSetup``)
  and every server message the fake (or a test through ``conn.send``) sends against
  ``LiveServerMessage``, unknown fields forbidden (see ``gemini_schema``); violations land in
  ``server.schema_violations`` (the ``fake_gemini`` fixture fails the test on any), and an
  invalid client message closes the connection with 1007 (``reject_invalid``);
- a native-audio model refuses a TEXT-output setup (1007, "Cannot extract voices from a
  non-audio request.");
- ``clientContent`` with role ``system`` closes with 1007 (Gemini API);
- a ``gemini-3*`` model refuses ``clientContent`` after the first model turn unless the setup
  set ``historyConfig.initialHistoryInClientContent`` (1007);
- user activity (``realtimeInput`` activityStart, text, or audio that is not silence) while a
  tool call is outstanding cancels it (``toolCallCancellation`` with the ids); any client input
  that arrives while a model turn is still streaming interrupts it (``interrupted: true``,
  then ``turnComplete``, no ``generationComplete``);
- ``sessionResumptionUpdate`` is ``resumable: false`` without a handle while the model is
  generating or waits for a tool; a fresh handle comes only at a turn boundary;
- ``conn.end_session(after=...)`` sends ``goAway`` (``timeLeft``) and closes after that time.
"""

from __future__ import annotations

import array
import asyncio
import base64
import binascii
import contextlib
import copy
import datetime
import ipaddress
import json
import os
import re
import ssl
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection

from .gemini_schema import check_client_message, check_server_message
from ..loopback import LoopbackConnection, LoopbackWebSocketServer, pcm16_tone_b64

__all__ = [
    "FakeGeminiLive",
    "GeminiConnection",
    "ToolCall",
    "ModelText",
    "make_self_signed_cert",
    "is_native_audio",
    "is_gemini3",
    "NATIVE_AUDIO_TEXT_REASON",
    "SYSTEM_ROLE_REASON",
    "INVALID_ARGUMENT_REASON",
    "GO_AWAY_CLOSE_CODE",
    "TEXT_MODEL",
]

OUTPUT_SAMPLE_RATE = 24000

# A Gemini API Live model that can answer in TEXT (a half-cascade model, not native audio):
# for tests that really want text output.
TEXT_MODEL = "gemini-live-2.5-flash-preview"

# -- close reasons, as the service words them ------------------------------------------------
# Native-audio models take no TEXT output: the setup closes with 1007 and this reason.
# livekit/livekit#4103 ("received 1007 (invalid frame payload data) Cannot extract voices from a
# non-audio request.", gemini-2.5-flash-native-audio-preview-09-2025 with modalities=[TEXT]);
# kizuna-ai-lab/sokuji#93 (same close, gemini-2.5-flash-native-audio-latest); DESIGN.md.
NATIVE_AUDIO_TEXT_REASON = "Cannot extract voices from a non-audio request."
# The Gemini API's generic 1007 reason, e.g. yagudaev/voiceclaw#248 (clientContent on
# gemini-3.1-flash-live-preview without historyConfig: "WebSocket closed: 1007 Request contains
# an invalid argument.").
INVALID_ARGUMENT_REASON = "Request contains an invalid argument."
# Content.role on the Gemini API "Must be either 'user' or 'model'" (ai.google.dev/api/caching
# #Content); generateContent answers "Please use a valid role: user, model."
# (the-open-agent/openagent#1666). The plugin itself keeps role="model" on the Gemini API for
# that reason (realtime_api.py, RealtimeSession.update_instructions: "The Gemini API errors on
# role="system""); DESIGN.md measured the close as 1007.
SYSTEM_ROLE_REASON = "Please use a valid role: user, model."
# After goAway the service aborts a connection the client did not close:
# pollen-robotics/reachy_mini_conversation_app#357 ("1008 ... Connection aborted because the
# client failed to close the connection after receiving a GoAway signal once the session
# duration expired").
GO_AWAY_CLOSE_CODE = 1008
GO_AWAY_CLOSE_REASON = (
    "Connection aborted because the client failed to close the connection after receiving "
    "a GoAway signal"
)

# client message kinds, as google-genai sends them (snake_case) -> the proto JSON names
_KIND_ALIASES = {
    "setup": "setup",
    "client_content": "clientContent",
    "clientContent": "clientContent",
    "realtime_input": "realtimeInput",
    "realtimeInput": "realtimeInput",
    "tool_response": "toolResponse",
    "toolResponse": "toolResponse",
}


def model_id(model: str | None) -> str:
    """``models/gemini-x`` -> ``gemini-x`` (the setup carries the resource name)."""
    return (model or "").rsplit("/", 1)[-1]


def is_native_audio(model: str | None) -> bool:
    """A native-audio model (audio out only), e.g. the plugin's default
    ``gemini-2.5-flash-native-audio-preview-12-2025``."""
    return "native-audio" in model_id(model)


def is_gemini3(model: str | None) -> bool:
    """A 3.x Live model (``gemini-3.1-flash-live-preview``, ``gemini-3.8-live``, ...)."""
    return model_id(model).startswith("gemini-3")


@dataclass
class ToolCall:
    """A scripted function call (sent as ``toolCall.functionCalls[]``)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass
class ModelText:
    """A scripted model turn.

    ``audio=None`` follows the session's ``responseModalities``: with AUDIO the fake sends
    ``inlineData`` PCM chunks plus ``outputTranscription`` (what the plugin reads as the
    text when output transcription is on), with TEXT it sends ``modelTurn`` text parts.
    The text is streamed in ``chunks`` pieces (split between words; ``None``: the server's
    ``text_chunks``), ``pace`` seconds apart.
    """

    text: str
    audio: bool | None = None
    audio_chunks: int = 2
    chunks: int | None = None


Part = ToolCall | ModelText
Reply = Sequence[Part]


_AUDIO_CHUNK_B64 = pcm16_tone_b64(330, OUTPUT_SAMPLE_RATE)


def make_self_signed_cert(directory: str) -> tuple[str, str]:
    """Write a self-signed CA-style certificate for 127.0.0.1/localhost; return (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-gemini-live.localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, "fake-gemini-cert.pem")
    key_path = os.path.join(directory, "fake-gemini-key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


def _texts(content: Any) -> str | None:
    if not isinstance(content, dict):
        return None
    parts = content.get("parts") or []
    texts = [p["text"] for p in parts if isinstance(p, dict) and "text" in p]
    return "".join(texts) if texts else None


def _get(d: Any, *keys: str) -> Any:
    """d[k1][k2]..., accepting camelCase or snake_case spellings of each key."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        snake = "".join("_" + c.lower() if c.isupper() else c for c in k)
        d = d.get(k, d.get(snake))
    return d


def split_text(text: str, n: int) -> list[str]:
    """``text`` in at most ``n`` pieces, cut between words; ``"".join(...) == text``."""
    words = re.findall(r"\s*\S+\s*", text) or [text]
    n = max(1, min(n, len(words)))
    size, extra = divmod(len(words), n)
    out, i = [], 0
    for k in range(n):
        j = i + size + (1 if k < extra else 0)
        out.append("".join(words[i:j]))
        i = j
    return out


def duration(seconds: float) -> str:
    """A google.protobuf.Duration in JSON: ``"1.5s"``, ``"10s"``."""
    text = f"{seconds:.9f}".rstrip("0").rstrip(".")
    return f"{text}s"


def _clip_reason(reason: str) -> str:
    """A WebSocket close reason holds at most 123 bytes (RFC 6455, 5.5)."""
    data = reason.encode()
    if len(data) <= 123:
        return reason
    return data[:120].decode(errors="ignore") + "..."


def _has_speech(blob: Any, threshold: int) -> bool:
    """Whether a PCM16 ``Blob`` (base64 ``data``) holds more than silence: the fake's voice
    activity detection, a peak-amplitude gate."""
    if not isinstance(blob, dict) or not isinstance(blob.get("data"), str):
        return False
    try:
        pcm = base64.b64decode(blob["data"].replace("-", "+").replace("_", "/"))
    except (binascii.Error, ValueError):
        return False
    samples = array.array("h", pcm[: len(pcm) // 2 * 2])
    if sys.byteorder != "little":
        samples.byteswap()
    return any(abs(s) > threshold for s in samples)


class GeminiConnection(LoopbackConnection):
    """One client WebSocket connection, as the fake saw it.

    ``received`` holds every client message after setup, as ``{"kind": ..., "body": ...}``.
    """

    _server: FakeGeminiLive

    def __init__(self, server: FakeGeminiLive, ws: ServerConnection, index: int) -> None:
        super().__init__(server, ws, index)
        self.setup: dict[str, Any] = {}
        """the ``setup`` object of the first message (keys as sent: camelCase)"""
        self.raw: list[dict[str, Any]] = []
        """every client message exactly as parsed from the wire (setup included)"""
        self.issued_handles: list[str] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        """code and reason of the close (the fake's own, or the client's)"""
        self.schema_violations: list[str] = []
        self.pending_calls: dict[str, str] = {}
        """tool calls sent and not answered yet: id -> name"""
        self.cancelled_calls: list[str] = []
        """ids the fake cancelled with ``toolCallCancellation``"""
        self.model_turns = 0
        """model turns started on this connection (first chunk or tool call sent)"""
        self.interruptions = 0
        """model turns cut short by client input (``interrupted: true`` sent)"""
        self._generation: asyncio.Task[None] | None = None
        self._closed_event = asyncio.Event()
        self._history_open = False
        """in the initial-history phase of ``historyConfig.initialHistoryInClientContent``"""

    # ---- accessors -------------------------------------------------------------------------

    @property
    def model(self) -> str | None:
        return self.setup.get("model")

    @property
    def system_instruction(self) -> str | None:
        """Text of ``setup.systemInstruction`` (None when absent)."""
        return _texts(_get(self.setup, "systemInstruction"))

    @property
    def voice(self) -> str | None:
        return _get(
            self.setup, "generationConfig", "speechConfig", "voiceConfig",
            "prebuiltVoiceConfig", "voiceName",
        )

    @property
    def response_modalities(self) -> list[str]:
        return list(_get(self.setup, "generationConfig", "responseModalities") or ["AUDIO"])

    @property
    def resumption_requested(self) -> bool:
        """The setup carried a ``sessionResumption`` config (the plugin always sends one)."""
        return _get(self.setup, "sessionResumption") is not None

    @property
    def resumption_handle(self) -> str | None:
        """The handle the client asked to resume from (``setup.sessionResumption.handle``)."""
        return _get(self.setup, "sessionResumption", "handle")

    @property
    def initial_history_in_client_content(self) -> bool:
        """``setup.historyConfig.initialHistoryInClientContent`` (``types.HistoryConfig``)."""
        return bool(_get(self.setup, "historyConfig", "initialHistoryInClientContent"))

    @property
    def gemini_api(self) -> bool:
        """Dialled the Gemini API (``google.ai.generativelanguage``), not Vertex AI."""
        return "google.ai.generativelanguage" in self.path

    @property
    def generating(self) -> bool:
        """A model turn is being generated or streamed right now."""
        return self._generation is not None and not self._generation.done()

    @property
    def tool_names(self) -> list[str]:
        names: list[str] = []
        for tool in _get(self.setup, "tools") or []:
            for fd in _get(tool, "functionDeclarations") or []:
                names.append(fd.get("name"))
        return names

    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Bodies of client messages of ``kind`` (``clientContent``, ``realtimeInput``,
        ``toolResponse``), or all as ``{"kind", "body"}`` when kind is None."""
        if kind is None:
            return list(self.received)
        kind = _KIND_ALIASES.get(kind, kind)
        return [m["body"] for m in self.received if m["kind"] == kind]

    def sent_of(self, key: str) -> list[dict[str, Any]]:
        """Bodies of the server messages carrying ``key`` (``serverContent``, ``toolCall``,
        ``toolCallCancellation``, ``goAway``, ``sessionResumptionUpdate``, ...)."""
        return [m[key] for m in self.sent if key in m]

    @property
    def client_contents(self) -> list[dict[str, Any]]:
        return self.messages("clientContent")

    @property
    def tool_responses(self) -> list[dict[str, Any]]:
        return self.messages("toolResponse")

    @property
    def realtime_inputs(self) -> list[dict[str, Any]]:
        return self.messages("realtimeInput")

    def turns(self) -> list[tuple[str | None, str | None]]:
        """(role, text) of every turn sent in ``clientContent`` messages, in order."""
        out: list[tuple[str | None, str | None]] = []
        for cc in self.client_contents:
            for turn in cc.get("turns") or []:
                out.append((turn.get("role"), _texts(turn)))
        return out

    def function_responses(self) -> list[dict[str, Any]]:
        return [fr for tr in self.tool_responses for fr in _get(tr, "functionResponses") or []]

    # ---- server side actions ---------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        """Send a server message; it is checked against ``LiveServerMessage`` first (a
        violation is recorded, and the message still goes out, as a buggy server's would)."""
        problems = check_server_message(message)
        if problems:
            self._violation("server", message, problems)
        await super().send(message)

    async def send_resumption_update(self, handle: str | None = None,
                                     resumable: bool = True) -> str | None:
        """A ``sessionResumptionUpdate``. Resumable: with a fresh handle (returned). Not
        resumable: no handle at all ("we send update empty new_handle and resumable=false",
        ``types.LiveServerSessionResumptionUpdate.resumable``)."""
        if not resumable:
            await self.send({"sessionResumptionUpdate": {"resumable": False}})
            return None
        handle = handle or self._server._new_id("handle")
        self.issued_handles.append(handle)
        self._server.issued_handles.append(handle)
        await self.send(
            {"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}}
        )
        return handle

    async def send_go_away(self, time_left: str | float = "1s") -> None:
        """``goAway`` with ``timeLeft`` (a Duration: ``"1.5s"``; a number is seconds)."""
        if not isinstance(time_left, str):
            time_left = duration(time_left)
        await self.send({"goAway": {"timeLeft": time_left}})

    async def end_session(self, after: float = 0.5, *, code: int = GO_AWAY_CLOSE_CODE,
                          reason: str = GO_AWAY_CLOSE_REASON) -> bool:
        """End the session as the service does at its connection time limit: ``goAway`` with
        ``timeLeft=after``, then, if the client has not closed by then, close (1008).

        "The lifetime of a connection is limited ... to around 10 minutes. ... You'll also
        receive a GoAway message before the connection ends" (ai.google.dev/gemini-api/docs/
        live-session, "Session lifetime"); ``types.LiveServerGoAway.time_left``: "The remaining
        time before the connection will be terminated as ABORTED"; the close: see
        ``GO_AWAY_CLOSE_REASON``. Returns True when the client closed first.
        """
        await self.send_go_away(after)
        try:
            await asyncio.wait_for(self._closed_event.wait(), after)
            return True
        except asyncio.TimeoutError:
            await self.close(code, reason)
            return False

    async def close(self, code: int = 1011, reason: str = "fake server closed") -> None:
        """Drop the connection from the server side (the plugin will reconnect)."""
        reason = _clip_reason(reason)
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._stop_generation()
        await self._ws.close(code, reason)

    async def wait_closed(self, timeout: float = 3.0) -> None:
        await asyncio.wait_for(self._closed_event.wait(), timeout)

    def _mark_closed(self) -> None:
        super()._mark_closed()
        if self.close_code is None and self._ws.close_code is not None:
            self.close_code, self.close_reason = self._ws.close_code, self._ws.close_reason
        self._stop_generation()
        self._closed_event.set()

    def _stop_generation(self) -> None:
        if self._generation is not None and not self._generation.done():
            self._generation.cancel()

    def _violation(self, direction: str, message: Any, problems: list[str]) -> None:
        kinds = list(message) if isinstance(message, dict) else [type(message).__name__]
        for p in problems:
            line = f"connection {self.index}, {direction} message {kinds}: {p}"
            self.schema_violations.append(line)
            self._server.schema_violations.append(line)
        self._server._notify()

    # ---- what the service refuses ----------------------------------------------------------

    def _refuse_setup(self) -> str | None:
        """Why the service would close this setup (None: it is accepted)."""
        modalities = [str(m).upper() for m in self.response_modalities]
        if is_native_audio(self.model) and "TEXT" in modalities:
            # native-audio models answer in audio only (see NATIVE_AUDIO_TEXT_REASON)
            return NATIVE_AUDIO_TEXT_REASON
        return None

    def _refuse(self, kind: str, body: dict[str, Any]) -> str | None:
        """Why the service would close on this client message (None: accepted)."""
        if kind == "setup":
            # "Session configuration sent only in the first client message"
            # (BidiGenerateContentClientMessage.setup, generativelanguage v1beta reference)
            return INVALID_ARGUMENT_REASON
        if kind != "clientContent":
            return None
        roles = [t.get("role") for t in body.get("turns") or [] if isinstance(t, dict)]
        if self.gemini_api and "system" in roles:
            # Gemini API (not Vertex, where role="system" updates the system instruction):
            # see SYSTEM_ROLE_REASON
            return SYSTEM_ROLE_REASON
        if is_gemini3(self.model) and self.model_turns > 0 and not self.initial_history_in_client_content:
            # Gemini 3.x: "send_client_content is only supported for seeding initial context
            # history (requires setting initial_history_in_client_content in session config).
            # To send text updates during the conversation, use send_realtime_input"
            # (ai.google.dev/gemini-api/docs/live-api/capabilities, "Model comparison");
            # "Gemini 3.1 rejects send_client_content after the first model turn" ... "to
            # prevent 1007 errors" (livekit/agents#5251); the field is
            # types.LiveClientSetup.history_config = types.HistoryConfig(
            # initial_history_in_client_content=True), which the plugin sets in
            # _build_connect_config when its chat context is not mutable.
            return INVALID_ARGUMENT_REASON
        return None

    # ---- protocol --------------------------------------------------------------------------

    def _after_setup(self) -> None:
        self._history_open = self.initial_history_in_client_content

    async def _handle(self, kind: str, body: dict[str, Any]) -> None:
        if kind == "clientContent":
            await self._on_client_content(body)
        elif kind == "toolResponse":
            await self._on_tool_response(body)
        elif kind == "realtimeInput":
            await self._on_realtime_input(body)

    async def _on_client_content(self, body: dict[str, Any]) -> None:
        turn_complete = bool(_get(body, "turnComplete"))
        if self._history_open:
            # types.HistoryConfig.initial_history_in_client_content: "the server will wait and
            # at first process client_content messages until turn_complete is true. This
            # initial history will not trigger a model call"
            if turn_complete:
                self._history_open = False
            return
        # types.LiveClientContent: "A message here will interrupt any current model generation."
        await self._interrupt()
        if turn_complete:
            self._start_reply()

    async def _on_tool_response(self, body: dict[str, Any]) -> None:
        responses = [r for r in _get(body, "functionResponses") or [] if isinstance(r, dict)]
        ids = [r["id"] for r in responses if r.get("id")]
        if ids and all(i in self.cancelled_calls for i in ids):
            return  # answers calls the fake already cancelled: nothing left to reply to
        for r in responses:
            if r.get("id"):
                self.pending_calls.pop(r["id"], None)
            else:  # a call the client gave an id of its own: match by name
                for call_id, name in list(self.pending_calls.items()):
                    if name == r.get("name"):
                        del self.pending_calls[call_id]
                        break
        if self.pending_calls:
            return  # the model goes on once every call is answered
        if self._server.reply_to_tool_response:
            self._start_reply()

    async def _on_realtime_input(self, body: dict[str, Any]) -> None:
        if self._is_user_activity(body):
            await self._barge_in()
        if body.get("text"):
            self._start_reply()

    def _is_user_activity(self, body: dict[str, Any]) -> bool:
        """The user started to speak or type: ``activityStart``, ``text``, or audio that is
        not silence (what automatic activity detection would call speech)."""
        if _get(body, "activityStart") is not None or body.get("text"):
            return True
        blobs = [_get(body, "audio"), *(_get(body, "mediaChunks") or [])]
        threshold = self._server.speech_threshold
        return any(_has_speech(b, threshold) for b in blobs if b)

    async def _barge_in(self) -> None:
        """The user interrupts: outstanding tool calls are cancelled, a streaming turn stops."""
        if self.pending_calls:
            # types.LiveServerToolCallCancellation: "a previously issued ToolCallMessage with the
            # specified ids should have been not executed and should be cancelled ... This
            # message occurs only in cases where the clients interrupt server turns."
            # DESIGN.md ("toolCallCancellation on barge-in (the plugin only logs it)").
            ids = list(self.pending_calls)
            self.pending_calls.clear()
            self.cancelled_calls += ids
            await self.send({"toolCallCancellation": {"ids": ids}})
        await self._interrupt()

    async def _interrupt(self) -> bool:
        """Stop the turn being generated: ``interrupted: true`` then ``turnComplete``.

        types.LiveServerContent.interrupted: "a client message has interrupted current model
        generation"; .generation_complete: "When model is interrupted while generating there
        will be no generation_complete message in interrupted turn, it will go through
        interrupted > turn_complete."
        """
        task = self._generation
        if task is None or task.done():
            return False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self.interruptions += 1
        await self.send({"serverContent": {"interrupted": True}})
        await self.send({"serverContent": {"turnComplete": True}})
        return True

    def _start_reply(self) -> None:
        """Take the next scripted reply now (script order = trigger order) and generate it in
        a task of its own, after the turn being generated, if any."""
        reply = self._server._next_reply()
        if reply is None:
            return
        previous = self._generation if self.generating else None
        self._generation = asyncio.get_running_loop().create_task(
            self._generate(list(reply), previous), name=f"fake-gemini-turn-{self.index}"
        )

    async def _generate(self, reply: list[Part], previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(previous)
        server = self._server
        if server.response_delay:
            await asyncio.sleep(server.response_delay)
        audio_default = "AUDIO" in [str(m).upper() for m in self.response_modalities]
        started = False
        calls: list[dict[str, Any]] = []

        async def emit(message: dict[str, Any]) -> None:
            nonlocal started
            await self.send(message)
            parts = _get(message, "serverContent", "modelTurn", "parts") or []
            if any("inlineData" in p for p in parts):
                self.audio_produced = True
            if not started:
                started = True
                self.model_turns += 1
                await self._not_resumable()

        for part in reply:
            if isinstance(part, ToolCall):
                calls.append({"id": part.id or server._new_id("fc"), "name": part.name,
                              "args": part.args})
                continue
            if calls:
                await emit(self._tool_call(calls))
                calls = []
            audio = part.audio if part.audio is not None else audio_default
            for message in self._chunks(part, audio):
                await emit(message)
                await asyncio.sleep(server.pace)
        if calls:
            # the model waits for the toolResponse; its turn goes on after it
            await emit(self._tool_call(calls))
            return
        await self.send({"serverContent": {"generationComplete": True}})
        await asyncio.sleep(server.pace)
        await self.send({"serverContent": {"turnComplete": True}})
        await self.send(
            {"usageMetadata": {"promptTokenCount": 20, "responseTokenCount": 10,
                               "totalTokenCount": 30}}
        )
        if server.resumption_updates and self.resumption_requested:
            # a turn boundary: the state can be resumed from here
            await self.send_resumption_update()

    async def _not_resumable(self) -> None:
        """types.LiveServerSessionResumptionUpdate.resumable: "It might be not possible to
        resume session at some points. In that case we send update empty new_handle and
        resumable=false. Example of such case could be model executing function calls or just
        generating." """
        if self._server.resumption_updates and self.resumption_requested:
            await self.send_resumption_update(resumable=False)

    def _tool_call(self, calls: list[dict[str, Any]]) -> dict[str, Any]:
        for call in calls:
            self.pending_calls[call["id"]] = call["name"]
        return {"toolCall": {"functionCalls": calls}}

    def _chunks(self, part: ModelText, audio: bool) -> list[dict[str, Any]]:
        pieces = split_text(part.text, part.chunks or self._server.text_chunks)
        if not audio:
            return [{"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": p}]}}}
                    for p in pieces]
        out: list[dict[str, Any]] = []
        for i in range(max(len(pieces), part.audio_chunks, 1)):
            if i < len(pieces):
                out.append({"serverContent": {"outputTranscription": {"text": pieces[i]}}})
            if i < max(1, part.audio_chunks):
                out.append({"serverContent": {"modelTurn": {"role": "model", "parts": [{
                    "inlineData": {"mimeType": f"audio/pcm;rate={OUTPUT_SAMPLE_RATE}",
                                   "data": _AUDIO_CHUNK_B64},
                }]}}})
        return out


class FakeGeminiLive(LoopbackWebSocketServer[GeminiConnection]):
    """Loopback Gemini Live server over TLS. Use as ``async with`` (or the ``fake_gemini``
    fixture). ``queue_reply`` queues one model reply made of these parts (tool calls end the
    turn early).

    Args:
        default_reply: parts used when a reply is due and the script is empty;
            ``None`` sends nothing.
        resumption_updates: when the setup asked for session resumption (the plugin always
            does), send ``sessionResumptionUpdate``: ``resumable: false`` once a model turn has
            started (generating, or waiting for a tool), and a fresh handle after each
            completed model turn.
        reply_to_tool_response: a ``toolResponse`` that answers every outstanding call
            triggers the next reply (the model's follow-up after a blocking tool), as on the
            real service.
        response_delay: seconds before the first chunk of each reply (the model's latency).
        pace: seconds between the streamed chunks of a model turn (0 still yields to the
            event loop between chunks, so client messages are read in between).
        text_chunks: how many pieces a ``ModelText`` is streamed in (unless it says).
        reject_invalid: close with 1007 on a client message that breaks the schema (it is
            recorded in ``schema_violations`` either way).
        speech_threshold: peak PCM16 amplitude above which input audio counts as the user
            speaking (barge-in).
        cert_dir: where to write the certificate (a temporary directory by default).
    """

    api_key = "fake-gemini-loopback-key"
    connection_class = GeminiConnection
    _id_sep = "-"

    def __init__(
        self,
        *,
        default_reply: Reply | None = (ModelText("OK."),),
        resumption_updates: bool = True,
        reply_to_tool_response: bool = True,
        response_delay: float = 0.0,
        pace: float = 0.005,
        text_chunks: int = 3,
        reject_invalid: bool = True,
        speech_threshold: int = 500,
        cert_dir: str | None = None,
    ) -> None:
        super().__init__(response_delay=response_delay)
        self.default_reply = list(default_reply) if default_reply is not None else None
        self.resumption_updates = resumption_updates
        self.reply_to_tool_response = reply_to_tool_response
        self.pace = pace
        self.text_chunks = text_chunks
        self.reject_invalid = reject_invalid
        self.speech_threshold = speech_threshold
        self.issued_handles: list[str] = []
        self.schema_violations: list[str] = []
        """every schema problem seen on any connection, either direction"""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._cert_dir = cert_dir
        self.ca_file: str | None = None
        self.client_ssl_context: ssl.SSLContext | None = None

    # ---- lifecycle: TLS with a certificate of its own --------------------------------------

    def _tls(self) -> ssl.SSLContext:
        if self._cert_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fake-gemini-")
            self._cert_dir = self._tmp.name
        cert, key = make_self_signed_cert(self._cert_dir)
        self.ca_file = cert
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        self.client_ssl_context = ssl.create_default_context(cafile=cert)
        return server_ctx

    async def _close(self) -> None:
        tasks = [c._generation for c in self.connections if c._generation is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        await super()._close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # ---- how to point the plugin at it -----------------------------------------------------

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:PORT``; google-genai dials
        ``wss://127.0.0.1:PORT/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent``."""
        assert self.port is not None, "server not started"
        return f"https://127.0.0.1:{self.port}"

    def http_options(self, **kwargs: Any) -> Any:
        """A fresh ``google.genai.types.HttpOptions`` aimed at this server, trusting its cert.

        A fresh object per model matters: the plugin mutates it (adds a header) and
        google-genai keeps a reference.
        """
        from google.genai import types

        return types.HttpOptions(
            base_url=self.base_url,
            async_client_args={"ssl": self.client_ssl_context},
            **kwargs,
        )

    def model_kwargs(self) -> dict[str, Any]:
        return {"api_key": self.api_key, "vertexai": False, "http_options": self.http_options()}

    def realtime_model(self, **kwargs: Any) -> Any:
        """A real ``livekit.plugins.google.realtime.RealtimeModel`` pointed at this server."""
        from livekit.plugins.google.realtime import RealtimeModel

        return RealtimeModel(**{**self.model_kwargs(), **kwargs})

    # ---- scripting -------------------------------------------------------------------------

    def queue_function_call(self, name: str, args: dict[str, Any] | None = None, *,
                            id: str | None = None) -> None:
        self.queue_reply(ToolCall(name, args or {}, id))

    def queue_text(self, text: str, *, audio: bool | None = None, audio_chunks: int = 2,
                   chunks: int | None = None) -> None:
        self.queue_reply(ModelText(text, audio=audio, audio_chunks=audio_chunks, chunks=chunks))

    # ---- recorded traffic ------------------------------------------------------------------

    @property
    def setups(self) -> list[dict[str, Any]]:
        return [c.setup for c in self.connections]

    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [m for c in self.connections for m in c.messages(kind)]

    def sent_of(self, key: str) -> list[dict[str, Any]]:
        return [m for c in self.connections for m in c.sent_of(key)]

    def _received_of(self, kind: str) -> list[dict[str, Any]]:
        return self.messages(kind)  # wait_for: the bodies of client messages of a kind

    def _sent_of(self, kind: str) -> list[dict[str, Any]]:
        return self.sent_of(kind)  # wait_for_sent: server messages carrying a key

    async def wait_idle(self, timeout: float = 3.0) -> None:
        """Wait until no connection is generating a model turn."""
        await self._wait(lambda: not any(c.generating for c in self.connections), timeout,
                         "the model turns to finish")

    def _ready_connections(self) -> list[GeminiConnection]:
        """Connections that completed their setup (what ``wait_for_connections`` counts)."""
        return [c for c in self.connections if c.setup]

    def _progress(self) -> str:
        return f"got: {[(c.index, [m['kind'] for m in c.received]) for c in self.connections]}"

    # ---- the protocol on one connection ----------------------------------------------------

    async def _converse(self, conn: GeminiConnection, ws: ServerConnection) -> None:
        async for raw in ws:
            try:
                msg = json.loads(raw)
            except (TypeError, ValueError):
                await conn.close(1007, "Invalid JSON payload received.")
                break
            conn.raw.append(msg)
            problems = check_client_message(msg)
            if problems:
                conn._violation("client", msg, problems)
                if self.reject_invalid:
                    # the service rejects what its proto does not describe, e.g. "Invalid JSON
                    # payload received. Unknown name "x" at '...': Cannot find field."
                    # (zed-industries/zed#44875); on this socket that is a 1007 close
                    await conn.close(1007, f"Invalid JSON payload received. {problems[0]}")
                    break
            if not conn.setup:
                if "setup" not in msg:
                    await conn.close(1007, "First message must be setup.")
                    break
                conn.setup = msg["setup"]
                self._notify()
                refusal = conn._refuse_setup()
                if refusal is not None:
                    await conn.close(1007, refusal)
                    break
                conn._after_setup()
                await conn.send({"setupComplete": {}})
                continue
            for key, body in msg.items():
                kind = _KIND_ALIASES.get(key, key)
                conn.received.append({"kind": kind, "body": copy.deepcopy(body)})
                self._notify()
                refusal = conn._refuse(kind, body)
                if refusal is not None:
                    await conn.close(1007, refusal)
                    return
                await conn._handle(kind, body)
