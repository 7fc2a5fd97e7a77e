"""The session tools' arguments, one pydantic model per tool.

Models send odd things: numbers as strings, booleans for numbers, huge values,
unknown enum members. A model's validators return the clean values or refuse them
with a message the model (or a frontend) can act on; nothing changes on a bad call.
The same models give the tools' JSON schemas (``parameters_schema``) and check a
frontend's requests (``agent/frontend.py``).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Literal, get_args

from livekit.agents.llm import ToolError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from typing_extensions import Self

Scope = Literal["last_turn", "everything"]
FORGET_SCOPES: tuple[str, ...] = get_args(Scope)
MAX_AWAY_MINUTES = 120
MAX_REASON_CHARS = 200
MAX_ABOUT_CHARS = 100

_REFUSED = "refused"  # the error type of every refusal below: its message is the one the caller sees


def _refused(message: str) -> PydanticCustomError:
    return PydanticCustomError(_REFUSED, "{message}", {"message": message})


class Arguments(BaseModel):
    """A JSON object of the declared arguments only. Check one with ``check``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: object) -> object:
        if not isinstance(data, dict):
            raise _refused("Arguments must be a JSON object.")
        # a missing argument is checked as null, so that its own check says what it must be
        return {name: None for name, field in cls.model_fields.items() if field.is_required()} | data

    @classmethod
    def check(
        cls, arguments: object, *, personas: Collection[str] = (), extra: Literal["forbid", "ignore"] = "forbid"
    ) -> Self:
        """The clean arguments, or a ``ToolError`` saying in one line what is wrong.
        ``personas``: the ids a persona may be (they change when the prompts reload);
        ``extra="ignore"`` drops unknown arguments instead of refusing them."""
        try:
            return cls.model_validate(arguments, context={"personas": personas}, extra=extra)
        except ValidationError as e:
            raise ToolError(problem(cls, e)) from None

    @classmethod
    def parameters_schema(cls) -> dict[str, Any]:
        """The JSON schema of the arguments, as a tool's ``parameters``."""
        schema = cls.model_json_schema(schema_generator=_PlainSchema)
        return {
            "type": "object",
            "properties": schema["properties"],
            "required": schema.get("required", []),
            "additionalProperties": schema["additionalProperties"],
        }


class _PlainSchema(GenerateJsonSchema):
    """pydantic's schema in the plain form every provider takes: no titles, no defaults,
    and an optional argument is its type (the model leaves it out rather than send null)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: Any) -> Any:
        return self.generate_inner(schema["schema"])

    def nullable_schema(self, schema: Any) -> Any:
        return self.generate_inner(schema["schema"])


def problem(model: type[Arguments], error: ValidationError) -> str:
    """The one line that says what is wrong: the first unknown argument, else the first refusal."""
    errors = error.errors(include_url=False)
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        accepted = ", ".join(f"`{name}`" for name in sorted(model.model_fields)) or "none"
        return f"Unknown argument {unknown[0][:40]!r} (accepted: {accepted}). Nothing changed."
    first = errors[0]
    if first["type"] == _REFUSED:
        return first["msg"]
    return f"`{'.'.join(map(str, first['loc']))}`: {first['msg']}."  # none foreseen: pydantic's own words


def _words(value: object, refusal: str) -> str:
    """Text with its whitespace collapsed ("" for null), or the refusal for anything else."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _refused(refusal)
    return " ".join(value.split())


class SwitchPersonaArgs(Arguments):
    persona: str = Field(description="The persona to switch to.")

    @field_validator("persona", mode="before")
    @classmethod
    def _known_persona(cls, value: object, info: ValidationInfo) -> str:
        """One of the ids in ``context["personas"]``, in any case, trimmed."""
        known: Collection[str] = info.context["personas"]
        valid = ", ".join(sorted(known))
        if not isinstance(value, str) or not value.strip():
            raise _refused(f"`persona` must be one of: {valid}.")
        persona = value.strip().lower()
        if persona not in known:
            raise _refused(f"Unknown persona {value[:40]!r}. Valid personas: {valid}. Nothing changed.")
        return persona


class ForgetScopeArgs(Arguments):
    """``forget_conversation`` by scope only (a frontend's request)."""

    scope: Scope = Field(
        "last_turn",
        description="`last_turn` (the default): the user's previous turn and your reply to it. "
        "`everything`: the whole conversation so far.",
    )

    @field_validator("scope", mode="before")
    @classmethod
    def _a_scope(cls, value: object) -> str:
        if value is None:
            return "last_turn"
        if not isinstance(value, str) or value.strip().lower() not in FORGET_SCOPES:
            raise _refused(f"`scope` must be one of: {', '.join(FORGET_SCOPES)}. Nothing was forgotten.")
        return value.strip().lower()


class ForgetArgs(ForgetScopeArgs):
    about: str | None = Field(
        None,
        description="Only when the user names what to forget: a few of their words for it, "
        "e.g. \"my card number\" for 'forget my card number'. Every earlier user turn that "
        "mentions it goes, with your replies; `scope` is then not used.",
    )

    @field_validator("about", mode="before")
    @classmethod
    def _a_few_words(cls, value: object) -> str | None:
        """What to forget ("my card number"), or None to forget by scope."""
        about = _words(value, '`about` must be a few words naming what to forget, e.g. "my card number". Nothing was forgotten.')
        if len(about) > MAX_ABOUT_CHARS:
            raise _refused(f"`about` must be a few words (at most {MAX_ABOUT_CHARS} characters). Nothing was forgotten.")
        return about or None


class MarkAwayArgs(Arguments):
    reason: str | None = Field(None, description="Why, in a few words, if the user said.")
    minutes: int | float | None = Field(
        None, description=f"How long they asked for, in minutes (at most {MAX_AWAY_MINUTES}), if they said."
    )

    @field_validator("reason", mode="before")
    @classmethod
    def _short_text(cls, value: object) -> str | None:
        return _words(value, "`reason` must be a short text.")[:MAX_REASON_CHARS] or None

    @field_validator("minutes", mode="plain", json_schema_input_type=float | None)
    @classmethod
    def _minutes(cls, value: object) -> int | float | None:
        """Minutes the user asked for, or None for the default hold: a whole number as an int
        (5, whether the model sent 5, 5.0 or "5"), a fraction as a float (0.5)."""
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise _refused("`minutes` must be a number of minutes, not true/false.")
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise _refused("`minutes` must be a number, e.g. 5.") from None
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _refused("`minutes` must be a number, e.g. 5.")
        if not 0 < value <= MAX_AWAY_MINUTES:
            raise _refused(f"`minutes` must be more than 0 and at most {MAX_AWAY_MINUTES}.")
        return int(value) if float(value).is_integer() else float(value)
