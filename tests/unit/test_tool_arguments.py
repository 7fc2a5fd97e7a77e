"""Odd tool arguments get a clear ToolError; good ones come back clean."""

from __future__ import annotations

import math

import pytest
from livekit.agents.llm import ToolError

from tools import check_about, check_minutes, check_persona, check_reason, check_scope

PERSONAS = ["assistant", "pirate", "tutor"]


def test_persona_is_normalised() -> None:
    assert check_persona(" Pirate ", PERSONAS) == "pirate"


@pytest.mark.parametrize("value", ["wizard", "", None, 3, ["pirate"], "../pirate", "{{ 7*7 }}"])
def test_unknown_persona_lists_the_valid_ones(value: object) -> None:
    with pytest.raises(ToolError) as err:
        check_persona(value, PERSONAS)
    assert "assistant, pirate, tutor" in str(err.value)


def test_unknown_persona_name_is_cut_short() -> None:
    with pytest.raises(ToolError) as err:
        check_persona("x" * 5000, PERSONAS)
    assert len(str(err.value)) < 200


@pytest.mark.parametrize(("value", "expected"), [("last_turn", "last_turn"), ("EVERYTHING", "everything"), (None, "last_turn")])
def test_scope(value: object, expected: str) -> None:
    assert check_scope(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "all", 1, True, {"scope": "everything"}])
def test_bad_scope(value: object) -> None:
    with pytest.raises(ToolError, match="last_turn, everything"):
        check_scope(value)


@pytest.mark.parametrize(("value", "expected"), [(5, 5.0), ("10", 10.0), (0.5, 0.5), (None, None), ("", None)])
def test_minutes(value: object, expected: float | None) -> None:
    assert check_minutes(value) == expected


@pytest.mark.parametrize("value", [0, -5, 121, 1e9, math.nan, math.inf, True, "lots", [5], {"m": 1}])
def test_bad_minutes(value: object) -> None:
    with pytest.raises(ToolError, match="minutes"):
        check_minutes(value)


def test_reason_is_collapsed_and_capped() -> None:
    assert check_reason("  door \n bell ") == "door bell"
    assert len(check_reason("a" * 1000) or "") == 200
    assert check_reason(None) is None
    with pytest.raises(ToolError):
        check_reason(42)


@pytest.mark.parametrize(("value", "expected"), [("  my card\n number ", "my card number"), (None, None), ("", None), ("  ", None)])
def test_about(value: object, expected: str | None) -> None:
    assert check_about(value) == expected


@pytest.mark.parametrize("value", [42, True, ["my address"], {"about": "x"}, "x" * 101])
def test_bad_about_forgets_nothing(value: object) -> None:
    with pytest.raises(ToolError, match="Nothing was forgotten"):
        check_about(value)
