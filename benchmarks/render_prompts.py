"""Time to render prompts: the first compile, then each cached render.

    python benchmarks/render_prompts.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import prompts  # noqa: E402

ROUNDS = 5
RENDERS = 2000


def per_call(fn, n: int = RENDERS) -> float:
    """Median over ROUNDS of the mean time of one call, in microseconds."""
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(times)


def main() -> None:
    start = time.perf_counter()
    library = prompts.PromptLibrary()
    everyone = library.personas()
    values = {pid: prompts.sample_variables(p, everyone) for pid, p in everyone.items()}
    library.render_persona("assistant", **values["assistant"])
    print(f"first persona render (load and compile): {(time.perf_counter() - start) * 1e3:8.2f} ms")
    for pid in everyone:
        library.render_persona(pid, **values[pid])
        print(f"cached render, persona {pid:<10}        {per_call(lambda: library.render_persona(pid, **values[pid])):8.1f} us")
    v = values["pirate"]
    print(f"cached render, lines/switch               {per_call(lambda: library.render('lines/switch', **v)):8.1f} us")
    print(f"cached render, offline_reply block        {per_call(lambda: library.render_block('pirate', 'offline_reply', **v)):8.1f} us")
    print(f"standard_variables                        {per_call(lambda: prompts.standard_variables(everyone['pirate'])):8.1f} us")
    print(f"personas()                                {per_call(library.personas):8.1f} us")


if __name__ == "__main__":
    main()
