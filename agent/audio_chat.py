"""``python -m agent chat --audio-in TURN.wav ...``: the chat, spoken from files.

Each file is said, in order, as one user turn through the real audio path (voice
activity, end of turn, speech to text); the next is said only once the agent is
done with the last. The events print as in ``chat --jsonl`` (chat.py prints them),
the agent's speech is written as WAV files into ``--audio-out``, and lines on
stdin after the audio are read as in the text chat (slash commands, or words).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from livekit.agents import AgentSession

import prompts

from .audio_io import AudioFileError, SpeechFeed, Speaker, attach, read_speech, write_wav
from . import privacy
from .compose import build_session
from .chat import LineReader, Printer, SessionEnd, print_events, serve_lines, start_up
from .providers import load_env
from .session import lk_private
from .session.control import SessionController
from .voice import session_options, use_offline_speech

TURN_LIMIT = 300.0  # one turn; a session that never answers ends with an error, not a hang
NO_SPEECH_AFTER = 1.5  # seconds of silence after a file with no voice activity in it


class AudioChatError(Exception):
    pass


async def run_audio_chat(
    files: list[str],
    *,
    audio_out: str | None = None,
    persona: str | None = None,
    provider: str | None = None,
    jsonl: bool = False,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
    env: dict[str, str] | None = None,
) -> int:
    """0 when every file was heard and answered; 1 when one held no speech, or the
    session ended with an error."""
    turns = [(name, read_speech(name)) for name in files]  # a bad file fails before anything starts
    out_dir = Path(audio_out) if audio_out else None
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise AudioFileError(f"--audio-out {out_dir}: {e.strerror or e}") from None
    env = dict(load_env() if env is None else env)
    library = prompts.PromptLibrary(env.get("PROMPTS_DIR"))
    chosen, persona_id = start_up(env, provider, persona, library, stderr)
    chosen.import_plugin()
    use_offline_speech(chosen)
    # LiveKit logs every line said at DEBUG; the filter reaches the loggers that exist, the
    # provider plugin's included once it is imported
    privacy.install(env)
    if chosen.offline_speech:
        from .offline.speech import load_models

        await load_models()
    live = build_session(
        chosen, env=env, library=library, persona=persona_id,
        user_away_timeout=None, **session_options(chosen, output_pauses=False),
    )  # fmt: skip
    session, ctl = live.session, live.controller
    printer = Printer(stdout, jsonl, lambda: library.persona(ctl.persona_id).name)
    feed, speaker = SpeechFeed(), Speaker()
    attach(session, feed, speaker)
    print_events(session, ctl, printer)
    turn = _Turns(session, ctl, speaker)
    end = SessionEnd(session)
    status = 0
    try:
        await live.start()
        await turn.done()  # the greeting
        for name, samples in turns:
            turn.begin()
            await feed.say(samples)
            if not await turn.heard():
                printer.emit("error", message=f"{name}: no speech heard")
                status = 1
                continue
            await turn.done()
        await serve_lines(LineReader(stdin), session, ctl, printer, end.event)
    finally:
        ending_itself = lk_private.is_closing(session)
        await live.aclose()
        if out_dir is not None:
            for i, segment in enumerate(s for s in speaker.segments if s.frames):
                write_wav(out_dir / f"agent-{i + 1:03d}.wav", segment.samples(), segment.rate)
    if ending_itself and end.event.is_set():
        printer.emit("session_closed", reason=end.reason, error=end.error)
        return 1 if end.error else status
    return status


class _Turns:
    """Knows when the agent is done with what the user said (a reply spoken, or
    words judged to need none, such as side-talk while the user is away)."""

    def __init__(self, session: AgentSession, ctl: SessionController, speaker: Speaker) -> None:
        self.session, self.ctl, self.speaker = session, ctl, speaker
        self.speech_started = self.transcribed = self.judged = False
        self.words = ""
        self.handles: list[Any] = []
        session.on("speech_created", lambda ev: self.handles.append(ev.speech_handle))
        session.on("user_state_changed", self._on_user_state)
        session.on("user_input_transcribed", self._on_transcript)
        ctl.on_reply_judged.append(self._on_judged)  # the one place a user turn is judged

    def _on_judged(self, allowed: bool) -> None:
        self.judged = True

    def begin(self) -> None:
        self.speech_started = self.transcribed = self.judged = False
        self.words = ""

    def _on_user_state(self, ev: Any) -> None:
        if ev.new_state == "speaking":
            self.speech_started = True

    def _on_transcript(self, ev: Any) -> None:
        if ev.is_final:
            self.transcribed = True
            self.words += ev.transcript or ""

    async def heard(self) -> bool:
        """Whether the file held speech: voice activity during it, or soon after."""
        await _until(lambda: self.speech_started, NO_SPEECH_AFTER, quiet=True)
        if not self.speech_started:
            return False
        await _until(lambda: self.transcribed and self.session.user_state != "speaking", TURN_LIMIT)
        return True

    def _idle(self) -> bool:
        return (
            self.session.user_state != "speaking"
            and self.session.agent_state == "listening"
            and self.session.current_speech is None
            and not self.speaker.playing
            and all(h.done() or not h.scheduled for h in self.handles)  # a preemptive reply never scheduled
        )

    async def done(self) -> None:
        """Wait until the words were judged (or no turn came of them) and the agent has
        stayed quiet long enough for any reply to have begun."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TURN_LIMIT
        quiet_since: float | None = None
        while True:
            now = loop.time()
            if now > deadline:
                raise AudioChatError("the agent did not finish its turn")
            if self._idle() and (self.judged or not self.words.strip()):  # no words: no turn to judge
                quiet_since = quiet_since or now
                if now - quiet_since >= 0.5:
                    await self.ctl.settle()
                    if self._idle():
                        return
            else:
                quiet_since = None
            await asyncio.sleep(0.05)


async def _until(cond: Callable[[], bool], limit: float, *, quiet: bool = False) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not cond():
        if loop.time() > deadline:
            if quiet:
                return
            raise AudioChatError("the session stopped responding")
        await asyncio.sleep(0.02)
