"""A strict checker of Gemini Live wire messages against google-genai's own types.

google-genai's pydantic models (``google.genai.types``) describe every message of the Live
API, but the SDK does not reject what they do not describe: ``BaseModel._from_response``
drops unknown fields "to maintain forward compatibility" (``google/genai/_common.py``), and
``live.py`` reads only the top-level keys it knows (``_LiveServerMessage_from_mldev``). The
real service is not so lenient: a field it does not know is an error ("Invalid JSON payload
received. Unknown name "x" at '...': Cannot find field.", e.g. zed-industries/zed#44875;
on the Live WebSocket a bad request closes with 1007). So this module walks the JSON itself
against the models' fields and reports

- unknown keys (at any depth, with the path),
- values of the wrong JSON type (object / array / string / number / bool, enum names, base64
  for ``bytes``),
- more than one member of the message's ``messageType`` oneof (``BidiGenerateContentClientMessage``
  / ``BidiGenerateContentServerMessage`` carry exactly one: ``setup | clientContent |
  realtimeInput | toolResponse``, ``setupComplete | serverContent | toolCall |
  toolCallCancellation | goAway | sessionResumptionUpdate``; see the generated
  ``protos.google.ai.generativelanguage.v1beta.BidiGenerateContentClientMessage`` reference,
  docs.cloud.google.com/nodejs/docs/reference/generativelanguage/latest).

Key spelling: proto3 JSON parsers "accept both the lowerCamelCase name ... and the original
proto field name" (protobuf.dev/programming-guides/proto3/#json), and google-genai itself
sends a mix (``client_content`` at the top, ``turnComplete`` inside, ``candidate_count`` in
the generation config), so client messages may use either. The service *prints* lowerCamelCase
only, and ``live.py`` only finds ``serverContent``/``toolCall``/... by that spelling, so server
messages must be camelCase (``accept_snake=False``).

Usage::

    problems = check_client_message(json.loads(raw))   # [] when valid
    problems = check_server_message({"serverContent": {"turnComplete": True}})
"""

from __future__ import annotations

import base64
import binascii
import datetime
import enum
import functools
import types as pytypes
import typing
from typing import Any, Union

import pydantic
from pydantic.alias_generators import to_camel

__all__ = [
    "check",
    "check_client_message",
    "check_server_message",
    "CLIENT_ONEOF",
    "SERVER_ONEOF",
]

# the messageType oneof of BidiGenerateContentClientMessage / ...ServerMessage (camelCase);
# usageMetadata sits outside the server's oneof and may ride along
CLIENT_ONEOF = ("setup", "clientContent", "realtimeInput", "toolResponse")
SERVER_ONEOF = (
    "setupComplete",
    "serverContent",
    "toolCall",
    "toolCallCancellation",
    "goAway",
    "sessionResumptionUpdate",
    "voiceActivityDetectionSignal",
    "voiceActivity",
)

_NONE = type(None)


def _types() -> Any:
    from google.genai import types

    return types


