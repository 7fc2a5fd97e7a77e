"""The sandbox templates run in: Jinja's immutable sandbox, with each render held to
a budget of time and output size, so that no template can hang the agent.

Jinja's sandbox stops a template reaching Python internals, not a template that
computes for minutes. Here the time is checked wherever a template can spend it
(each loop step, call, attribute, operator and filter: a template cannot run long
without passing one), and the operations that could build a huge value in a single
step (``**``, ``*``, widths in ``center``/``indent``/``format``, ``replace``,
``join``) are refused before they run when their result would exceed the budget.
"""

from __future__ import annotations

import functools
import gc
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError


@dataclass(frozen=True)
class Budget:
    """What one render may take (figures: benchmarks/render_prompts.py)."""

    seconds: float = 0.05
    chars: int = 64 * 1024  # also caps every value a template builds, and a template file


class BudgetExceeded(SecurityError):
    pass


# the CPU time this thread spent: another process busy on the same cores never fails a
# good template, and a hostile one burns CPU however busy the machine is
_clock = time.thread_time


class _Meter:
    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.deadline = _clock() + budget.seconds

    def tick(self) -> None:
        if _clock() > self.deadline:
            raise BudgetExceeded(f"rendering took longer than {self.budget.seconds * 1000:g} ms")


_meter: ContextVar[_Meter | None] = ContextVar("prompt_render_meter", default=None)
DEFAULT_BUDGET = Budget()


@contextmanager
def metered(budget: Budget) -> Iterator[None]:
    """One render's account. A render nested in another (a changed template tried out
    while another renders) gets its own, and its time does not count against the outer."""
    with unmetered():
        token = _meter.set(_Meter(budget))
        collecting = gc.isenabled()
        gc.disable()  # a collection the render happens to trigger is not the template's time
        try:
            yield
        finally:
            if collecting:
                gc.enable()
            _meter.reset(token)


@contextmanager
def unmetered() -> Iterator[None]:
    """Work a render waits on that is not the template's (loading a changed file, bounded
    by its size): its time does not count against the render."""
    outer, start = _meter.get(), _clock()
    token = _meter.set(None)
    try:
        yield
    finally:
        _meter.reset(token)
        if outer is not None:
            outer.deadline += _clock() - start


def _tick() -> None:
    if (meter := _meter.get()) is not None:
        meter.tick()


def _limit() -> int:
    meter = _meter.get()
    return (meter.budget if meter is not None else DEFAULT_BUDGET).chars


def _size(value: Any, limit: int) -> int:
    """Characters (or items) a value stands for, counted up to just past ``limit``."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 3
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, frozenset)):
        total = len(value)
        for item in value:
            if total > limit:
                break
            total += _size(item, limit)
        return total
    return 0


def checked(value: Any) -> Any:
    """``value``, unless it is bigger than the budget allows."""
    limit = _limit()
    if _size(value, limit) > limit:
        raise BudgetExceeded(f"a value of more than {limit} characters or items")
    return value


def _refuse_over(estimate: int, what: str) -> None:
    if estimate > _limit():
        raise BudgetExceeded(f"{what} would build more than {_limit()} characters")


_NUMBER = re.compile(r"\d+")


def _format_estimate(fmt: str, args: Iterable[Any]) -> int:
    """An upper bound on what a format string (``%``, ``{}``, strftime) can produce."""
    values = list(args)
    widest = max((int(n) if len(n) < 10 else 10**10 for n in _NUMBER.findall(fmt)), default=0)
    widest = max(widest, *(abs(v) for v in values if isinstance(v, int) and not isinstance(v, bool)), 0)
    biggest = max((_size(v, _limit()) for v in values), default=0)
    return len(fmt) + (fmt.count("%") + fmt.count("{")) * (widest + biggest + 32)


def _lines(text: Any) -> int:
    return str(text).count("\n") + 1


# filters and str methods that can build more than their input in one step
_ESTIMATES: dict[str, Callable[..., int]] = {
    "format": lambda s, *a, **k: _format_estimate(str(s), [*a, *k.values()]),
    "indent": lambda s, width=4, *a, **k: len(str(s)) + _lines(s) * (len(width) if isinstance(width, str) else width),
    "replace": lambda s, old, new, count=None, *a, **k: len(str(s)) + len(str(new)) * (
        min(str(s).count(str(old)) if old else len(str(s)) + 1, count if isinstance(count, int) and count >= 0 else 10**10)
    ),
    "wordwrap": lambda s, width=79, brk=True, wrapstring=None, *a, **k: len(str(s))
    + (len(str(s)) // max(int(width), 1) + 1) * len(wrapstring or "\n"),
    "expandtabs": lambda s, tabsize=8, *a, **k: len(str(s)) + str(s).count("\t") * tabsize,
    "strftime": lambda _date, fmt="", *a, **k: _format_estimate(str(fmt), []),
}


def _join_estimate(items: list[Any], sep: Any) -> int:
    return len(items) * len(str(sep)) + sum(_size(i, _limit()) for i in items)


def _capped(name: str, fn: Callable[..., Any], skip: int = 0) -> Callable[..., Any]:
    """``fn`` (a filter or a str method), refused when its arguments would build too much.
    ``skip``: leading arguments Jinja passes itself (context, environment)."""
    estimate = _ESTIMATES.get(name)

    @functools.wraps(fn)
    def capped(*args: Any, **kwargs: Any) -> Any:
        _tick()
        value, options = args[skip : skip + 1], [*args[skip + 1 :], *kwargs.values()]
        if any(isinstance(o, int) and not isinstance(o, bool) and abs(o) > _limit() for o in options):
            raise BudgetExceeded(f"{name}: an argument over {_limit()}")
        if name == "join" and value:  # the filter: join(items, d="")
            items = list(args[skip])
            args = (*args[:skip], items, *args[skip + 1 :])
            _refuse_over(_join_estimate(items, kwargs.get("d", args[skip + 1] if len(args) > skip + 1 else "")), name)
        elif name == "str.join" and len(args) > 1:  # the method: sep.join(items)
            items = list(args[1])
            args = (args[0], items, *args[2:])
            _refuse_over(_join_estimate(items, args[0]), name)
        elif estimate is not None and value:
            _refuse_over(estimate(*value, *args[skip + 1 :], **kwargs), name)
        return checked(fn(*args, **kwargs))

    return capped


def _capped_method(value: Any) -> Any:
    """A str method (or ``strftime``) reached from a template, with the filters' caps."""
    owner, name = getattr(value, "__self__", None), getattr(value, "__name__", "")
    if not callable(value):
        return value
    if isinstance(owner, str):
        if name in ("translate", "maketrans"):
            raise SecurityError(f"str.{name} is not available in templates")
        return _bound("str.join" if name == "join" else name, value, owner)
    if name == "strftime":
        return _bound(name, value, owner)
    return value


