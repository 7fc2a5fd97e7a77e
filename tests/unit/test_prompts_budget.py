"""A template that would render for minutes, or build gigabytes, is stopped within the
render budget; the time each takes is printed by benchmarks/render_prompts.py."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from prompts import PromptError, PromptLibrary
from prompts.sandbox import Budget

from .test_prompts import copy_prompts, variables

HANG_GUARD = 30.0  # seconds: a render still running by then hangs (a failure, not a speed figure)

# each would hang the event loop, or exhaust memory, without a cap
HOSTILE = {
    "nested loops": "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}x",
    "nested loops over one range": "{% set r = range(100000) %}{% for a in r %}{% for b in r %}{% if a %}{% endif %}{% endfor %}{% endfor %}x",
    "huge exponent": "{{ 2 ** 100000000 }}",
    "exponent chain": "{{ ((2 ** 64) ** 64) ** 64 }}",
    "center width": "{{ 'x'|center(1000000000) }}",
    "indent width": "{{ ('x\\n' * 30000)|indent(60000) }}",
    "format width": "{{ '%1000000000d'|format(1) }}",
    "format star width": "{{ '%*d'|format(1000000000, 1) }}",
    "str.format width": "{{ '{:>1000000000}'.format(1) }}",
    "str.format nested width": "{{ '{:>{w}}'.format(1, w=1000000000) }}",
    "percent width": "{{ '%1000000000d' % 1 }}",
    "ljust width": "{{ 'x'.ljust(1000000000) }}",
    "strftime width": "{{ now.strftime('%99999999Y') }}",
    "huge range": "{{ range(10 ** 9)|list }}",
    "range list": "{{ range(100000)|list }}",
    "replace blow-up": "{{ ('a' * 60000)|replace('a', 'b' * 60000) }}",
    "join blow-up": "{{ (['x'] * 60000)|join('y' * 60000) }}",
    "list repetition": "{{ ['x' * 60000] * 60000 }}",
    "expandtabs": "{{ ('\\t' * 60000).expandtabs(60000) }}",
    "wordwrap": "{{ ('a ' * 30000)|wordwrap(1, wrapstring='z' * 60000) }}",
    "slice count": "{{ [1]|slice(1000000000)|list }}",
    "batch fill": "{{ [1]|batch(1000000000, 0)|list }}",
    "tojson indent": "{{ [[[[1]]]]|tojson(indent=1000000000) }}",
    "doubling macro": "{% macro d(s, n) %}{{ d(s ~ s, n - 1) if n else s }}{% endmacro %}{{ d('x', 40) }}",
    "buffered loop": "{% set s %}{% for i in range(100000) %}{{ 'x' * 60000 }}{% endfor %}{% endset %}{{ s|length }}",
    "output flood": "{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}",
    "endless macro": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "includes itself": "{% include 'lines/hostile' %}",
}
STOPPED_BY = ("budget", "nested too deep", "Range too big")


def _render_guarded(library: PromptLibrary, name: str, values: dict) -> PromptError | str:
    out: list[PromptError | str] = []

    def run() -> None:
        try:
            out.append(library.render(name, **values))
        except PromptError as e:
            out.append(e)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANG_GUARD)
    assert out, f"{name} still rendering after {HANG_GUARD:g} s"
    return out[0]


@pytest.mark.parametrize("source", HOSTILE.values(), ids=list(HOSTILE))
def test_a_hostile_template_is_stopped_with_its_file(tmp_path: Path, source: str) -> None:
    root = copy_prompts(tmp_path)
    (root / "lines" / "hostile.md.j2").write_text(source)
    library = PromptLibrary(root)
    result = _render_guarded(library, "lines/hostile", variables(library, "assistant"))
    assert isinstance(result, PromptError), f"rendered {len(result)} characters"
    assert result.file == str(root / "lines" / "hostile.md.j2")
    assert any(word in result.reason for word in STOPPED_BY), result.reason


def test_a_hostile_edit_never_replaces_the_last_good_version(tmp_path: Path) -> None:
    root = copy_prompts(tmp_path)
    library = PromptLibrary(root)
    v = variables(library, "pirate")
    good = library.render("lines/forget", **v)
    (root / "lines" / "forget.md.j2").write_text(HOSTILE["nested loops"])
    assert _render_guarded(library, "lines/forget", v) == good


def test_ordinary_templates_fit_well_inside_the_budget(tmp_path: Path) -> None:
    """Loops, filters and formats an author writes still work under the caps."""
    root = copy_prompts(tmp_path)
    (root / "lines" / "busy.md.j2").write_text(
        "{% for p in personas %}{{ loop.index }}. {{ p.name|center(20)|trim }}{{ ', ' if not loop.last }}{% endfor %}\n"
        "{{ '%5.1f'|format(2.5) }} {{ '{:>6}'.format('ok') }} {{ (range(10)|list)|join('-') }} {{ 2 ** 10 }}\n"
        "{{ ('a b c ' * 50)|wordwrap(20) }} {{ 'x' * 100 }} {{ now.strftime('%Y') }}"
    )
    library = PromptLibrary(root)
    text = library.render("lines/busy", **variables(library, "assistant"))
    assert text.startswith("1. Alex, 2. Captain Reed, 3. Ada") and "  2.5     ok 0-1-2-3-4-5-6-7-8-9 1024" in text


def test_the_budget_is_the_librarys_to_set(tmp_path: Path) -> None:
    root = copy_prompts(tmp_path)
    (root / "lines" / "long.md.j2").write_text("{% for i in range(40) %}{{ 'y' * 100 }}{% endfor %}")
    values = variables(PromptLibrary(root), "assistant")
    assert len(PromptLibrary(root).render("lines/long", **values)) == 4000
    with pytest.raises(PromptError, match="the output is over 3000 characters") as e:
        PromptLibrary(root, budget=Budget(chars=3000)).render("lines/long", **values)
    assert e.value.file == str(root / "lines" / "long.md.j2")
