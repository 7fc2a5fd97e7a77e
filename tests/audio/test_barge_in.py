"""The user talks over the agent: its speech stops where it was cut, the user's words
are heard and answered once, and a change the interrupted speech announced stays
made, once."""

from __future__ import annotations

from tests.audio.voice import median_pitch, start_voice


async def test_barge_in_while_the_agent_speaks() -> None:
    async with start_voice() as v:
        offline = v.ctl.library.render_block("assistant", "offline_reply", **v.ctl.variables())
        start, before = v.mark(), len(v.speaker.segments)
        await v.speak("Hello there.")
        cut = await v.playing_for(1.5, segment=before)  # the long offline answer is under way
        barge = await v.speak("Can I talk to the pirate?")
        await v.answered(barge)
        await v.ctl.settle()

        assert cut.interrupted and cut.played < cut.duration  # stopped where the user cut in
        assert v.since(start, "transcript") == ["Hello there.", "Can I talk to the pirate?"]  # heard once each
        assert v.since(start, "user") == ["Hello there.", "Can I talk to the pirate?"]
        assert v.since(start, "tool") == [("switch_persona", {"persona": "pirate"})]
        assert v.since(start, "persona") == ["pirate"]
        replies = v.since(start, "assistant")
        # the cut answer is kept as far as it was heard, and not said again
        assert len(replies) == 2 and offline.startswith(replies[0]) and replies[0] != offline
        assert replies[1] == v.ctl.render("lines/switch", "pirate", previous={"id": "assistant", "name": "Alex"})
        [interrupted] = [m for m in v.session.history.messages() if m.role == "assistant" and m.interrupted]
        assert interrupted.text_content == replies[0]


async def test_barge_in_while_the_new_persona_introduces_itself() -> None:
    async with start_voice() as v:
        greeting = v.speaker.segments[-1]
        start, before = v.mark(), len(v.speaker.segments)
        await v.speak("Can I talk to the pirate?")
        cut = await v.playing_for(1.0, segment=before)  # the pirate's first words
        barge = await v.speak("Hello there.")
        await v.answered(barge)
        await v.ctl.settle()

        assert cut.interrupted
        assert v.since(start, "transcript") == ["Can I talk to the pirate?", "Hello there."]
        assert v.since(start, "tool") == [("switch_persona", {"persona": "pirate"})]  # asked once, made once
        assert v.since(start, "persona") == ["pirate"] and v.ctl.persona_id == "pirate"
        assert v.session.current_agent.instructions == v.ctl.instructions("pirate")
        pirate_reply = v.ctl.library.render_block("pirate", "offline_reply", **v.ctl.variables())
        switch_line = v.ctl.render("lines/switch", "pirate", previous={"id": "assistant", "name": "Alex"})
        cut_line, answer = v.since(start, "assistant")
        assert switch_line.startswith(cut_line) and cut_line != switch_line  # not said again
        assert answer == pirate_reply
        # the answer to the barge-in is in the pirate's voice
        [_, spoken] = v.segments_since(before)
        assert median_pitch(spoken.samples(), spoken.rate) < 0.9 * median_pitch(greeting.samples(), greeting.rate)