def _bound(name: str, method: Callable[..., Any], owner: Any) -> Callable[..., Any]:
    return functools.partial(_capped(name, lambda _owner, *a, **k: method(*a, **k)), owner)


class _Metered:
    """A loop's iterable, checking the time at each step."""

    def __init__(self, iterable: Any) -> None:
        self._iterable = iterable

    def __iter__(self) -> Iterator[Any]:
        for item in self._iterable:
            _tick()
            yield item

    def __len__(self) -> int:  # loop.length
        return len(self._iterable)


class _MeteredCode(CodeGenerator):
    """Jinja's code generator (``Environment.code_generator_class``), with each loop's
    iterable metered and each ``~`` checked."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        if not (isinstance(node.iter, nodes.Call) and isinstance(node.iter.node, nodes.EnvironmentAttribute)):
            node.iter = nodes.Call(nodes.EnvironmentAttribute("metered_loop"), [node.iter], [], None, None, lineno=node.iter.lineno)
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked(")
        super().visit_Concat(node, frame)
        self.write(")")


def _concat(parts: Iterable[str]) -> str:
    """Joins a buffer (a macro's, a ``{% set %}`` block's) once its size is known."""
    parts = list(parts)
    limit = _limit()
    if sum(map(len, parts)) > limit:
        raise BudgetExceeded(f"a block of more than {limit} characters")
    return "".join(parts)


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with only ``range`` as a global, every operator,
    call, attribute, loop and filter metered, and outsized values refused."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    code_generator_class = _MeteredCode
    concat = staticmethod(_concat)  # type: ignore[assignment]

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # cycler, joiner, namespace, lipsum and dict only widen what a template can reach
        self.globals = {"range": self.globals["range"]}
        self.filters = {name: _capped(name, f, skip=1 if hasattr(f, "jinja_pass_arg") else 0) for name, f in self.filters.items()}

    def metered_loop(self, iterable: Any) -> _Metered:
        return _Metered(iterable)

    def checked(self, value: Any) -> Any:
        return checked(value)

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        _tick()
        if op == "**" and _is_int(left) and _is_int(right) and right > 0:
            _refuse_over(max(left.bit_length(), 1) * right // 3, "**")
        elif op == "*" and (_is_int(left) or _is_int(right)) and not (_is_int(left) and _is_int(right)):
            seq, n = (right, left) if _is_int(left) else (left, right)
            _refuse_over(_size(seq, _limit()) * n, "*")
        elif op == "%" and isinstance(left, str):
            _refuse_over(_format_estimate(left, right if isinstance(right, (tuple, list)) else [right]), "%")
        return checked(super().call_binop(context, op, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's own spelling)
        _tick()
        for value in (*args, *kwargs.values()):
            checked(value)
        return checked(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return _capped_method(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return _capped_method(super().getitem(obj, argument))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        fmt = super().wrap_str_format(value)
        if fmt is None:
            return None
        text = value.__self__

        def capped(*args: Any, **kwargs: Any) -> str:
            mapping = args[0] if value.__name__ == "format_map" and args and isinstance(args[0], dict) else {}
            _refuse_over(_format_estimate(text, [*args, *kwargs.values(), *mapping.values()]), "format")
            return fmt(*args, **kwargs)

        return functools.update_wrapper(capped, fmt)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def collect(chunks: Iterable[str]) -> str:
    """A render's output, refused once it is over the budget."""
    out, total, limit = [], 0, _limit()
    for chunk in chunks:
        _tick()
        total += len(chunk)
        if total > limit:
            raise BudgetExceeded(f"the output is over {limit} characters")
        out.append(chunk)
    return "".join(out)
