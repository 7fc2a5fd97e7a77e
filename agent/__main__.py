"""Command line: ``python -m agent chat | prompts | dev | start | console``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else ""
    if command == "prompts":
        from .prompts_cli import main as prompts_main

        return prompts_main(argv[1:])
    if command in ("dev", "start", "console", "connect", "download-files"):
        return _worker(argv)
    if command == "chat":
        return _chat(argv[1:])
    print(
        "usage: python -m agent chat [--persona ID] [--provider NAME] [--jsonl]\n"
        "                            [--audio-in TURN.wav [TURN.wav ...] [--audio-out DIR]]\n"
        "       python -m agent prompts list | render NAME [--var K=V ...] | check [--dir DIR]\n"
        "       python -m agent dev | start | console",
        file=sys.stderr,
    )
    return 0 if command in ("-h", "--help") else 2


def _chat(argv: list[str]) -> int:
    import asyncio

    from .providers import PROVIDERS, ConfigError

    parser = argparse.ArgumentParser(prog="python -m agent chat", description="Text chat with the agent.")
    parser.add_argument("--persona", help="persona id to start with (default: AGENT_PERSONA, else assistant)")
    parser.add_argument("--provider", choices=PROVIDERS, help="override the provider chosen from the environment")
    parser.add_argument("--jsonl", action="store_true", help="one JSON object a line on stdout")
    parser.add_argument("--audio-in", nargs="+", metavar="TURN.wav", help="speak each audio file as one user turn (needs the voice extra)")
    parser.add_argument("--audio-out", metavar="DIR", help="write the agent's speech there as WAV files (with --audio-in)")
    args = parser.parse_args(argv)
    if args.audio_out and not args.audio_in:
        parser.error("--audio-out needs --audio-in")
    # bytes that are not UTF-8 become U+FFFD instead of ending the chat; JSON lines are UTF-8
    sys.stdin.reconfigure(encoding="utf-8", errors="replace")
    sys.stdout.reconfigure(**({"encoding": "utf-8"} if args.jsonl else {}), errors="replace")
    if args.audio_in:
        return _audio_chat(args)

    import prompts

    from .chat import run_chat

    try:
        return asyncio.run(run_chat(persona=args.persona, provider=args.provider, jsonl=args.jsonl))
    except (ConfigError, prompts.PromptError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _worker(argv: list[str]) -> int:
    from .providers import ConfigError

    try:
        from .worker import run_worker  # its import already reads the provider's configuration

        return run_worker(argv)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _audio_chat(args: argparse.Namespace) -> int:
    import asyncio

    import prompts

    from .audio_chat import AudioChatError, run_audio_chat
    from .audio_io import AudioFileError
    from .offline.speech import SpeechUnavailable
    from .providers import ConfigError

    try:
        return asyncio.run(
            run_audio_chat(args.audio_in, audio_out=args.audio_out, persona=args.persona, provider=args.provider, jsonl=args.jsonl)
        )
    except (ConfigError, prompts.PromptError, SpeechUnavailable, AudioFileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except AudioChatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
