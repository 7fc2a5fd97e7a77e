"""A pipeline with a TTS speaks in the persona's voice after a switch: the real
OpenAI TTS plugin asks a loopback speech endpoint for that voice."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.harness import ScriptedProvider, start_chat
from tests.scripted import ScriptedLLM, call


@pytest.fixture
async def speech_server() -> AsyncIterator[tuple[str, list[dict]]]:
    requests: list[dict] = []

    async def speech(request: web.Request) -> web.Response:
        requests.append(await request.json())
        silence = bytes(4800)  # 100 ms of 24 kHz mono 16-bit PCM
        return web.Response(body=silence, content_type="audio/pcm")

    app = web.Application()
    app.router.add_post("/v1/audio/speech", speech)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1", requests
    finally:
        await runner.cleanup()


async def _spoken_voice(agent, requests: list[dict]) -> str:
    async for _ in agent.tts.synthesize("Ahoy"):
        pass
    return requests[-1]["voice"]


async def test_switch_changes_the_tts_voice(speech_server) -> None:
    base_url, requests = speech_server
    env = {"TTS_BASE_URL": base_url, "TTS_API_KEY": "x"}
    provider = ScriptedProvider("pipeline", env, model=ScriptedLLM(call("switch_persona", persona="pirate"), "Arr."))
    async with start_chat(provider=provider) as c:
        assistant_voice = c.ctl.library.persona("assistant").voices["tts"]
        pirate_voice = c.ctl.library.persona("pirate").voices["tts"]
        assert assistant_voice != pirate_voice
        assert await _spoken_voice(c.agent, requests) == assistant_voice
        await c.say("can I talk to the pirate?")
        assert await _spoken_voice(c.agent, requests) == pirate_voice
