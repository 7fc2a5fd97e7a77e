"""Forgetting, spoken: the words leave the context, the history and the recorded
events the end-of-session report is built from (transcripts included)."""

from __future__ import annotations

from tests.audio.voice import start_voice


async def test_forget_what_i_just_said_removes_the_spoken_words_everywhere() -> None:
    async with start_voice() as v:
        await v.say("My locker code is blue falcon.")
        # the words really were heard and recorded (else the test below proves nothing)
        assert any("falcon" in t.lower() for t in v.history_texts())
        assert "falcon" in v.recorded_events().lower()

        said = await v.say("Forget what I just said.")
        assert [s.value for s in said if s.kind == "tool"] == [("forget_conversation", {"scope": "last_turn"})]
        assert [s.value for s in said if s.kind == "assistant"] == [v.ctl.render("lines/forget", scope="last_turn")]
        assert not any("falcon" in t.lower() for t in v.context_texts())
        assert not any("falcon" in t.lower() for t in v.history_texts())
        assert "falcon" not in v.recorded_events().lower()

        # the conversation goes on, and the next turn does not bring the words back
        await v.say("Hello there.")
        assert not any("falcon" in t.lower() for t in [*v.context_texts(), *v.history_texts()])
        assert "falcon" not in v.recorded_events().lower()
