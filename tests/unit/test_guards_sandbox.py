"""The sandbox refuses every underscore attribute on every object a template can reach.

The hostile list (test_prompts_security.py) tries the known escape chains; these tests
try every name that starts with ``_`` which each reachable object really has (``dir()``
of the object itself, plus a few classic ones it may lack), in each way a template can
ask for an attribute: ``o.NAME``, ``o['NAME']``, ``o|attr('NAME')`` and
``'{0.NAME}'.format(o)``. A name the object has is refused by the sandbox (SecurityError);
one it lacks is undefined; no render ever shows a value.

What a template can reach: every variable the library renders with (the samples in
prompts/persona.py, the values inside them, and what their methods return), the objects
Jinja makes inside a template (``loop``, ``self``, a block, a macro, ``caller``,
``varargs``, ``kwargs``, ``range``), and Jinja's helpers (``cycler``, ``joiner``,
``namespace``), which the sandbox no longer offers but would reach the same guard if
they came back.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, UndefinedError
from jinja2.sandbox import SecurityError
from jinja2.utils import Cycler, Joiner, Namespace

from prompts import PromptError, PromptLibrary
from prompts.persona import variants
from prompts.library import PACKAGE_DIR
from prompts.sandbox import metered

from .test_prompts import copy_prompts

SECRET = "k-3141"
# asked of every object, whether it has them or not
CLASSIC = (
    "__dict__", "__doc__", "__module__", "__class__", "__init__", "__globals__", "__builtins__", "__code__",
    "__closure__", "__self__", "__func__", "__wrapped__", "__mro__", "__base__", "__bases__", "__subclasses__",
    "__getattribute__", "__reduce_ex__", "_private", "_secret",
)  # fmt: skip


class Holder:
    """An object a developer might pass to a template: a public field and a private one."""

    def __init__(self) -> None:
        self.secret = SECRET
        self._private = SECRET
        self._secret = SECRET


LIBRARY = PromptLibrary(PACKAGE_DIR)


def _samples() -> list[dict[str, Any]]:
    """Every set of sample values the library tries a template with, ``personas`` included."""
    listed = [{"id": p.id, "name": p.name, "description": p.description} for p in LIBRARY.personas().values()]
    return [
        sample | {"personas": listed}
        for persona in LIBRARY.personas().values()
        for sample in variants(persona, LIBRARY.personas())
    ]


def _variables() -> dict[str, Any]:
    return _samples()[0]


def _inside(value: Any, depth: int = 2) -> Iterator[Any]:
    """``value`` and what it holds (dict keys and values, list items), ``depth`` levels down."""
    yield value
    if depth == 0:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _inside(k, depth - 1)
            yield from _inside(v, depth - 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _inside(v, depth - 1)


def _reachable_values() -> dict[str, Any]:
    """One object of each type a template can be given or compute from what it is given."""
    found: dict[str, Any] = {}
    for sample in _samples():
        for value in sample.values():
            for v in _inside(value):
                found.setdefault(type(v).__name__, v)
    variables = _variables()
    now = variables["now"]
    persona = variables["persona"]
    found |= {
        "now.tzinfo": now.tzinfo,
        "now.date()": now.date(),
        "now.utcoffset()": now.utcoffset(),
        "a str method": LIBRARY.env.getattr("text", "upper"),  # as the sandbox hands it out
        "a dict method": LIBRARY.env.getattr(persona, "items"),
        "persona.items()": persona.items(),
        "range": LIBRARY.env.globals["range"],
        "range(2)": range(2),
        "cycler": Cycler("a", "b"),
        "joiner": Joiner(", "),
        "namespace": Namespace(secret=SECRET),
        "an object": Holder(),
    }
    return found


# the objects Jinja makes inside a template: (prefix, expression, suffix)
IN_TEMPLATE = {
    "loop": ("{% for _ in [1] %}", "loop", "{% endfor %}"),
    "self": ("", "self", ""),
    "a block": ("{% block b %}x{% endblock %}", "self.b", ""),
    "a macro": ("{% macro m() %}x{% endmacro %}", "m", ""),
    "caller": ("{% macro m() %}", "caller", "{% endmacro %}{% call m() %}x{% endcall %}"),
    "varargs": ("{% macro m() %}", "varargs", "{% endmacro %}{{ m(1) }}"),
    "kwargs": ("{% macro m() %}", "kwargs", "{% endmacro %}{{ m(a=1) }}"),
}


def _in_template_objects() -> dict[str, Any]:
    """The objects ``IN_TEMPLATE`` reaches, as plain Jinja makes them (to list their names)."""
    got: dict[str, Any] = {}
    env = Environment()
    for label, (prefix, expr, suffix) in IN_TEMPLATE.items():
        env.globals["grab"] = lambda v, label=label: got.setdefault(label, v) and ""
        env.from_string(prefix + "{{ grab(" + expr + ") }}" + suffix).render()
    return got


def _names(obj: Any) -> list[str]:
    return sorted({n for n in dir(obj) if n.startswith("_")} | set(CLASSIC))


def _has(obj: Any, name: str) -> bool:
    try:
        getattr(obj, name)
    except Exception:
        return False
    return True


@functools.lru_cache(maxsize=None)
def _template(source: str) -> Any:
    return LIBRARY.env.from_string(source)


def _render(source: str, **values: Any) -> str:
    with metered(LIBRARY.budget):
        return _template(source).render(**values)


def _outcome(source: str, **values: Any) -> str:
    """"refused", "undefined", or what the template rendered (a guard that let it through)."""
    try:
        return "rendered: " + _render(source, **values)
    except SecurityError:
        return "refused"
    except UndefinedError:
        return "undefined"


DYNAMIC = {  # the attribute's name as a value: one template for every name
    "o[name]": "{{ %s[name] }}",
    "o|attr(name)": "{{ %s|attr(name) }}",
    "'{0.name}'.format(o)": "{{ ('{0.' ~ name ~ '}').format(%s) }}",
}

VALUES = _reachable_values()
INSIDE = _in_template_objects()


def _expected(obj: Any, name: str) -> str:
    return "refused" if _has(obj, name) else "undefined"


def _check(cases: list[tuple[str, str, str]]) -> None:
    """cases: (what, expected, got); every mismatch is listed, not only the first."""
    wrong = [f"{what}: expected {expected}, got {got}" for what, expected, got in cases if got != expected]
    assert not wrong, f"{len(wrong)} of {len(cases)} attribute accesses were not refused:\n" + "\n".join(wrong[:40])


def test_the_objects_are_found() -> None:
    """The lists below are what the other tests go over: they cover the variables' types
    and the objects Jinja makes."""
    assert {"dict", "str", "datetime", "bool", "list", "NoneType", "int", "float"} <= set(VALUES)
    assert set(INSIDE) == set(IN_TEMPLATE)
    assert all(_has(VALUES["an object"], n) for n in ("__dict__", "__doc__", "__module__", "_private"))


@pytest.mark.parametrize("label", sorted(VALUES))
def test_every_underscore_attribute_of_a_value_is_refused_in_every_form(label: str) -> None:
    obj = VALUES[label]
    cases = []
    for name in _names(obj):
        expected = _expected(obj, name)
        cases.append((f"o.{name}", expected, _outcome("{{ o.%s }}" % name, o=obj)))
        for form, source in DYNAMIC.items():
            cases.append((f"{form} with {name}", expected, _outcome(source % "o", o=obj, name=name)))
    _check(cases)
    assert SECRET not in repr([got for *_, got in cases])


@pytest.mark.parametrize("label", sorted(IN_TEMPLATE))
def test_every_underscore_attribute_of_what_jinja_makes_is_refused_in_every_form(label: str) -> None:
    prefix, expr, suffix = IN_TEMPLATE[label]
    obj = INSIDE[label]
    variables = _variables()
    cases = []
    for name in _names(obj):
        expected = _expected(obj, name)
        cases.append((f"{expr}.{name}", expected, _outcome(prefix + "{{ %s.%s }}" % (expr, name) + suffix, **variables)))
        for form, source in DYNAMIC.items():
            got = _outcome(prefix + source % expr + suffix, **variables, name=name)
            cases.append((f"{form.replace('o', expr, 1)} with {name}", expected, got))
    _check(cases)


@pytest.mark.parametrize("name", ["__dict__", "__doc__", "__module__", "_private"])
def test_a_value_with_a_secret_never_shows_it(name: str) -> None:
    """The case a widened guard let through: ``{{ o.__dict__ }}`` rendered {'secret': 'k'}."""
    assert _outcome("{{ o.%s }}" % name, o=Holder()) == "refused"
    assert _render("{{ o.secret }}", o=Holder()) == SECRET  # a public field is the template's to use


FILES = {  # a line template's expression -> the object it asks of
    "{{ persona.@ }}": VALUES["dict"],
    "{{ user_name.@ }}": VALUES["str"],
    "{{ now.@ }}": VALUES["datetime"],
    "{{ personas.@ }}": VALUES["list"],
    "{% for p in personas %}{{ loop.@ }}{% endfor %}": INSIDE["loop"],
    "{{ self.@ }}": INSIDE["self"],
    "{% macro m() %}x{% endmacro %}{{ m.@ }}": INSIDE["a macro"],
    "{{ range.@ }}": VALUES["range"],
}


@pytest.mark.parametrize("name", ["__dict__", "__doc__", "__module__", "__class__", "__init__", "__globals__"])
@pytest.mark.parametrize("template", list(FILES))
def test_a_template_file_asking_for_one_fails_with_its_file_and_line(tmp_path: Path, template: str, name: str) -> None:
    """The same guard on the library's own path: a file, with the standard variables."""
    root = copy_prompts(tmp_path)
    (root / "lines" / "probe.md.j2").write_text("Hello.\n" + template.replace("@", name) + "\n")
    library = PromptLibrary(root)
    persona = library.persona("assistant")
    with pytest.raises(PromptError) as e:
        library.render("lines/probe", **next(variants(persona, library.personas())) | {"user_name": "Sam"})
    assert e.value.line == 2 and e.value.file == str(root / "lines" / "probe.md.j2")
    # an attribute the object has is refused by the sandbox; one it lacks is undefined
    word = "refused by the sandbox" if _has(FILES[template], name) else "no attribute"
    assert word in e.value.reason, e.value.reason