def _wire_extras(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """Fields the wire carries that the model lacks.

    ``LiveClientSetup`` (google-genai 3.4.0) has no ``realtime_input_config``, yet google-genai
    itself writes ``setup.realtimeInputConfig`` (``_live_converters._LiveConnectConfig_to_mldev``
    from ``LiveConnectConfig.realtime_input_config``), the service's proto has it
    (``BidiGenerateContentSetup.realtimeInputConfig``, see the generated
    google_cloud_ai_generativelanguage_v1beta reference on pub.dev) and the Java/Kotlin SDKs'
    ``LiveClientSetup`` carry it. Without this the plugin's manual activity detection would be
    reported as an unknown field.
    """
    types = _types()
    if model is types.LiveClientSetup:
        return {"realtime_input_config": typing.Optional[types.RealtimeInputConfig]}
    return {}


@functools.lru_cache(maxsize=None)
def _fields(model: type[pydantic.BaseModel]) -> dict[str, tuple[str, Any]]:
    """Wire spelling -> (field name, annotation), both the camelCase alias and snake_case."""
    out: dict[str, tuple[str, Any]] = {}
    for name, info in model.model_fields.items():
        alias = info.alias or to_camel(name)
        out[alias] = (name, info.annotation)
        out[name] = (name, info.annotation)
    for name, annotation in _wire_extras(model).items():
        out.setdefault(to_camel(name), (name, annotation))
        out.setdefault(name, (name, annotation))
    return out


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def _wire_alternatives(tp: Any) -> list[Any]:
    """The members of a Union that can appear on the wire (PIL images, callables, MCP
    sessions and the like are SDK conveniences, never JSON)."""
    out = []
    for alt in typing.get_args(tp):
        if alt is _NONE:
            continue
        origin = typing.get_origin(alt)
        if origin is not None or alt in (str, int, float, bool, bytes, Any) or _is_model(alt):
            out.append(alt)
        elif isinstance(alt, type) and issubclass(alt, enum.Enum):
            out.append(alt)
    return out


def _unwrap_annotated(tp: Any) -> Any:
    if typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        for m in meta:
            func = getattr(m, "func", None)
            if getattr(func, "__name__", "") == "_validate_tool_list":
                # ToolListUnion: a bare ``list`` whose validator turns dicts into Tool
                return list[_types().Tool]
        return base
    return tp


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check(value: Any, tp: Any, path: str = "", *, accept_snake: bool = True) -> list[str]:
    """Problems found walking JSON ``value`` against annotation ``tp`` ([] when none)."""
    tp = _unwrap_annotated(tp)
    where = path or "<root>"
    if tp is Any or tp is object:
        return []
    origin = typing.get_origin(tp)

    if origin is Union or origin is pytypes.UnionType:
        if value is None:
            return [] if _NONE in typing.get_args(tp) else [f"{where}: null is not allowed"]
        alts = _wire_alternatives(tp)
        if len(alts) == 1:
            return check(value, alts[0], path, accept_snake=accept_snake)
        best: list[str] | None = None
        for alt in alts:
            problems = check(value, alt, path, accept_snake=accept_snake)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best or [f"{where}: {_describe(value)} matches none of {tp}"]

    if value is None:
        # proto3 JSON: "null is accepted for all field types and treated as the default"
        return []

    if origin in (list, tuple, set, frozenset):
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {_describe(value)}"]
        args = typing.get_args(tp)
        item = args[0] if args else Any
        out: list[str] = []
        for i, v in enumerate(value):
            out += check(v, item, f"{path}[{i}]", accept_snake=accept_snake)
        return out

    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {_describe(value)}"]
        args = typing.get_args(tp)
        vt = args[1] if len(args) == 2 else Any
        out = []
        for k, v in value.items():
            out += check(v, vt, f"{path}.{k}" if path else k, accept_snake=accept_snake)
        return out

    if origin is typing.Literal:
        return [] if value in typing.get_args(tp) else [f"{where}: {_describe(value)} not in {typing.get_args(tp)}"]

    if _is_model(tp):
        return _check_model(value, tp, path, accept_snake=accept_snake)

    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        allowed = {m.value for m in tp}
        if isinstance(value, str) and value in allowed:
            return []
        return [f"{where}: {_describe(value)} is not a {tp.__name__} (one of {sorted(allowed)})"]

    if tp is bool:
        return [] if isinstance(value, bool) else [f"{where}: expected a bool, got {_describe(value)}"]
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return []
        if isinstance(value, str) and value.lstrip("-").isdigit():  # proto3 JSON: ints as strings
            return []
        return [f"{where}: expected an integer, got {_describe(value)}"]
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return []
        if value in ("NaN", "Infinity", "-Infinity"):
            return []
        return [f"{where}: expected a number, got {_describe(value)}"]
    if tp is str:
        return [] if isinstance(value, str) else [f"{where}: expected a string, got {_describe(value)}"]
    if tp is bytes:
        if not isinstance(value, str):
            return [f"{where}: expected base64 bytes, got {_describe(value)}"]
        try:  # proto3 JSON: standard or URL-safe base64 (google-genai sends URL-safe)
            base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            return [f"{where}: not base64: {_describe(value)}"]
        return []
    if tp in (datetime.datetime, datetime.date, datetime.timedelta):
        return [] if isinstance(value, str) else [f"{where}: expected a timestamp string, got {_describe(value)}"]
    return [f"{where}: {tp!r} cannot be checked (not a wire type)"]


def _check_model(
    value: Any, model: type[pydantic.BaseModel], path: str, *, accept_snake: bool
) -> list[str]:
    where = path or "<root>"
    if not isinstance(value, dict):
        return [f"{where}: expected a {model.__name__} object, got {_describe(value)}"]
    fields = _fields(model)
    out: list[str] = []
    seen: dict[str, str] = {}
    for key, v in value.items():
        sub = f"{path}.{key}" if path else key
        entry = fields.get(key)
        if entry is None:
            out.append(f"{sub}: unknown field {key!r} of {model.__name__}")
            continue
        name, annotation = entry
        if not accept_snake and key == name and to_camel(name) != name:
            out.append(f"{sub}: the service writes lowerCamelCase ({to_camel(name)!r}), not {key!r}")
        if name in seen:
            out.append(f"{sub}: {model.__name__}.{name} given twice ({seen[name]!r} and {key!r})")
        seen[name] = key
        out += check(v, annotation, sub, accept_snake=accept_snake)
    return out


def _oneof(msg: dict[str, Any], members: tuple[str, ...], what: str) -> list[str]:
    present = [k for k in msg if to_camel(k) in members]
    if len(present) > 1:
        return [f"<root>: {what} carries one message type, got {present}"]
    return []


def check_client_message(msg: Any) -> list[str]:
    """A client message against ``LiveClientMessage`` (its ``setup`` against
    ``LiveClientSetup``), camelCase or snake_case keys, exactly one message type."""
    types = _types()
    if not isinstance(msg, dict):
        return [f"<root>: expected an object, got {_describe(msg)}"]
    problems = check(msg, types.LiveClientMessage)
    present = [k for k in msg if to_camel(k) in CLIENT_ONEOF]
    if not present and not problems:
        problems.append(f"<root>: no message type (one of {list(CLIENT_ONEOF)})")
    return problems + _oneof(msg, CLIENT_ONEOF, "BidiGenerateContentClientMessage")


def check_server_message(msg: Any) -> list[str]:
    """A server message against ``LiveServerMessage``: camelCase keys only, at most one
    message type (plus ``usageMetadata``)."""
    types = _types()
    if not isinstance(msg, dict):
        return [f"<root>: expected an object, got {_describe(msg)}"]
    problems = check(msg, types.LiveServerMessage, accept_snake=False)
    return problems + _oneof(msg, SERVER_ONEOF, "BidiGenerateContentServerMessage")
