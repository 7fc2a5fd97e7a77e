"""The model-facing schemas: fixed names, persona enum and descriptions from the persona files."""

from __future__ import annotations

import prompts
from agent.session.control import SessionController
from agent.providers import Provider
from tools import PersonaChoice, build_session_tools


class _Control:
    def persona_choices(self) -> list[PersonaChoice]:
        return [PersonaChoice("pirate", "Captain", "A salty sea dog."), PersonaChoice("tutor", "Ada", "A patient teacher.")]


def _schemas(tools) -> dict[str, dict]:
    return {t.info.name: t.info.raw_schema for t in tools}


def test_names_and_arguments_are_the_public_interface() -> None:
    schemas = _schemas(build_session_tools(_Control()))
    assert set(schemas) == {"switch_persona", "forget_conversation", "mark_user_away"}
    assert list(schemas["switch_persona"]["parameters"]["properties"]) == ["persona"]
    forget = schemas["forget_conversation"]["parameters"]
    assert forget["properties"]["scope"]["enum"] == ["last_turn", "everything"]
    # `about` is new and optional: a call with only `scope` (or nothing) stays valid
    assert forget["properties"]["about"]["type"] == "string" and forget["required"] == []
    assert "about" in schemas["forget_conversation"]["description"] and "my card number" in forget["properties"]["about"]["description"]
    assert set(schemas["mark_user_away"]["parameters"]["properties"]) == {"reason", "minutes"}
    assert schemas["mark_user_away"]["parameters"]["required"] == []


def test_persona_enum_and_descriptions_come_from_the_personas() -> None:
    persona = _schemas(build_session_tools(_Control()))["switch_persona"]["parameters"]["properties"]["persona"]
    assert persona["enum"] == ["pirate", "tutor"]
    assert "A salty sea dog." in persona["description"] and "A patient teacher." in persona["description"]


def test_shipped_personas_reach_the_schema() -> None:
    ctl = SessionController(prompts.PromptLibrary(), Provider("offline", {}))
    enum = _schemas(build_session_tools(ctl))["switch_persona"]["parameters"]["properties"]["persona"]["enum"]
    assert {"assistant", "pirate", "tutor"} <= set(enum)
