"""Strict schema checks of OpenAI wire messages against the ``openai`` SDK's own types.

The loopback fakes run every message they send or receive through these checks and record
what fails (``schema_violations`` on the fake); the wire fixtures fail the test at teardown
when anything was recorded.

Two layers:

1. **pydantic validation** of the SDK model, through a ``TypeAdapter``: for the Realtime API
   the server and client event unions (``openai.types.realtime.RealtimeServerEvent`` /
   ``RealtimeClientEvent``), with their own ``type`` discriminator (the SDK marks it with
   ``PropertyInfo(discriminator="type")``, which pydantic does not read, so the adapter is built
   as a pydantic discriminated union of the same members); for Chat Completions
   ``ChatCompletionChunk`` / ``ChatCompletion``. This catches missing required fields and
   wrong types or literal values.
2. **A structural walk** of the same annotations over the JSON, which reports every key the
   type does not declare. The SDK's models accept unknown keys silently
   (``openai._models.BaseModel``: ``ConfigDict(extra="allow")``), and the real services
   refuse them in requests (an ``unknown_parameter`` error, e.g.
   "Unknown parameter: 'session.tools[0].meta'.", livekit/agents#3210), so the walk is what
   makes the check strict. It recurses into nested models, TypedDicts, lists and unions (a
   union is satisfied by any member; the report names the closest one), and understands
   pydantic aliases and the SDK's ``PropertyInfo(alias=...)``.

Request bodies of Chat Completions are TypedDicts (``completion_create_params``), which
pydantic validates only shallowly (``Iterable`` fields are validated lazily, unknown keys are
ignored), so for them the walk does the whole job: required keys (``Required``/``total``),
unknown keys, literal values, primitive types.

Each problem is a string ``"<path>: <what>"`` with a JSONPath-like ``path`` (``$.session.foo``).
"""

from __future__ import annotations

import collections.abc
import functools
import types
import typing
from typing import Annotated, Any, Literal, Union

import pydantic
import typing_extensions
from pydantic import Field, TypeAdapter, ValidationError

__all__ = [
    "chat_completion_chunk_problems",
    "chat_completion_problems",
    "chat_request_problems",
    "check_value",
    "realtime_client_event_problems",
    "realtime_server_event_problems",
    "unknown_type",
]

_NONE = type(None)
_REQUIRED = {typing.Required, typing_extensions.Required}
_NOT_REQUIRED = {typing.NotRequired, typing_extensions.NotRequired}
_LISTS = {list, collections.abc.Sequence, collections.abc.Iterable, collections.abc.MutableSequence}
_DICTS = {dict, collections.abc.Mapping, collections.abc.MutableMapping}


def unknown_type(type_: str) -> str:
    return f"$.type: unknown event type {type_!r}"


# ------------------------------------------------------------------------------------------
# the structural walk
# ------------------------------------------------------------------------------------------


class _Problem(typing.NamedTuple):
    kind: str  # "unknown", "missing", "type"
    path: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}: {self.what}"


def _strip(tp: Any) -> tuple[Any, list[Any]]:
    """``tp`` without ``Annotated``/``Required``/``NotRequired`` wrappers, and the metadata."""
    meta: list[Any] = []
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            meta.extend(tp.__metadata__)
            tp = tp.__origin__
        elif origin in _REQUIRED or origin in _NOT_REQUIRED:
            (tp,) = typing.get_args(tp)
        else:
            return tp, meta


def _alias(meta: list[Any]) -> str | None:
    for m in meta:
        alias = getattr(m, "alias", None)
        if isinstance(alias, str):
            return alias
    return None


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and typing_extensions.is_typeddict(tp)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


@functools.cache
def _model_fields(cls: type[pydantic.BaseModel]) -> tuple[tuple[str, Any, bool], ...]:
    """(JSON key, annotation, required) for each field of a pydantic model."""
    if not cls.__pydantic_complete__:
        cls.model_rebuild()
    out = []
    for name, f in cls.model_fields.items():
        key = f.alias or name
        if isinstance(f.validation_alias, str):
            key = f.validation_alias
        ann = f.annotation
        if f.metadata:
            ann = Annotated[(ann, *f.metadata)]
        out.append((key, ann, f.is_required()))
    return tuple(out)


def _typeddict_lineage(td: type) -> list[type]:
    """``td`` and the TypedDicts it extends, base-most first (a TypedDict's ``__mro__``
    does not list them; ``__orig_bases__`` does)."""
    out: list[type] = []
    for base in getattr(td, "__orig_bases__", ()):
        if _is_typeddict(base):
            out.extend(b for b in _typeddict_lineage(base) if b not in out)
    out.append(td)
    return out


