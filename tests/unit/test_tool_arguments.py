"""Odd tool arguments get a clear one-line ToolError; good ones come back clean. The
models behind them also give the tools' schemas and check a frontend's requests."""

from __future__ import annotations

import math
from typing import Any

import pytest
from livekit.agents.llm import ToolError

from tools import (
    MAX_AWAY_MINUTES,
    Arguments,
    ForgetArgs,
    ForgetScopeArgs,
    MarkAwayArgs,
    Outcome,
    PersonaChoice,
    SwitchPersonaArgs,
    build_session_tools,
)

PERSONAS = ["assistant", "pirate", "tutor"]


def _refusal(model: type[Arguments], arguments: object, **kw: Any) -> str:
    with pytest.raises(ToolError) as err:
        model.check(arguments, **kw)
    return str(err.value)


def test_persona_is_normalised() -> None:
    assert SwitchPersonaArgs.check({"persona": " Pirate "}, personas=PERSONAS).persona == "pirate"


@pytest.mark.parametrize("value", ["wizard", "", None, 3, ["pirate"], "../pirate", "{{ 7*7 }}"])
def test_unknown_persona_lists_the_valid_ones(value: object) -> None:
    assert "assistant, pirate, tutor" in _refusal(SwitchPersonaArgs, {"persona": value}, personas=PERSONAS)


def test_persona_messages() -> None:
    assert _refusal(SwitchPersonaArgs, {"persona": "Wizard "}, personas=PERSONAS) == (
        "Unknown persona 'Wizard '. Valid personas: assistant, pirate, tutor. Nothing changed."
    )
    for arguments in ({}, {"persona": None}, {"persona": "  "}, {"persona": 7}):
        assert _refusal(SwitchPersonaArgs, arguments, personas=PERSONAS) == "`persona` must be one of: assistant, pirate, tutor."


def test_the_valid_personas_are_listed_in_order() -> None:
    assert "Valid personas: assistant, pirate, tutor." in _refusal(SwitchPersonaArgs, {"persona": "x"}, personas=["tutor", "assistant", "pirate"])


def test_the_personas_are_those_of_the_call() -> None:
    """The loaded personas change when the prompts reload: each check is against its own list."""
    assert SwitchPersonaArgs.check({"persona": "wizard"}, personas=[*PERSONAS, "wizard"]).persona == "wizard"
    assert "Valid personas: assistant, pirate, tutor." in _refusal(SwitchPersonaArgs, {"persona": "wizard"}, personas=PERSONAS)


def test_unknown_persona_name_is_cut_short() -> None:
    assert len(_refusal(SwitchPersonaArgs, {"persona": "x" * 5000}, personas=PERSONAS)) < 200


@pytest.mark.parametrize(
    ("value", "expected"), [("last_turn", "last_turn"), ("EVERYTHING", "everything"), (" everything ", "everything"), (None, "last_turn")]
)
def test_scope(value: object, expected: str) -> None:
    assert ForgetArgs.check({"scope": value}).scope == expected
    assert ForgetArgs.check({}).scope == ForgetScopeArgs.check({}).scope == "last_turn"


@pytest.mark.parametrize("value", ["yesterday", "all", "", 1, True, {"scope": "everything"}])
def test_bad_scope(value: object) -> None:
    assert _refusal(ForgetArgs, {"scope": value}) == "`scope` must be one of: last_turn, everything. Nothing was forgotten."


@pytest.mark.parametrize(
    ("value", "expected"), [(5, 5), (5.0, 5), ("5", 5), (" 5.0 ", 5), ("10", 10), (0.5, 0.5), ("0.5", 0.5), (120, 120), (None, None), ("", None)]
)
def test_minutes(value: object, expected: float | None) -> None:
    minutes = MarkAwayArgs.check({"minutes": value}).minutes
    assert minutes == expected and type(minutes) is type(expected)  # a whole number is an int, a fraction a float
    assert MarkAwayArgs.check({}).minutes is None


