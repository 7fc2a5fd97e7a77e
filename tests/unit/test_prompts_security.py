"""Hostile templates fail inside the sandbox; hostile words stay words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prompts import PromptError, PromptLibrary

from .test_prompts import copy_prompts, variables

PAYLOADS = [
    "cycler.__init__.__globals__.os.popen('id').read()",
    "joiner.__init__.__globals__.os.popen('id').read()",
    "namespace.__init__.__globals__.os.popen('id').read()",
    "config.__class__.__init__.__globals__['os'].popen('id').read()",
    "''.__class__.__mro__[1].__subclasses__()",
    "().__class__.__base__.__subclasses__()",
    "self._TemplateReference__context",
    "self.__init__.__globals__",
    "request.application.__globals__.__builtins__.__import__('os').popen('id').read()",
    "lipsum.__globals__['os'].popen('id').read()",
    "range.__self__",
    "persona.__class__.__mro__",
    "now.__class__.__init__.__globals__",
    "user_name|attr('__class__')",
    "'{0.__class__.__mro__}'.format(persona)",
    "persona.update({'id': 'root'})",
    "personas.append(1)",
    "'a' * 10000000",
    "range(10**7)|list",
    "2 ** 100000000",
]


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[PromptLibrary, Path]:
    root = copy_prompts(tmp_path)
    for i, payload in enumerate(PAYLOADS):
        (root / "lines" / f"evil{i}.md.j2").write_text("Hello.\n{{ " + payload + " }}\n")
    return PromptLibrary(root), root


@pytest.mark.parametrize("index", range(len(PAYLOADS)), ids=PAYLOADS)
def test_a_payload_inside_a_template_fails_with_file_and_line(hostile, index: int) -> None:
    library, root = hostile
    with pytest.raises(PromptError) as e:
        library.render(f"lines/evil{index}", **variables(library, "assistant", user_name="Sam"))
    assert e.value.file == str(root / "lines" / f"evil{index}.md.j2") and e.value.line == 2
    assert any(word in e.value.reason for word in ("sandbox", "budget", "undefined", "no attribute", "Range too big"))


def test_jinja_helpers_that_reach_python_are_gone(hostile) -> None:
    library, _ = hostile
    assert set(library.env.globals) == {"range"}


@pytest.mark.parametrize("payload", ["{{ 7*7 }}", "{% raw %}", "{#", *("{{ " + p + " }}" for p in PAYLOADS)])
def test_a_payload_said_by_a_user_comes_back_literally(hostile, payload: str) -> None:
    library, root = hostile
    (root / "lines" / "echo.md.j2").write_text("You said: {{ user_name }}")
    assert library.render("lines/echo", **variables(library, "assistant", user_name=payload)) == f"You said: {payload}"
    switch = library.render("lines/switch", **variables(library, "pirate", user_name=payload))
    assert payload in switch and "49" not in switch
    system = library.render_persona("tutor", **variables(library, "tutor", user_name=payload))
    assert f"talking with {payload}." in system


def test_a_hard_link_is_refused_for_templates_personas_and_data(tmp_path: Path) -> None:
    """A hard link cannot be told from the original, which may be outside the folder."""
    root = copy_prompts(tmp_path)
    secret = tmp_path / "secret.md.j2"
    secret.write_text("---\nname: X\ndescription: x\ngreeting: x\n---\nTOP SECRET {% block offline_reply %}x{% endblock %}")
    os.link(secret, root / "lines" / "leak.md.j2")
    os.link(secret, root / "personas" / "leak.md.j2")
    (tmp_path / "secret.yaml").write_text("lead_ins: [secret]\n")
    os.link(tmp_path / "secret.yaml", root / "leak.yaml")
    library = PromptLibrary(root)
    v = variables(library, "assistant")
    for attempt in (lambda: library.render("lines/leak", **v), lambda: library.persona("leak"), lambda: library.load_yaml("leak")):
        with pytest.raises(PromptError, match="hard link"):
            attempt()
    assert "leak" not in library.personas()


def test_a_good_file_replaced_by_a_link_out_keeps_the_last_good(tmp_path: Path) -> None:
    root = copy_prompts(tmp_path)
    library = PromptLibrary(root)
    v = variables(library, "assistant")
    good = library.render("lines/forget", **v)
    (tmp_path / "outside.md.j2").write_text("TOP SECRET")
    (root / "lines" / "forget.md.j2").unlink()
    os.link(tmp_path / "outside.md.j2", root / "lines" / "forget.md.j2")
    assert library.render("lines/forget", **v) == good
    (root / "lines" / "forget.md.j2").unlink()
    (root / "lines" / "forget.md.j2").symlink_to(tmp_path / "outside.md.j2")
    assert library.render("lines/forget", **v) == good