@functools.cache
def _typeddict_fields(td: type) -> tuple[tuple[str, Any, bool], ...]:
    """(JSON key, annotation, required) for each key of a TypedDict, inherited ones included
    (each with the totality of the class that declared it)."""
    out: dict[str, tuple[str, Any, bool]] = {}
    raw: dict[str, Any] = {}  # the annotation as declared, to tell inherited from redeclared
    for klass in _typeddict_lineage(td):
        own = klass.__dict__.get("__annotations__")
        if not own or not _is_typeddict(klass):
            continue
        hints = typing.get_type_hints(klass, include_extras=True)
        total = klass.__dict__.get("__total__", True)
        for name in own:
            # a subclass's __annotations__ repeats the inherited keys: those keep the
            # totality of the class that declared them
            declared = getattr(own[name], "__forward_arg__", own[name])
            if name in raw and raw[name] == declared:
                continue
            raw[name] = declared
            ann = hints[name]
            required = total
            t = ann
            while True:  # find Required/NotRequired under Annotated, or the other way round
                origin = typing.get_origin(t)
                if origin in _REQUIRED:
                    required = True
                    break
                if origin in _NOT_REQUIRED:
                    required = False
                    break
                if origin is Annotated:
                    t = t.__origin__
                    continue
                break
            _, meta = _strip(ann)
            key = _alias(meta) or name
            out[name] = (key, ann, required)
    return tuple(out.values())


def _fields(tp: Any) -> tuple[tuple[str, Any, bool], ...]:
    return _model_fields(tp) if _is_model(tp) else _typeddict_fields(tp)


def _literal_clash(tp: Any, value: dict[str, Any]) -> bool:
    """True when a key of ``value`` contradicts a ``Literal`` field of ``tp`` (its ``type``
    or ``role``, typically): that member of a union is not the one meant."""
    for key, ann, _ in _fields(tp):
        if key not in value:
            continue
        inner, _ = _strip(ann)
        if typing.get_origin(inner) is Literal and value[key] not in typing.get_args(inner):
            return True
    return False


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


def _check(tp: Any, value: Any, path: str) -> list[_Problem]:
    tp, _ = _strip(tp)
    if tp is Any or tp is object:
        return []
    if tp is None or tp is _NONE:
        return [] if value is None else [_Problem("type", path, f"expected null, got {value!r:.60}")]
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    if origin is Union or origin is types.UnionType:
        if value is None:
            if _NONE in args:
                return []
            return [_Problem("type", path, "null is not allowed")]
        members = [a for a in args if a is not _NONE]
        if len(members) == 1:
            return _check(members[0], value, path)
        results = []
        for m in members:
            probs = _check(m, value, path)
            if not probs:
                return []
            results.append((m, probs))
        # report against the closest member: one whose literal keys (type, role) fit
        if isinstance(value, dict):
            fitting = [
                (m, p) for m, p in results
                if (_is_model(_strip(m)[0]) or _is_typeddict(_strip(m)[0]))
                and not _literal_clash(_strip(m)[0], value)
            ]
            if fitting:
                results = fitting
        return min(results, key=lambda mp: len(mp[1]))[1]

    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return []
        return [_Problem("type", path, f"{value!r:.60} is not one of {list(args)!r:.200}")]

    if tp is str:
        return [] if isinstance(value, str) else [_Problem("type", path, f"expected a string, got {value!r:.60}")]
    if tp is bool:
        return [] if isinstance(value, bool) else [_Problem("type", path, f"expected a boolean, got {value!r:.60}")]
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [_Problem("type", path, f"expected an integer, got {value!r:.60}")]
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [_Problem("type", path, f"expected a number, got {value!r:.60}")]

    if origin in _LISTS or tp in _LISTS:
        if not isinstance(value, list):
            return [_Problem("type", path, f"expected an array, got {value!r:.60}")]
        item_tp = args[0] if args else Any
        return [p for i, v in enumerate(value) for p in _check(item_tp, v, f"{path}[{i}]")]

    if origin in _DICTS or tp in _DICTS:
        if not isinstance(value, dict):
            return [_Problem("type", path, f"expected an object, got {value!r:.60}")]
        val_tp = args[1] if len(args) == 2 else Any
        return [p for k, v in value.items() for p in _check(val_tp, v, f"{path}.{k}")]

    if _is_model(tp) or _is_typeddict(tp):
        if not isinstance(value, dict):
            return [_Problem("type", path, f"expected an object ({_type_name(tp)}), got {value!r:.60}")]
        problems: list[_Problem] = []
        declared = set()
        for key, ann, required in _fields(tp):
            declared.add(key)
            if key not in value:
                if required:
                    problems.append(_Problem("missing", f"{path}.{key}", f"missing required field ({_type_name(tp)})"))
                continue
            problems.extend(_check(ann, value[key], f"{path}.{key}"))
        for key in value:
            if key not in declared:
                problems.append(_Problem("unknown", f"{path}.{key}", f"unknown field, not declared by {_type_name(tp)}"))
        return problems

    # anything else (e.g. a TypeVar, a date): pydantic's own validation is the judge
    return []