@pytest.mark.parametrize("value", [0, -5, 121, 120.5, 1e9, "0", "-1"])
def test_minutes_out_of_range(value: object) -> None:
    assert _refusal(MarkAwayArgs, {"minutes": value}) == f"`minutes` must be more than 0 and at most {MAX_AWAY_MINUTES}."


@pytest.mark.parametrize("value", [math.nan, math.inf, "inf", "nan", "lots", [5], {"m": 1}])
def test_minutes_that_are_no_number(value: object) -> None:
    assert _refusal(MarkAwayArgs, {"minutes": value}) == "`minutes` must be a number, e.g. 5."


@pytest.mark.parametrize("value", [True, False])
def test_minutes_are_never_true_or_false(value: bool) -> None:
    assert _refusal(MarkAwayArgs, {"minutes": value}) == "`minutes` must be a number of minutes, not true/false."


def test_reason_is_collapsed_and_capped() -> None:
    assert MarkAwayArgs.check({"reason": "  door \n bell "}).reason == "door bell"
    assert MarkAwayArgs.check({"reason": "a" * 1000}).reason == "a" * 200
    assert MarkAwayArgs.check({"reason": " " * 5}).reason is MarkAwayArgs.check({"reason": None}).reason is None
    for value in (42, ["door"], True):
        assert _refusal(MarkAwayArgs, {"reason": value}) == "`reason` must be a short text."


@pytest.mark.parametrize(
    ("value", "expected"), [("  my card\n number ", "my card number"), (None, None), ("", None), ("  ", None), (" " + "x" * 100 + " ", "x" * 100)]
)
def test_about(value: object, expected: str | None) -> None:
    assert ForgetArgs.check({"about": value}).about == expected


@pytest.mark.parametrize("value", [42, True, ["my address"], {"about": "x"}])
def test_about_that_is_no_words_forgets_nothing(value: object) -> None:
    assert _refusal(ForgetArgs, {"about": value}) == (
        '`about` must be a few words naming what to forget, e.g. "my card number". Nothing was forgotten.'
    )


def test_about_that_is_too_long_forgets_nothing() -> None:
    assert _refusal(ForgetArgs, {"about": "x" * 101}) == "`about` must be a few words (at most 100 characters). Nothing was forgotten."


@pytest.mark.parametrize("value", [["pirate"], "pirate", 3, None])
def test_arguments_are_an_object(value: object) -> None:
    assert _refusal(SwitchPersonaArgs, value, personas=PERSONAS) == "Arguments must be a JSON object."


# -- unknown arguments: refused (a frontend's request) or left out (a tool call, as the model sent it)


@pytest.mark.parametrize(
    ("model", "arguments", "message"),
    [
        (SwitchPersonaArgs, {"persona": "pirate", "voice": "x"}, "Unknown argument 'voice' (accepted: `persona`). Nothing changed."),
        # the first unknown one, before any bad value
        (SwitchPersonaArgs, {"persona": "wizard", "zz": 1, "b": 2}, "Unknown argument 'b' (accepted: `persona`). Nothing changed."),
        (ForgetScopeArgs, {"about": "my card"}, "Unknown argument 'about' (accepted: `scope`). Nothing changed."),
        (MarkAwayArgs, {"minutes": -1, "when": "now"}, "Unknown argument 'when' (accepted: `minutes`, `reason`). Nothing changed."),
        (Arguments, {"now": True}, "Unknown argument 'now' (accepted: none). Nothing changed."),
        (Arguments, {"x" * 100: 1}, f"Unknown argument {'x' * 40!r} (accepted: none). Nothing changed."),
    ],
)
def test_an_unknown_argument_is_refused(model: type[Arguments], arguments: dict[str, Any], message: str) -> None:
    assert _refusal(model, arguments, personas=PERSONAS) == message


def test_an_unknown_argument_can_be_left_out() -> None:
    assert SwitchPersonaArgs.check({"persona": "tutor", "voice": "x"}, personas=PERSONAS, extra="ignore").persona == "tutor"
    assert Arguments.check({"now": True}, extra="ignore") == Arguments()


