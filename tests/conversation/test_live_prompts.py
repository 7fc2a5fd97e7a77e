"""Prompt authors' edits reach a running session; a broken edit never takes it down."""

from __future__ import annotations

import shutil
from pathlib import Path

import prompts

SHIPPED = Path(prompts.__file__).parent


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SHIPPED, tmp_path / "prompts", ignore=shutil.ignore_patterns("*.py", "__pycache__")))


async def test_an_edited_persona_applies_at_the_next_switch(chat, tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    async with chat(library=prompts.PromptLibrary(folder)) as c:
        pirate = folder / "personas" / "pirate.md.j2"
        pirate.write_text(pirate.read_text().replace("{% block identity %}", "{% block identity %}Always mention the parrot Polly.\n", 1))
        await c.say("can I talk to the pirate?")
        assert "Always mention the parrot Polly." in c.session.current_agent.instructions


async def test_a_broken_edit_keeps_the_last_good_version(chat, tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    async with chat(library=prompts.PromptLibrary(folder)) as c:
        good = c.ctl.instructions("pirate")
        (folder / "personas" / "pirate.md.j2").write_text("---\nname: [unclosed\n---\n{% block identity %}{{ oops(}}")
        result = await c.say("can I talk to the pirate?")
        assert not result.expect.contains_function_call_output().event().item.is_error
        assert c.session.current_agent.instructions == good