def check_value(tp: Any, value: Any, path: str = "$") -> list[str]:
    """Every structural problem of ``value`` (parsed JSON) against the type ``tp``: unknown
    keys, missing required keys, wrong primitive types or literal values."""
    return [str(p) for p in _check(tp, value, path)]


# ------------------------------------------------------------------------------------------
# pydantic validation + the walk
# ------------------------------------------------------------------------------------------


def _pydantic_errors(adapter: TypeAdapter[Any], value: Any) -> list[str]:
    try:
        adapter.validate_python(value)
    except ValidationError as e:
        out = []
        for err in e.errors(include_url=False):
            loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
            out.append(f"${loc}: {err['msg']} ({err['type']})")
        return out
    return []


def _model_problems(adapter: TypeAdapter[Any], tp: Any, value: Any) -> list[str]:
    """The walk's problems (unknown keys, which pydantic lets through, and missing or
    invalid ones, named by their JSON path); pydantic's own verdict besides, for anything
    the walk does not look at (it reports nothing pydantic accepts)."""
    walk = [str(p) for p in _check(tp, value, "$")]
    errors = _pydantic_errors(adapter, value)
    if errors and not walk:
        return errors
    return walk


def _discriminated(union_alias: Any) -> tuple[TypeAdapter[Any], dict[str, Any]]:
    """A TypeAdapter of an SDK event union, discriminated on ``type``, and type -> member."""
    union, *_meta = typing.get_args(union_alias)  # Annotated[Union[...], PropertyInfo(...)]
    members = typing.get_args(union)
    by_type: dict[str, Any] = {}
    for m in members:
        for lit in typing.get_args(m.model_fields["type"].annotation):
            by_type[lit] = m
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[Union[members], Field(discriminator="type")])  # type: ignore[valid-type]
    return adapter, by_type


@functools.cache
def _realtime_server() -> tuple[TypeAdapter[Any], dict[str, Any]]:
    from openai.types.realtime import RealtimeServerEvent

    return _discriminated(RealtimeServerEvent)


@functools.cache
def _realtime_client() -> tuple[TypeAdapter[Any], dict[str, Any]]:
    from openai.types.realtime import RealtimeClientEvent

    return _discriminated(RealtimeClientEvent)


def _event_problems(event: Any, union: tuple[TypeAdapter[Any], dict[str, Any]]) -> list[str]:
    adapter, by_type = union
    if not isinstance(event, dict):
        return [f"$: expected an object, got {event!r:.60}"]
    member = by_type.get(event.get("type"))  # type: ignore[arg-type]
    if member is None:
        return [unknown_type(event.get("type"))]  # type: ignore[arg-type]
    return _model_problems(adapter, member, event)


def realtime_server_event_problems(event: Any) -> list[str]:
    """Problems of one Realtime server event (parsed JSON) against ``RealtimeServerEvent``."""
    return _event_problems(event, _realtime_server())


def realtime_client_event_problems(event: Any) -> list[str]:
    """Problems of one Realtime client event (parsed JSON) against ``RealtimeClientEvent``."""
    return _event_problems(event, _realtime_client())


@functools.cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def chat_completion_chunk_problems(chunk: Any) -> list[str]:
    """Problems of one streamed ``chat.completion.chunk`` against ``ChatCompletionChunk``."""
    from openai.types.chat import ChatCompletionChunk

    return _model_problems(_adapter(ChatCompletionChunk), ChatCompletionChunk, chunk)


def chat_completion_problems(completion: Any) -> list[str]:
    """Problems of a non-streamed ``chat.completion`` against ``ChatCompletion``."""
    from openai.types.chat import ChatCompletion

    return _model_problems(_adapter(ChatCompletion), ChatCompletion, completion)


def chat_request_problems(body: Any) -> list[str]:
    """Problems of a ``POST /chat/completions`` body against the SDK's request TypedDicts
    (``completion_create_params.CompletionCreateParamsStreaming`` when ``stream`` is true,
    ``...NonStreaming`` otherwise): required keys (``model``, ``messages``), unknown keys,
    each message's shape for its ``role`` (the ``ChatCompletionMessageParam`` union),
    tools, tool choice and options. The walk alone: pydantic validates TypedDicts
    shallowly."""
    from openai.types.chat import completion_create_params as params

    if not isinstance(body, dict):
        return [f"$: expected an object, got {body!r:.60}"]
    td = (
        params.CompletionCreateParamsStreaming
        if body.get("stream") is True
        else params.CompletionCreateParamsNonStreaming
    )
    return check_value(td, body)
