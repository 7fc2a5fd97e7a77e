"""``python -m agent prompts``: list, render and check the prompt templates.

    prompts list [--dir DIR]
    prompts render NAME [--persona ID] [--block BLOCK] [--var KEY=VALUE ...] [--dir DIR]
    prompts check [--dir DIR]

NAME is a persona id (``pirate`` renders its system prompt) or a template path
inside the folder without the suffix (``lines/forget``, ``base``). Variables
start from sample values (see prompts/README.md); ``--var`` overrides them.
A value is read as JSON when it parses (``5``, ``false``, ``null``,
``{"id": "tutor", "name": "Ada"}``) and as text otherwise; ``capabilities.voice_can_change=false``
sets one key of a mapping. ``--dir`` picks another folder; without it, PROMPTS_DIR from
the environment or ``.env.local`` does, as for the chat and the worker.

Imports no LiveKit, so it starts at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import prompts
from prompts.library import SUFFIX

from .env import ConfigError, load_env


def main(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help or a usage error: a code, not an exit
        return e.code if isinstance(e.code, int) else 2
    try:
        args.dir = args.dir or load_env().get("PROMPTS_DIR") or None
        return args.command(args)
    except (prompts.PromptError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", help="prompts folder (default: PROMPTS_DIR from the environment or .env.local, else the shipped one)")
    parser = argparse.ArgumentParser(prog="python -m agent prompts", description="List, render and check prompt templates.")
    sub = parser.add_subparsers(required=True, metavar="{list,render,check}")
    sub.add_parser("list", parents=[common], help="personas and templates").set_defaults(command=_list)
    render = sub.add_parser("render", parents=[common], help="print one rendered template")
    render.add_argument("name", metavar="NAME", help="a persona id (pirate) or a template path (lines/forget)")
    render.add_argument("--persona", help="persona whose variables to use (default: NAME's, else assistant)")
    render.add_argument("--block", help="render one block of the persona (offline_reply)")
    render.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="set a variable (repeatable)")
    render.set_defaults(command=_render)
    sub.add_parser("check", parents=[common], help="report every problem, as file:line: reason").set_defaults(command=_check)
    return parser


def _list(args: argparse.Namespace) -> int:
    library = prompts.PromptLibrary(args.dir)
    print(f"personas (default: {prompts.DEFAULT_PERSONA}):")
    for p in library.personas().values():
        aliases = f"  [{', '.join(p.aliases)}]" if p.aliases else ""
        print(f"  {p.id:<12} {p.name}: {p.description}{aliases}")
    print("templates:")
    for name in library.templates():
        print(f"  {name}")
    return 0


def _render(args: argparse.Namespace) -> int:
    library = prompts.PromptLibrary(args.dir)
    everyone = library.personas()
    name = args.name.removesuffix(SUFFIX)
    # a persona id names that persona's system prompt; anything else is a template path
    target = name if name in everyone else None
    if target is None and name.startswith("personas/") and name.count("/") == 1:
        target = library.persona(name.removeprefix("personas/")).id
    values = prompts.sample_variables(library.persona(args.persona or target or prompts.DEFAULT_PERSONA), everyone)
    for item in args.var:
        key, value = _variable(item)
        head, _, inner = key.partition(".")
        mapping = values.get(head) if isinstance(values.get(head), dict) else {}
        values[head] = {**mapping, inner: value} if inner else value
    if args.block:
        text = library.render_block(target or name, args.block, **values)
    elif target:
        text = library.render_persona(target, **values)
    else:
        text = library.render(name, **values)
    print(text)
    return 0


def _variable(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not all(part.isidentifier() for part in key.split(".")) or key.count(".") > 1:
        raise prompts.PromptError(f"--var {item!r}: expected KEY=VALUE or KEY.FIELD=VALUE")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def _check(args: argparse.Namespace) -> int:
    problems = prompts.check(args.dir)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("no problems found")
    return 0
