"""What the loopback fakes share: a server on 127.0.0.1 (random port) with a lifecycle, a
script of replies, waiting on what it recorded, and id generation.

:class:`LoopbackServer` is the base of every fake; :class:`LoopbackWebSocketServer` adds the
WebSocket side (one :class:`LoopbackConnection` per client). A fake keeps only its protocol:
how it listens (``_listen``/``_close``), how it talks on a connection (``_converse``), its
default reply (``_default_reply``) and what a timeout reports (``_progress``).

Everything a fake records is followed by ``_notify()``, which wakes ``_wait``; the wire tests'
``WireLog`` hooks it.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import ssl
import struct
from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

__all__ = [
    "LoopbackConnection",
    "LoopbackServer",
    "LoopbackWebSocketServer",
    "pcm16_tone_b64",
]


def pcm16_tone_b64(hz: float, rate: int, ms: int = 100) -> str:
    """``ms`` of a sine tone as PCM16 (little-endian, mono), base64-encoded."""
    n = rate * ms // 1000
    pcm = b"".join(
        struct.pack("<h", int(3000 * math.sin(2 * math.pi * hz * i / rate))) for i in range(n)
    )
    return base64.b64encode(pcm).decode()


class LoopbackServer:
    """A fake API server on 127.0.0.1. Use as ``async with`` (or ``start()``/``stop()``).

    Subclasses implement ``_listen`` (start serving, return the port) and ``_close``.
    """

    _id_sep = "_"
    """between an id's prefix and ``fake0001``"""
    default_reply: list[Any] | None
    """what ``_default_reply`` copies (set by the fakes that script with it)"""

    def __init__(self, *, response_delay: float = 0.0) -> None:
        self.response_delay = response_delay
        self._script: list[Any] = []
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self.port: int | None = None
        self.schema_violations: list[str] = []
        """messages (sent or received) that do not match the provider's own schema, one line
        each; the wire fixtures fail the test at teardown when any were recorded"""

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> Self:
        self.port = await self._listen()
        return self

    async def stop(self) -> None:
        await self._close()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _listen(self) -> int:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError

    # ---- scripting -------------------------------------------------------------------------

    def queue_reply(self, *outputs: Any) -> None:
        """Queue one reply made of these outputs (in order)."""
        self._script.append(list(outputs))

    @property
    def pending_replies(self) -> int:
        return len(self._script)

    def _next_reply(self) -> Any:
        if self._script:
            return self._script.pop(0)
        return self._default_reply()

    def _default_reply(self) -> Any:
        """The reply when the script is empty: a copy of ``default_reply`` (None: none)."""
        return list(self.default_reply) if self.default_reply is not None else None

    # ---- waiting ---------------------------------------------------------------------------

    async def _wait(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait (woken by ``_notify``) until ``cond()``; fail after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not cond():
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}; {self._progress()}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def _wait_for_match(
        self,
        found: Callable[[], list[dict[str, Any]]],
        where: Callable[[dict[str, Any]], bool] | None,
        count: int,
        timeout: float,
        what: str,
    ) -> dict[str, Any]:
        """Wait until ``count`` of ``found()`` match ``where``; return the last match."""

        def match() -> list[dict[str, Any]]:
            return [m for m in found() if where is None or where(m)]

        await self._wait(lambda: len(match()) >= count, timeout, what)
        return match()[-1]

    def _progress(self) -> str:
        """What a timeout reports as recorded so far."""
        return ""

    # ---- schema checks ---------------------------------------------------------------------

    def _record_violations(self, where: str, problems: list[str]) -> None:
        """Record the schema ``problems`` of one message (``where`` names it)."""
        self.schema_violations.extend(f"{where}: {p}" for p in problems)

    def schema_report(self) -> str:
        """The recorded schema violations, one a line (empty when there are none)."""
        return "\n".join(self.schema_violations)

    # ---- internals -------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{self._id_sep}fake{next(self._ids):04d}"

    def _notify(self) -> None:
        self._changed.set()


