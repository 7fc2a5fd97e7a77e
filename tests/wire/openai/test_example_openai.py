"""The README's example (examples/concierge.py) on OpenAI Realtime, against the loopback
fake: its own instructions and tool reach the service with away and forget and no
switch_persona, and a forget deletes the items on the server."""

from __future__ import annotations

import json

import livekit.plugins.openai  # noqa: F401  (imported at collection, not inside a test)

from agent import Provider
from tests.compat import timeout
from tests.examples.test_concierge import TEXT_ONLY, concierge
from tests.helpers import until

from .fake_openai import FakeOpenAIRealtime
from .fixtures import openai_env


async def test_the_concierge_on_openai_realtime(fake_openai: FakeOpenAIRealtime) -> None:
    env = openai_env(fake_openai, modalities="text")
    live = concierge.concierge_session(provider=Provider("openai", env), env=env, **TEXT_ONLY)
    async with timeout(10):
        try:
            await live.start(greet=False)
            conn = await fake_openai.wait_for_connections(1)
            await until(lambda: conn.session["tools"], what="tools sent")
            fake_openai.queue_function_call("breakfast_hours")
            fake_openai.queue_text("From 7 to 10:30, in the garden room.")
            hours = await live.session.run(user_input="when is breakfast?")
            fake_openai.queue_text("Noted.")
            await live.session.run(user_input="my room number is 412")
            fake_openai.queue_function_call("forget_conversation", {"scope": "last_turn"})
            fake_openai.queue_text("Done.")
            forget = await live.session.run(user_input="forget what I just said")
            await live.controller.settle()
            await until(lambda: not any("412" in json.dumps(it) for it in conn.items), what="the turn deleted on the server")
            instructions, tools = conn.instructions, sorted(t["name"] for t in conn.session["tools"])
        finally:
            await live.aclose()

    assert instructions.startswith(concierge.INSTRUCTIONS) and "forget_conversation:" in instructions
    assert "switch_persona" not in instructions
    assert tools == ["breakfast_hours", "forget_conversation", "mark_user_away"]
    assert hours.expect.contains_function_call_output().event().item.output == "Breakfast is served from 7 to 10:30 in the garden room."
    forget.expect.contains_function_call(name="forget_conversation")
    assert conn.events("conversation.item.delete")  # removed on the service, not only locally
    assert not any("412" in (m.text_content or "") for m in live.session.history.messages())
