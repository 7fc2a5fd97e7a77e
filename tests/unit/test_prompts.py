"""The prompt library: shipped personas and lines, variables, names, hot reload."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

import prompts
from prompts import PromptError, PromptLibrary, sample_variables, standard_variables
from prompts.library import PACKAGE_DIR

LINES = ("lines/switch", "lines/forget", "lines/forget_incomplete", "lines/away_ack", "lines/away_checkin", "lines/away_goodbye")


def copy_prompts(tmp_path: Path) -> Path:
    """The shipped templates (not the Python) in a folder a test may change."""
    root = tmp_path / "prompts"
    shutil.copytree(PACKAGE_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


def eventually(condition: Callable[[], bool], within: float = 1.0) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().split("\n"), 1) if text in line)


@pytest.fixture
def library() -> PromptLibrary:
    return PromptLibrary(PACKAGE_DIR)


def variables(library: PromptLibrary, pid: str, **overrides):
    return sample_variables(library.persona(pid), library.personas(), **overrides)


# -- what ships ------------------------------------------------------------------------------


def test_three_personas_ship_with_assistant_as_default(library: PromptLibrary) -> None:
    assert list(library.personas()) == ["assistant", "pirate", "tutor"]
    assert prompts.DEFAULT_PERSONA == "assistant"
    pirate = library.persona("pirate")
    assert "captain" in pirate.aliases
    assert set(pirate.voices) == {"openai", "google", "ultravox", "aws", "tts", "offline"}
    assert pirate.greeting and pirate.description and "\n" not in pirate.description


@pytest.mark.parametrize("pid", ["assistant", "pirate", "tutor"])
@pytest.mark.parametrize("user_name", [None, "Sam"])
def test_every_persona_renders_its_prompt_offline_reply_and_lines(library: PromptLibrary, pid: str, user_name) -> None:
    v = variables(library, pid, user_name=user_name)
    system = library.render_persona(pid, **v)
    assert library.persona(pid).name in system
    assert all(tool in system for tool in ("switch_persona", "forget_conversation", "mark_user_away"))
    assert ("Sam" in system) == (user_name == "Sam")
    offline = library.render_block(pid, "offline_reply", **v)
    assert offline and "offline" in offline.lower() and "forget" in offline.lower()
    assert offline not in system  # the offline line is not part of the system prompt
    for name in LINES:
        line = library.render(name, **v)
        assert line and len(line) < 200 and "{" not in line


def test_lines_follow_their_variables(library: PromptLibrary) -> None:
    v = variables(library, "assistant", user_name="Sam")
    assert library.render("lines/forget", **v | {"scope": "last_turn"}) != library.render("lines/forget", **v | {"scope": "everything"})
    assert "5 minutes" in library.render("lines/away_ack", **v | {"minutes": 5})
    assert "minute" not in library.render("lines/away_ack", **v | {"minutes": None})
    checkin = {r: library.render("lines/away_checkin", **v | {"requested": r}) for r in (True, False)}
    assert checkin[True] != checkin[False]
    switch = library.render("lines/switch", **variables(library, "pirate", previous={"id": "tutor", "name": "Ada"}))
    assert "Ada" in switch and "Captain Reed" in switch


def test_the_system_prompt_follows_away_and_capabilities(library: PromptLibrary) -> None:
    base = library.render_persona("assistant", **variables(library, "assistant"))
    away = library.render_persona("assistant", **variables(library, "assistant", away=True))
    fixed = library.render_persona("assistant", **variables(library, "assistant", capabilities={"voice_can_change": False}))
    assert "stepped away" in away and "stepped away" not in base
    assert "voice stays the same" in fixed and "voice stays the same" not in base
    assert "pirate" in base and "- assistant" not in base  # lists whom it can hand over to, not itself


def test_standard_variables() -> None:
    library = PromptLibrary(PACKAGE_DIR)
    now = datetime(2025, 3, 4, 9, 30)
    v = standard_variables(library.persona("tutor"), user_name="Sam", capabilities={"voice_can_change": False}, now=now)
    assert v["persona"]["id"] == "tutor" and v["persona"]["name"] == "Ada"
    assert v["user_name"] == "Sam" and v["now"] is now and v["language"] == "en" and v["away"] is False
    # a partial capabilities mapping still defines every documented key
    assert v["capabilities"]["voice_can_change"] is False and v["capabilities"]["instructions_apply_live"] is True
    assert "Tuesday, 4 March 2025" in library.render_persona("tutor", **v)


def test_persona_defaults_sit_under_given_values(library: PromptLibrary) -> None:
    v = variables(library, "pirate")
    assert "the Salty Gull" in library.render_persona("pirate", **v)
    assert "the Black Pearl" in library.render_persona("pirate", **v, ship="the Black Pearl")


def test_a_missing_variable_is_an_error_naming_it(library: PromptLibrary) -> None:
    v = standard_variables(library.persona("assistant"))
    with pytest.raises(PromptError, match="undefined variable 'scope'") as e:
        library.render("lines/forget", **v)
    assert e.value.file.endswith("lines/forget.md.j2") and e.value.line
    del v["user_name"]
    with pytest.raises(PromptError, match="undefined variable 'user_name'"):
        library.render_persona("assistant", **v)


def test_unknown_persona_template_and_block_are_clear_errors(library: PromptLibrary) -> None:
    v = variables(library, "assistant")
    with pytest.raises(PromptError, match="unknown persona 'wizard'; available: assistant, pirate, tutor"):
        library.persona("wizard")
    with pytest.raises(PromptError, match="no template 'lines/nope.md.j2'"):
        library.render("lines/nope", **v)
    with pytest.raises(PromptError, match="no block 'sing'"):
        library.render_block("pirate", "sing", **v)


def test_module_functions_use_the_default_folder() -> None:
    lib = prompts.default_library()
    assert lib is prompts.default_library()
    v = variables(lib, "tutor")
    assert prompts.render_persona("tutor", **v) == lib.render_persona("tutor", **v)
    assert prompts.render("lines/forget", **v) == lib.render("lines/forget", **v)
    assert prompts.render_block("tutor", "offline_reply", **v) == lib.render_block("tutor", "offline_reply", **v)
    assert prompts.triggers() is lib.triggers() and "mark_user_away" in prompts.triggers()


# -- names stay inside the folder ---------------------------------------------------------------

BAD_NAMES = [
    "../pyproject", "../../etc/passwd", "/etc/passwd", "lines/../base", "lines\\forget", "lines/forget\x00",
    "lines/for get", "lines//forget", "", ".", "~/secret", "lines/forget.txt", "lines/forget.md.j2.bak", "C:/x",
]  # fmt: skip


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_outside_the_allowed_form_are_refused(library: PromptLibrary, name: str) -> None:
    with pytest.raises(PromptError, match="not allowed"):
        library.render(name, **variables(library, "assistant"))


def test_a_template_cannot_include_or_extend_outside_the_folder(tmp_path: Path) -> None:
    root = copy_prompts(tmp_path)
    (tmp_path / "secret.md.j2").write_text("TOP SECRET")
    (root / "lines" / "inc.md.j2").write_text('{% include "../secret.md.j2" %}')
    (root / "lines" / "ext.md.j2").write_text('{% extends "/etc/passwd" %}')
    library = PromptLibrary(root)
    for name in ("lines/inc", "lines/ext"):
        with pytest.raises(PromptError, match="not allowed"):
            library.render(name, **variables(library, "assistant"))


def test_a_symlink_leading_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    root = copy_prompts(tmp_path)
    (tmp_path / "outside.md.j2").write_text("---\nname: X\ndescription: x\ngreeting: x\n---\nTOP SECRET")
    (root / "lines" / "leak.md.j2").symlink_to(tmp_path / "outside.md.j2")
    (root / "personas" / "leak.md.j2").symlink_to(tmp_path / "outside.md.j2")
    (root / "lines" / "ok.md.j2").symlink_to(root / "lines" / "forget.md.j2")  # inside: fine
    library = PromptLibrary(root)
    v = variables(library, "assistant")
    with pytest.raises(PromptError, match="outside the prompts folder"):
        library.render("lines/leak", **v)
    with pytest.raises(PromptError, match="outside the prompts folder"):
        library.persona("leak")
    assert "leak" not in library.personas()
    assert library.render("lines/ok", **v) == library.render("lines/forget", **v)


def test_prompts_dir_points_the_library_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_prompts(tmp_path)
    (root / "personas" / "tutor.md.j2").unlink()
    monkeypatch.setenv("PROMPTS_DIR", str(root))
    assert PromptLibrary().root == root.resolve()
    assert list(PromptLibrary().personas()) == ["assistant", "pirate"]
    with pytest.raises(PromptError, match="does not exist"):
        PromptLibrary(tmp_path / "missing")


# -- hot reload -----------------------------------------------------------------------------------


def test_an_edit_is_served_at_once_and_a_broken_edit_keeps_the_last_good(tmp_path: Path, caplog) -> None:
    root = copy_prompts(tmp_path)
    library = PromptLibrary(root)
    v = variables(library, "pirate")
    path = root / "personas" / "pirate.md.j2"
    original = path.read_text()
    assert "weathered" in library.render_persona("pirate", **v)

    path.write_text(original.replace("weathered but good-hearted", "brand-new"))
    assert eventually(lambda: "brand-new" in library.render_persona("pirate", **v))

    # a stray tag right after {% extends %}: the edit does not compile
    broken = path.read_text().replace('{% extends "base.md.j2" %}\n', '{% extends "base.md.j2" %}\n{% endfor %}\n')
    path.write_text(broken)
    bad_line = line_of(path, "{% endfor %}")
    caplog.set_level(logging.WARNING, logger="prompts")
    assert eventually(lambda: "brand-new" in library.render_persona("pirate", **v) and caplog.records)
    assert f"{path}:{bad_line}:" in caplog.text and "last good" in caplog.text
    caplog.clear()
    library.render_persona("pirate", **v)
    assert not caplog.records  # logged once per edit, not per render

    path.write_text(original.replace("weathered but good-hearted", "freshly fixed"))
    assert eventually(lambda: "freshly fixed" in library.render_persona("pirate", **v))


def test_a_broken_base_or_line_keeps_serving_the_last_good(tmp_path: Path, caplog) -> None:
    root = copy_prompts(tmp_path)
    library = PromptLibrary(root)
    v = variables(library, "tutor")
    before = (library.render_persona("tutor", **v), library.render("lines/forget", **v))
    caplog.set_level(logging.WARNING, logger="prompts")
    (root / "base.md.j2").write_text("{% block identity %}{{ oops(")
    (root / "lines" / "forget.md.j2").write_text("{% if %}")
    time.sleep(0.01)
    assert (library.render_persona("tutor", **v), library.render("lines/forget", **v)) == before
    assert "base.md.j2:1:" in caplog.text and "forget.md.j2:1:" in caplog.text


def test_front_matter_edits_reload_and_a_broken_one_keeps_the_last_good(tmp_path: Path, caplog) -> None:
    root = copy_prompts(tmp_path)
    library = PromptLibrary(root)
    path = root / "personas" / "pirate.md.j2"
    original = path.read_text()
    path.write_text(original.replace("name: Captain Reed", "name: Captain Hook"))
    assert eventually(lambda: library.persona("pirate").name == "Captain Hook")
    caplog.set_level(logging.WARNING, logger="prompts")
    path.write_text(original.replace("name: Captain Reed", "name: [Captain, Hook]"))
    assert eventually(lambda: library.persona("pirate") and "pirate.md.j2:2:" in caplog.text)
    assert library.persona("pirate").name == "Captain Hook"


def test_added_and_removed_personas_show_within_a_second(tmp_path: Path) -> None:
    root = copy_prompts(tmp_path)
    library = PromptLibrary(root)
    assert "chef" not in library.personas()
    chef = (root / "personas" / "tutor.md.j2").read_text().replace("name: Ada", "name: Rosa").replace("aliases: [tutor,", "aliases: [chef,")
    (root / "personas" / "chef.md.j2").write_text(chef.replace(", teacher, professor, coach, instructor", ""))
    assert eventually(lambda: "chef" in library.personas())
    assert "Rosa" in library.render_persona("chef", **variables(library, "chef"))
    (root / "personas" / "chef.md.j2").unlink()
    assert eventually(lambda: "chef" not in library.personas())


def test_triggers_load_safely_and_reload(tmp_path: Path, caplog) -> None:
    root = copy_prompts(tmp_path)
    library = PromptLibrary(root)
    first = library.triggers()
    assert "forget_conversation" in first and library.triggers() is first  # same object until the file changes
    path = root / "triggers.yaml"
    path.write_text("lead_ins: [well]\n")
    assert eventually(lambda: library.triggers() == {"lead_ins": ["well"]})
    caplog.set_level(logging.WARNING, logger="prompts")
    path.write_text("lead_ins: [well\n  oops: {\n")
    assert eventually(lambda: library.triggers() and "triggers.yaml:2:" in caplog.text)
    assert library.triggers() == {"lead_ins": ["well"]}
    path.write_text("!!python/object/apply:os.system ['echo hacked']\n")  # safe_load refuses tags
    assert eventually(lambda: library.triggers() and "could not determine a constructor" in caplog.text)
    path.unlink()
    assert eventually(lambda: library.triggers() == {})
    with pytest.raises(PromptError, match="not allowed"):
        library.load_yaml("../pyproject")