class LoopbackHttpServer(LoopbackServer):
    """A fake served over plain HTTP by aiohttp, on a free loopback port; ``_app`` gives its routes."""

    _runner: web.AppRunner | None = None

    def _app(self) -> web.Application:
        raise NotImplementedError

    async def _listen(self) -> int:
        self._runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # aiohttp has no public accessor for the bound port
        assert server is not None and server.sockets
        return server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class LoopbackConnection:
    """One client WebSocket connection, as the fake saw it."""

    def __init__(self, server: Any, ws: ServerConnection, index: int) -> None:
        self._server = server
        self._ws = ws
        self.index = index
        req = ws.request
        assert req is not None
        parts = urlsplit(req.path)
        self.path: str = parts.path
        self.query: dict[str, list[str]] = parse_qs(parts.query)
        self.headers: dict[str, str] = {k.lower(): v for k, v in req.headers.raw_items()}
        self.received: list[dict[str, Any]] = []
        """the client messages, in arrival order"""
        self.sent: list[dict[str, Any]] = []
        """every server message the fake sent, in order"""
        self.audio_produced = False
        """True once this connection sent assistant audio"""
        self.closed = False

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        self._server._notify()
        try:
            await self._ws.send(json.dumps(message))
        except ConnectionClosed:
            pass

    async def close(self, code: int = 1011, reason: str = "fake server closed") -> None:
        """Drop the connection from the server side (the plugin will reconnect)."""
        await self._ws.close(code, reason)

    def _mark_closed(self) -> None:
        self.closed = True


ConnT = TypeVar("ConnT", bound=LoopbackConnection)


class LoopbackWebSocketServer(LoopbackServer, Generic[ConnT]):
    """A :class:`LoopbackServer` speaking WebSocket; ``connection_class`` records each client.

    Subclasses implement ``_converse`` (the protocol on one connection) and may serve TLS
    (``_tls``) or count a connection only once it is ready (``_ready_connections``).
    """

    connection_class: type[ConnT]

    def __init__(self, *, response_delay: float = 0.0) -> None:
        super().__init__(response_delay=response_delay)
        self.connections: list[ConnT] = []
        self._server: Server | None = None

    async def _listen(self) -> int:
        tls = self._tls()
        self._server = await serve(
            self._serve_conn, "127.0.0.1", 0, ping_interval=None, close_timeout=1,
            max_size=None, **({"ssl": tls} if tls is not None else {}),
        )
        return self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), 3)
            except asyncio.TimeoutError:
                pass
            self._server = None

    def _tls(self) -> ssl.SSLContext | None:
        """The server's TLS context (None: plain ``ws://``)."""
        return None

    @property
    def last(self) -> ConnT:
        return self.connections[-1]

    def _ready_connections(self) -> list[ConnT]:
        return self.connections

    async def wait_for_connections(self, n: int, timeout: float = 3.0) -> ConnT:
        """Wait until ``n`` connections are ready; return the n-th."""
        await self._wait(
            lambda: len(self._ready_connections()) >= n, timeout, f"{n} connections"
        )
        return self._ready_connections()[n - 1]

    async def wait_for(
        self,
        kind: str,
        *,
        where: Callable[[dict[str, Any]], bool] | None = None,
        count: int = 1,
        timeout: float = 3.0,
    ) -> dict[str, Any]:
        """Wait until ``count`` client messages of ``kind`` (matching ``where``) arrived, over
        all connections; return the last one (as ``_received_of`` gives it)."""
        return await self._wait_for_match(lambda: self._received_of(kind), where, count, timeout, kind)

    async def wait_for_sent(
        self,
        kind: str,
        *,
        where: Callable[[dict[str, Any]], bool] | None = None,
        count: int = 1,
        timeout: float = 3.0,
    ) -> dict[str, Any]:
        """Wait until the fake sent ``count`` server messages of ``kind`` (matching ``where``);
        return the last one (as ``_sent_of`` gives it)."""
        return await self._wait_for_match(lambda: self._sent_of(kind), where, count, timeout, f"sent {kind}")

    def _received_of(self, kind: str) -> list[dict[str, Any]]:
        """The client messages of ``kind`` over all connections, in order."""
        raise NotImplementedError

    def _sent_of(self, kind: str) -> list[dict[str, Any]]:
        """The server messages of ``kind`` over all connections, in order."""
        raise NotImplementedError

    async def _serve_conn(self, ws: ServerConnection) -> None:
        conn = self.connection_class(self, ws, len(self.connections))
        self.connections.append(conn)
        self._notify()
        try:
            await self._converse(conn, ws)
        except ConnectionClosed:
            pass
        finally:
            conn._mark_closed()
            self._notify()

    async def _converse(self, conn: ConnT, ws: ServerConnection) -> None:
        raise NotImplementedError
