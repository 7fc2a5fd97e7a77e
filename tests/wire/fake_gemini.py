"""A loopback fake of the Gemini Live API (Gemini API flavour, not Vertex), over TLS.

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
        model = google.realtime.RealtimeModel(modalities=[Modality.TEXT], **server.model_kwargs())
        ...
        conn = server.last
        assert conn.system_instruction == "..."

Replies are scripted: a completed client turn (``clientContent`` with ``turnComplete``), a
``toolResponse`` or a ``realtimeInput`` text each consume the next queued reply; when the
script is empty ``default_reply`` is used (``None``: no reply at all).
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import ipaddress
import json
import os
import ssl
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection

from .loopback import LoopbackConnection, LoopbackWebSocketServer, pcm16_tone_b64

__all__ = [
    "FakeGeminiLive",
    "GeminiConnection",
    "ToolCall",
    "ModelText",
    "make_self_signed_cert",
]

OUTPUT_SAMPLE_RATE = 24000

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
    """

    text: str
    audio: bool | None = None
    audio_chunks: int = 2


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

    async def send_resumption_update(self, handle: str | None = None,
                                     resumable: bool = True) -> str:
        handle = handle or self._server._new_id("handle")
        self.issued_handles.append(handle)
        self._server.issued_handles.append(handle)
        await self.send(
            {"sessionResumptionUpdate": {"newHandle": handle, "resumable": resumable}}
        )
        return handle

    async def send_go_away(self, time_left: str = "1s") -> None:
        await self.send({"goAway": {"timeLeft": time_left}})

    def _mark_closed(self) -> None:
        super()._mark_closed()
        if self._ws.close_code is not None:
            self.close_code = self._ws.close_code

    # ---- protocol --------------------------------------------------------------------------

    async def _handle(self, kind: str, body: dict[str, Any]) -> None:
        if kind == "clientContent":
            if body.get("turnComplete", body.get("turn_complete")):
                await self._reply()
        elif kind == "toolResponse":
            if self._server.reply_to_tool_response:
                await self._reply()
        elif kind == "realtimeInput":
            if body.get("text"):
                await self._reply()

    async def _reply(self) -> None:
        reply = self._server._next_reply()
        if reply is None:
            return
        if self._server.response_delay:
            await asyncio.sleep(self._server.response_delay)
        audio_default = "AUDIO" in [m.upper() for m in self.response_modalities]
        pending_calls: list[dict[str, Any]] = []
        for part in reply:
            if isinstance(part, ToolCall):
                pending_calls.append(
                    {"id": part.id or self._server._new_id("fc"), "name": part.name,
                     "args": part.args}
                )
                continue
            if pending_calls:
                await self.send({"toolCall": {"functionCalls": pending_calls}})
                pending_calls = []
            audio = part.audio if part.audio is not None else audio_default
            if audio:
                await self.send({"serverContent": {"outputTranscription": {"text": part.text}}})
                for _ in range(max(1, part.audio_chunks)):
                    await self.send(
                        {"serverContent": {"modelTurn": {"parts": [{"inlineData": {
                            "mimeType": f"audio/pcm;rate={OUTPUT_SAMPLE_RATE}",
                            "data": _AUDIO_CHUNK_B64,
                        }}]}}}
                    )
                    self.audio_produced = True
            else:
                await self.send(
                    {"serverContent": {"modelTurn": {"role": "model",
                                                     "parts": [{"text": part.text}]}}}
                )
        if pending_calls:
            # the model waits for the toolResponse; its turn goes on after it
            await self.send({"toolCall": {"functionCalls": pending_calls}})
            return
        await self.send({"serverContent": {"generationComplete": True}})
        await self.send({"serverContent": {"turnComplete": True}})
        await self.send(
            {"usageMetadata": {"promptTokenCount": 20, "responseTokenCount": 10,
                               "totalTokenCount": 30}}
        )
        if self._server.resumption_updates and self.resumption_requested:
            await self.send_resumption_update()


class FakeGeminiLive(LoopbackWebSocketServer[GeminiConnection]):
    """Loopback Gemini Live server over TLS. Use as ``async with`` (or the ``fake_gemini``
    fixture). ``queue_reply`` queues one model reply made of these parts (tool calls end the
    turn early).

    Args:
        default_reply: parts used when a reply is due and the script is empty;
            ``None`` sends nothing.
        resumption_updates: after each completed model turn, send a
            ``sessionResumptionUpdate`` with a fresh handle when the setup asked for
            session resumption (the plugin always does).
        reply_to_tool_response: a ``toolResponse`` triggers the next reply (the model's
            follow-up after a blocking tool), as on the real service.
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
        cert_dir: str | None = None,
    ) -> None:
        super().__init__(response_delay=response_delay)
        self.default_reply = list(default_reply) if default_reply is not None else None
        self.resumption_updates = resumption_updates
        self.reply_to_tool_response = reply_to_tool_response
        self.issued_handles: list[str] = []
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

    def queue_text(self, text: str, *, audio: bool | None = None, audio_chunks: int = 2) -> None:
        self.queue_reply(ModelText(text, audio=audio, audio_chunks=audio_chunks))

    # ---- recorded traffic ------------------------------------------------------------------

    @property
    def setups(self) -> list[dict[str, Any]]:
        return [c.setup for c in self.connections]

    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [m for c in self.connections for m in c.messages(kind)]

    async def wait_for(
        self,
        kind: str,
        *,
        where: Callable[[dict[str, Any]], bool] | None = None,
        count: int = 1,
        timeout: float = 3.0,
    ) -> dict[str, Any]:
        """Wait until ``count`` client messages of ``kind`` matching ``where`` arrived
        (over all connections); return the last one's body."""
        return await self._wait_for_match(lambda: self.messages(kind), where, count, timeout, kind)

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
                await ws.close(1007, "Request contains an invalid argument.")
                break
            conn.raw.append(msg)
            if not conn.setup:
                if "setup" not in msg:
                    await ws.close(1007, "First message must be setup.")
                    break
                conn.setup = msg["setup"]
                self._notify()
                await conn.send({"setupComplete": {}})
                continue
            for key, body in msg.items():
                kind = _KIND_ALIASES.get(key, key)
                conn.received.append({"kind": kind, "body": copy.deepcopy(body)})
                self._notify()
                await conn._handle(kind, body)
