"""A persona switch, spoken: new instructions, and the next audio in the new voice."""

from __future__ import annotations

import numpy as np

from agent.offline.speech import PiperTTS
from agent.offline.voices import OfflineVoice
from tests.audio.voice import median_pitch, start_voice


def reference(line: str, persona_voice: str) -> tuple[float, float]:
    """Pitch (Hz) and length (s) of ``line`` in a voice, synthesized apart from any session."""
    tts = PiperTTS(OfflineVoice.parse(persona_voice), noise=False)
    samples = np.concatenate(list(tts.sentences(line)))
    return median_pitch(samples, tts.sample_rate), samples.size / tts.sample_rate


async def test_the_pirate_takes_over_with_his_own_voice() -> None:
    async with start_voice() as v:
        library = v.ctl.library
        greeting = v.speaker.segments[-1]
        before = len(v.speaker.segments)
        said = await v.say("Can I talk to the pirate?")

        assert [s.value for s in said if s.kind == "tool"] == [("switch_persona", {"persona": "pirate"})]
        assert [s.value for s in said if s.kind == "persona"] == ["pirate"]
        assert v.session.current_agent.instructions == v.ctl.instructions("pirate") != v.ctl.instructions("assistant")
        [line] = [s.value for s in said if s.kind == "assistant"]
        [spoken] = v.segments_since(before)
        assert not spoken.interrupted

        pirate, assistant = library.persona("pirate").voices["offline"], library.persona("assistant").voices["offline"]
        pitch, length = median_pitch(spoken.samples(), spoken.rate), spoken.duration
        pirate_pitch, pirate_length = reference(line, pirate)
        assistant_pitch, assistant_length = reference(line, assistant)
        # lower and slower than the assistant saying the same words; as the pirate says them
        assert pitch < 0.9 * median_pitch(greeting.samples(), greeting.rate)
        assert abs(pitch - pirate_pitch) < abs(pitch - assistant_pitch)
        assert abs(length - pirate_length) < 0.05 * pirate_length
        assert length > 1.1 * assistant_length
