"""How well the offline model understands requests, on the held-aside set
(``prompts/intents/held_out.yaml``, which the offline model never reads) and on the
development set. (The old phrase router it was once compared with is removed; its last
figures are in README.md.)

    python benchmarks/intent_accuracy.py                  # held-aside set
    python benchmarks/intent_accuracy.py --set examples   # development set
    python benchmarks/intent_accuracy.py --loo            # development set, each line left out of the examples it is matched against

Right: the right tool with the right arguments (persona; minutes; scope, or what to
forget), or no tool for near misses and chat. A false call: any tool on a near miss
or on chat. Each line is also tried as speech-to-text writes it (lowercase, no
punctuation). Figures only; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import prompts  # noqa: E402
from prompts.examples import HELD_OUT, Example, parse_examples  # noqa: E402

_FUNCTION_WORDS = {"my", "the", "a", "an", "about", "what", "i", "said", "told", "you", "your", "that", "of", "all", "me", "stuff", "part", "everything", "mentioned", "gave"}


def topic_words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z0-9']+", text.lower())} - _FUNCTION_WORDS


def label(tool: str | None, arguments: dict[str, Any]) -> str:
    if tool is None:
        return "none"
    if tool == "forget_conversation" and arguments.get("about"):
        return "forget(about)"
    short = {"switch_persona": "switch", "mark_user_away": "away", "forget_conversation": "forget"}[tool]
    value = arguments.get("persona") or arguments.get("scope") or ("minutes" if arguments.get("minutes") else "")
    return f"{short}({value})"


def is_right(example: Example, intent: Any) -> bool:
    if intent is None or example.tool is None:
        return intent is None and example.tool is None
    if intent.tool != example.tool:
        return False
    got, want = intent.arguments, example.arguments
    if example.tool == "switch_persona":
        return got.get("persona") == want["persona"]
    if example.tool == "mark_user_away":
        return (got.get("minutes") and float(got["minutes"])) == want.get("minutes")
    if want.get("about") or got.get("about"):
        a, b = topic_words(str(got.get("about") or "")), topic_words(str(want.get("about") or ""))
        return bool(a and b) and (a <= b or b <= a)
    return (got.get("scope") or "last_turn") == want["scope"]


def as_stt(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'")))


def score(route: Any, examples: list[Example], transform: Any = lambda t: t) -> dict[str, Any]:
    right, false_calls, misses, times, confusions, wrong = 0, Counter(), Counter(), [], Counter(), []
    for ex in examples:
        text = transform(ex.text)
        start = time.perf_counter()
        intent = route(text, ex)
        times.append((time.perf_counter() - start) * 1e3)
        ok = is_right(ex, intent)
        right += ok
        if ex.tool is None:
            misses[ex.kind] += 1
            false_calls[ex.kind] += intent is not None
        if not ok:
            got = label(intent.tool, intent.arguments) if intent else "none"
            confusions[(label(ex.tool, ex.arguments), got)] += 1
            wrong.append((ex.text, label(ex.tool, ex.arguments), got, intent.arguments if intent else None))
    return {
        "n": len(examples),
        "right": right,
        "false": false_calls,
        "misses": misses,
        "median_ms": statistics.median(times),
        "p99_ms": sorted(times)[int(len(times) * 0.99) - 1],
        "confusions": confusions,
        "wrong": wrong,
    }


def report(name: str, r: dict[str, Any], show: int) -> None:
    print(f"\n== {name}")
    print(f"right: {r['right']}/{r['n']} = {r['right'] / r['n']:.1%}")
    for kind in ("near_miss", "chat"):
        if r["misses"][kind]:
            print(f"false calls on {kind}: {r['false'][kind]}/{r['misses'][kind]} = {r['false'][kind] / r['misses'][kind]:.1%}")
    print(f"latency: median {r['median_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms")
    if r["confusions"]:
        print("confusions (expected -> got: count): " + ", ".join(f"{a} -> {b}: {n}" for (a, b), n in r["confusions"].most_common()))
    for text, want, got, args in r["wrong"][:show]:
        print(f"   {text!r}: want {want}, got {got} {args or ''}")


def build(library: prompts.PromptLibrary) -> tuple[Any, float]:
    from agent.offline.understanding import Understanding

    personas = tuple(library.personas().values())
    aliases = {w: p.id for p in personas for w in (p.id, p.name, *p.aliases)}
    start = time.perf_counter()
    made = Understanding(library.triggers(), aliases, library.examples(), default_persona=prompts.DEFAULT_PERSONA)
    return made, (time.perf_counter() - start) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="held_out", choices=["held_out", "examples"])
    parser.add_argument("--loo", action="store_true", help="development set, each line left out of the examples")
    parser.add_argument("--show", type=int, default=40, help="wrong lines to list")
    args = parser.parse_args()

    import livekit.agents  # noqa: F401  (the chat and the worker have it loaded already)

    start = time.perf_counter()
    import agent.offline.understanding  # noqa: F401  (import time of the understanding alone)

    import_ms = (time.perf_counter() - start) * 1e3
    library = prompts.PromptLibrary()
    name = "intents/examples" if args.set == "examples" or args.loo else HELD_OUT
    examples, faults = parse_examples(library.load_yaml(name), library.personas())
    assert not faults, faults
    print(f"set: {name}.yaml, {len(examples)} lines "
          f"({sum(e.kind == 'near_miss' for e in examples)} near misses, {sum(e.kind == 'chat' for e in examples)} chat)")
    print("(the old phrase router is removed and no longer compared; its last figures are in README.md)")
    made, load_ms = build(library)
    if args.loo:
        route = lambda text, ex: made.route(text, leave_out=ex.text)  # noqa: E731
    else:
        route = lambda text, ex: made.route(text)  # noqa: E731
    report("understanding: as written", score(route, examples), args.show)
    report("understanding: as speech-to-text writes it", score(route, examples, as_stt), 10)
    print(f"load: {load_ms:.1f} ms (+ import {import_ms:.0f} ms)")
    code = sum(p.stat().st_size for p in (ROOT / "agent" / "offline").glob("*.py"))
    content = sum((ROOT / "prompts" / f).stat().st_size for f in ("triggers.yaml", "intents/examples.yaml"))
    print(f"\ninstall size: no packages beyond the project's; agent/offline/*.py {code / 1024:.0f} KB, "
          f"triggers.yaml + intents/examples.yaml {content / 1024:.0f} KB")


if __name__ == "__main__":
    main()
