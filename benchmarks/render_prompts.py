"""Time to render prompts, and the figures the render budget is chosen from.

    python benchmarks/render_prompts.py

The budget (prompts/sandbox.py: 50 ms and 64 KB a render) must sit far above what
the shipped templates need, and stop a hostile template soon after it is spent.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import prompts  # noqa: E402
from prompts.library import PACKAGE_DIR  # noqa: E402
from prompts.sandbox import DEFAULT_BUDGET  # noqa: E402

ROUNDS = 5
RENDERS = 2000
HOSTILE = {
    "nested loops": "{% set r = range(100000) %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}x",
    "output flood": "{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}",
    "center width": "{{ 'x'|center(1000000000) }}",
    "huge exponent": "{{ ((2 ** 64) ** 64) ** 64 }}",
    "endless macro": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "includes itself": "{% include 'lines/hostile' %}",
}


def per_call(fn, n: int = RENDERS) -> float:
    """Median over ROUNDS of the mean time of one call, in microseconds."""
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(times)


def once_ms(fn) -> float:
    start = time.perf_counter()
    try:
        fn()
    except prompts.PromptError:
        pass
    return (time.perf_counter() - start) * 1e3


def main() -> None:
    print(f"budget: {DEFAULT_BUDGET.seconds * 1e3:g} ms and {DEFAULT_BUDGET.chars} characters a render\n")
    start = time.perf_counter()
    library = prompts.PromptLibrary()
    everyone = library.personas()
    values = {pid: prompts.sample_variables(p, everyone) for pid, p in everyone.items()}
    library.render_persona("assistant", **values["assistant"])
    print(f"first persona render (load, compile, try) {(time.perf_counter() - start) * 1e3:8.2f} ms")
    for pid in everyone:
        library.render_persona(pid, **values[pid])
        print(f"cached render, persona {pid:<10}        {per_call(lambda: library.render_persona(pid, **values[pid])):8.1f} us")
    v = values["pirate"]
    print(f"cached render, lines/switch               {per_call(lambda: library.render('lines/switch', **v)):8.1f} us")
    print(f"cached render, offline_reply block        {per_call(lambda: library.render_block('pirate', 'offline_reply', **v)):8.1f} us")
    print(f"standard_variables                        {per_call(lambda: prompts.standard_variables(everyone['pirate'])):8.1f} us")
    print(f"personas()                                {per_call(library.personas):8.1f} us")
    longest = max(len(library.render_persona(pid, **values[pid] | {"user_name": "Sam", "away": True})) for pid in everyone)
    print(f"longest shipped output                    {longest:8d} characters")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(shutil.copytree(PACKAGE_DIR, Path(tmp) / "p", ignore=shutil.ignore_patterns("*.py", "__pycache__")))
        fresh = prompts.PromptLibrary(root)
        fresh.render_persona("pirate", **v)
        print("\nan edit: load, compile and try it with every persona's sample values")
        for name in ("personas/pirate", "base", "lines/switch"):
            path = root / (name + ".md.j2")
            path.write_text(path.read_text() + "\n{# touched #}\n")
            print(f"  {name:<16}                        {once_ms(lambda: fresh.render('lines/switch', **v) and fresh.render_persona('pirate', **v)):8.2f} ms")
        big = root / "lines" / "big.md.j2"
        big.write_text(("Plain words of a long line. " * 40 + "{{ persona.name }}\n") * 55)
        print(f"  a template of {big.stat().st_size} bytes (under the cap)   {once_ms(lambda: fresh.render('lines/big', **v)):8.2f} ms")
        print("\nhostile templates: time until refused")
        for label, source in HOSTILE.items():
            (root / "lines" / "hostile.md.j2").write_text(source)
            fresh = prompts.PromptLibrary(root)
            print(f"  {label:<20}                    {once_ms(lambda: fresh.render('lines/hostile', **v)):8.2f} ms")


if __name__ == "__main__":
    main()
