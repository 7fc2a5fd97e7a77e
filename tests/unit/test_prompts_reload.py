"""A new version of a template serves only once it compiles and renders with every
persona's sample values; otherwise the last good version keeps serving, and the
problem is logged once with its file and line."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from prompts import PromptError, PromptLibrary

from .test_prompts import copy_prompts, eventually, line_of, variables


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return copy_prompts(tmp_path)


def _warnings(caplog, path: Path) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "prompts" and str(path) in r.getMessage()]


def _rename_save(path: Path, text: str) -> None:
    """How many editors save: write a temporary file beside it, then rename it over."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


BROKEN_LINES = {
    "misspelled variable": lambda text: text.replace("{% if user_name %}", "{% if usr_name %}", 1),
    "misspelled variable in a branch the first persona reaches": lambda text: text.replace("{{ persona.greeting }}", "{{ persona.greting }}"),
    "empty file": lambda text: "",
    "only a comment": lambda text: "{# to do #}\n",
    "half-written file": lambda text: text[: text.index("{% elif")],
    "a default only one persona has": lambda text: "{{ ship }} " + text,
}


@pytest.mark.parametrize("edit", BROKEN_LINES.values(), ids=list(BROKEN_LINES))
def test_a_broken_line_keeps_the_last_good_version_and_is_logged_once(folder: Path, caplog, edit) -> None:
    library = PromptLibrary(folder)
    path = folder / "lines" / "switch.md.j2"
    values = {pid: variables(library, pid, previous={"id": "tutor", "name": "Ada"}) for pid in library.personas()}
    good = {pid: library.render("lines/switch", **v) for pid, v in values.items()}
    caplog.set_level(logging.WARNING, logger="prompts")
    path.write_text(edit(path.read_text()))
    for _ in range(3):
        assert {pid: library.render("lines/switch", **v) for pid, v in values.items()} == good
    logged = _warnings(caplog, path)
    assert len(logged) == 1 and "serving the last good version" in logged[0]
    assert f"{path}:" in logged[0]


def test_the_log_names_the_line_of_a_misspelled_variable(folder: Path, caplog) -> None:
    library = PromptLibrary(folder)
    path = folder / "lines" / "forget.md.j2"
    v = variables(library, "assistant")
    good = library.render("lines/forget", **v)
    caplog.set_level(logging.WARNING, logger="prompts")
    path.write_text(path.read_text().replace("Done, I've forgotten what you just said.", "{{ scpoe }}"))
    assert library.render("lines/forget", **v) == good
    last = max(i for i, text in enumerate(path.read_text().split("\n"), 1) if "scpoe" in text)  # the assistant's branch
    assert f"{path}:{last}: undefined variable 'scpoe'" in caplog.text


def test_a_persona_edit_is_tried_with_every_block(folder: Path, caplog) -> None:
    library = PromptLibrary(folder)
    path = folder / "personas" / "pirate.md.j2"
    v = variables(library, "pirate")
    prompt, offline = library.render_persona("pirate", **v), library.render_block("pirate", "offline_reply", **v)
    original = path.read_text()
    caplog.set_level(logging.WARNING, logger="prompts")
    # offline_reply is not part of the system prompt: rendering the prompt alone would miss this
    path.write_text(original.replace("Arr, me sails", "{{ sails }} Arr, me sails"))
    assert (library.render_persona("pirate", **v), library.render_block("pirate", "offline_reply", **v)) == (prompt, offline)
    assert f"{path}:{line_of(path, '{{ sails }}')}: undefined variable 'sails'" in caplog.text
    _rename_save(path, original.replace("Arr, me sails be becalmed: ", ""))  # an empty-looking but fine edit
    assert eventually(lambda: library.render_block("pirate", "offline_reply", **v).startswith("I'm runnin' offline"))
    path.write_text(original.replace(offline.split("\n")[0], ""))  # the block left empty
    assert library.render_block("pirate", "offline_reply", **v).startswith("I'm runnin' offline")
    assert "block 'offline_reply' renders no text" in caplog.text


def test_an_empty_or_half_written_persona_keeps_the_last_good(folder: Path) -> None:
    library = PromptLibrary(folder)
    path = folder / "personas" / "tutor.md.j2"
    v = variables(library, "tutor")
    good = (library.persona("tutor"), library.render_persona("tutor", **v))
    original = path.read_text()
    for partial in ("", original[:40], original[: original.index("{% block speaking_style %}")] + "{% block speaking"):
        path.write_text(partial)
        assert (library.persona("tutor"), library.render_persona("tutor", **v)) == good


def test_a_deleted_file_keeps_serving_until_it_comes_back(folder: Path, caplog) -> None:
    library = PromptLibrary(folder)
    line, persona = folder / "lines" / "forget.md.j2", folder / "personas" / "pirate.md.j2"
    v = variables(library, "pirate")
    good = (library.render("lines/forget", **v), library.render_persona("pirate", **v), library.persona("pirate"))
    offline = library.render_block("pirate", "offline_reply", **v)
    texts = line.read_text(), persona.read_text()
    caplog.set_level(logging.WARNING, logger="prompts")
    line.unlink()
    persona.unlink()
    for _ in range(2):
        assert (library.render("lines/forget", **v), library.render_persona("pirate", **v), library.persona("pirate")) == good
    assert len(_warnings(caplog, line)) == 1 and "deleted" in _warnings(caplog, line)[0]
    assert eventually(lambda: "pirate" not in library.personas())  # no longer offered to switch to
    assert (library.render_persona("pirate", **v), library.render_block("pirate", "offline_reply", **v)) == (good[1], offline)
    line.write_text(texts[0].replace("Aye, that's gone overboard.", "Aye, struck from the log."))
    persona.write_text(texts[1])
    assert "struck from the log" in library.render("lines/forget", **v)


def test_a_rename_style_save_serves_the_new_version_or_keeps_the_last_good(folder: Path) -> None:
    library = PromptLibrary(folder)
    path = folder / "lines" / "away_goodbye.md.j2"
    v = variables(library, "tutor")
    original = path.read_text()
    _rename_save(path, original.replace("Let's pick this up another time", "Until next time"))
    assert eventually(lambda: library.render("lines/away_goodbye", **v).startswith("Until next time"))
    _rename_save(path, original.replace("{% if user_name %}", "{% if user_nme %}"))
    assert library.render("lines/away_goodbye", **v).startswith("Until next time")
    assert not list(path.parent.glob(".*.tmp"))


def test_a_template_that_never_rendered_is_an_error_naming_it(folder: Path) -> None:
    (folder / "lines" / "new.md.j2").write_text("Hello {{ nme }}")
    library = PromptLibrary(folder)
    with pytest.raises(PromptError, match="undefined variable 'nme'") as e:
        library.render("lines/new", **variables(library, "assistant"))
    assert e.value.file == str(folder / "lines" / "new.md.j2") and e.value.line == 1
    with pytest.raises(PromptError, match="no template 'lines/missing.md.j2'"):
        library.render("lines/missing", **variables(library, "assistant"))