def test_mark_away_reports_the_reason_first() -> None:
    """One message for a call with two bad arguments: the first in the schema's order."""
    assert _refusal(MarkAwayArgs, {"reason": 7, "minutes": -1}) == "`reason` must be a short text."


# -- the schemas the tools give the model: today's, from the models ------------------------------------


class _Control:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def persona_choices(self) -> list[PersonaChoice]:
        return [PersonaChoice("pirate", "Captain", "A salty sea dog."), PersonaChoice("tutor", "Ada", "A patient teacher.")]

    async def switch_persona(self, persona: str, ctx: Any) -> Outcome:
        self.calls.append(("switch", persona))
        return Outcome("switched", persona)

    async def forget(self, scope: str, ctx: Any, about: str | None = None) -> Outcome:
        self.calls.append(("forget", scope, about))
        return Outcome("forgotten", scope)

    async def mark_away(self, reason: str | None, minutes: float | None, ctx: Any) -> Outcome:
        self.calls.append(("away", reason, minutes))
        return Outcome("away", str(minutes))


SCHEMAS = {
    "switch_persona": {
        "type": "object",
        "properties": {
            "persona": {
                "type": "string",
                "enum": ["pirate", "tutor"],
                "description": "The persona to switch to. `pirate`: A salty sea dog. `tutor`: A patient teacher.",
            }
        },
        "required": ["persona"],
        "additionalProperties": False,
    },
    "forget_conversation": {
        "type": "object",
        "properties": {
            "scope": {
                "type": "string",
                "enum": ["last_turn", "everything"],
                "description": "`last_turn` (the default): the user's previous turn and your reply to it. "
                "`everything`: the whole conversation so far.",
            },
            "about": {
                "type": "string",
                "description": "Only when the user names what to forget: a few of their words for it, "
                "e.g. \"my card number\" for 'forget my card number'. Every earlier user turn that "
                "mentions it goes, with your replies; `scope` is then not used.",
            },
        },
        "required": [],
        "additionalProperties": False,
    },
    "mark_user_away": {
        "type": "object",
        "properties": {
            "reason": {"type": "string", "description": "Why, in a few words, if the user said."},
            "minutes": {"type": "number", "description": "How long they asked for, in minutes (at most 120), if they said."},
        },
        "required": [],
        "additionalProperties": False,
    },
}


def test_the_schemas_are_the_public_interface_exactly() -> None:
    """No titles, defaults or nulls from pydantic: what every provider takes, unchanged."""
    assert {t.info.name: t.info.raw_schema["parameters"] for t in build_session_tools(_Control())} == SCHEMAS


def test_the_persona_enum_is_built_per_call() -> None:
    control = _Control()
    first = build_session_tools(control)[0].info.raw_schema["parameters"]["properties"]["persona"]
    control.persona_choices = lambda: [PersonaChoice("wizard", "Merlin", "Magic.")]  # type: ignore[method-assign]
    second = build_session_tools(control)[0].info.raw_schema["parameters"]["properties"]["persona"]
    assert (first["enum"], second["enum"]) == (["pirate", "tutor"], ["wizard"])
    assert second["description"] == "The persona to switch to. `wizard`: Magic."
    assert SwitchPersonaArgs.parameters_schema()["properties"]["persona"] == {"type": "string", "description": "The persona to switch to."}


async def test_the_tools_hand_on_clean_arguments_and_leave_out_unknown_ones() -> None:
    control = _Control()
    switch, forget, away = build_session_tools(control)
    await switch({"persona": " Tutor ", "voice": "x"}, None)
    await forget({"scope": "EVERYTHING", "about": " my  card ", "why": 1}, None)
    await away({"minutes": "5", "reason": " door\nbell "}, None)
    assert control.calls == [("switch", "tutor"), ("forget", "everything", "my card"), ("away", "door bell", 5)]
    for tool, arguments in ((switch, {"persona": "assistant"}), (forget, {"scope": "all"}), (away, {"minutes": 0}), (switch, ["tutor"])):
        with pytest.raises(ToolError):
            await tool(arguments, None)
    assert len(control.calls) == 3
