"""mark_user_away on Gemini Live, the real plugin against the loopback server: the
acknowledgement is heard, the user stays away while the model hears side-talk,
and "I'm back" picks up. The user's speech is simulated as Gemini reports it: a
reply the model starts on its own, with the user's words transcribed at its end."""

from __future__ import annotations

from typing import Any

from tests.wire.conftest import controlled_session, gemini_env, until
from tests.wire.fake_gemini import FakeGeminiLive


async def _user_speaks(conn: Any, words: str, model_reply: str) -> None:
    await conn.send({"serverContent": {"inputTranscription": {"text": words}}})
    await conn.send({"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": model_reply}]}}})
    await conn.send({"serverContent": {"generationComplete": True}})
    await conn.send({"serverContent": {"turnComplete": True}})


def _heard(c: Any) -> list[str]:
    return [m.text_content for m in c.session.history.messages() if m.role == "assistant"]


async def test_away_side_talk_and_back_on_gemini(trust_fake_gemini: FakeGeminiLive) -> None:
    fake = trust_fake_gemini
    async with controlled_session("google", gemini_env(fake)) as c:
        fake.queue_function_call("mark_user_away", {"minutes": 5})
        fake.queue_text("Take your time.")
        await c.say("give me five minutes")
        assert _heard(c) == ["Take your time."]  # the tool's own reply is not held back
        assert c.session.user_state == "away"

        await _user_speaks(fake.last, "did you see the game last night", "I did, what a match!")
        await until(lambda: any(t == "did you see the game last night" for t in _user_texts(c)), what="side-talk transcribed")
        await until(lambda: c.session.user_state == "away", what="still away")
        assert "I did, what a match!" not in _heard(c)

        fake.queue_text("Welcome back!")
        await _user_speaks(fake.last, "I'm back", "Oh hi.")
        await until(lambda: "Welcome back!" in _heard(c), what="the agent picks up")
        assert c.session.user_state != "away"
        assert "Oh hi." not in _heard(c)


def _user_texts(c: Any) -> list[str]:
    return [m.text_content for m in c.session.history.messages() if m.role == "user"]
