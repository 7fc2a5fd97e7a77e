"""`prompts check` and the authors' command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.prompts_cli import main
from prompts import Problem, check

from .test_prompts import copy_prompts, line_of


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_shipped_prompts_have_no_problems(capsys) -> None:
    assert check() == []
    code, out, _ = run(capsys, "check")
    assert code == 0 and "no problems" in out


# each case: a change to a copy of the shipped prompts, the file, a text on the bad line, a word of the reason
CASES = {
    "syntax error": ("lines/forget.md.j2", "{% else %}", "{% elsif %}", "{% elsif %}", "syntax error"),
    "undefined variable in a rare branch": (
        "lines/away_goodbye.md.j2", "{% else %}\n", '{% elif language == "xx" %}\n{{ gretting }}\n{% else %}\n', "gretting", "gretting",
    ),
    "undefined variable in a block": ("personas/tutor.md.j2", "{{ level }}", "{{ levle }}", "levle", "levle"),
    "sandbox violation": ("lines/switch.md.j2", "{{ persona.greeting }}", "{{ persona.__class__.__mro__ }}", "__mro__", "sandbox"),
    "sandbox violation in offline_reply": ("personas/pirate.md.j2", "Arr, me sails", "{{ ''.__class__ }}", "__class__", "sandbox"),
    "missing field": ("personas/pirate.md.j2", "name: Captain Reed\n", "", None, "'name' is required"),
    "extra field": ("personas/pirate.md.j2", "name: Captain Reed\n", "name: Captain Reed\ncolour: red\n", "colour:", "unknown field 'colour'"),
    "wrong type": ("personas/tutor.md.j2", "aliases: [tutor, teacher, professor, coach, instructor]", "aliases: teacher", "aliases:", "must be a list"),
    "bad voice key": ("personas/tutor.md.j2", "  tts: nova", "  azure: nova", "voices:", "voices"),
    "invalid yaml": ("personas/tutor.md.j2", "name: Ada", "name: [Ada", "description:", "not valid YAML"),
    "two-line description": ("personas/tutor.md.j2", "description: A patient", "description: |\n  A\n  patient", "description:", "one line"),
    "unclosed front matter": ("personas/tutor.md.j2", "---\n{% extends", "{% extends", None, "no closing"),
    "duplicate alias": ("personas/tutor.md.j2", "aliases: [tutor,", "aliases: [captain, tutor,", "captain", "'captain' already leads to persona 'pirate'"),
    "alias is another persona's id": ("personas/assistant.md.j2", "aliases: [helper,", "aliases: [tutor, helper,", "aliases:", "'tutor' already leads to persona"),
    "default missing": ("personas/pirate.md.j2", "  ship: the Salty Gull\n", "", "{{ ship }}", "'ship'"),
    "no offline_reply": ("personas/tutor.md.j2", "{% block offline_reply %}", "{% block offline %}", None, "no block 'offline_reply'"),
    "broken triggers": ("triggers.yaml", "lead_ins:\n", "lead_ins: [\n", None, "not valid YAML"),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_check_reports_each_kind_of_fault_with_file_and_line(tmp_path: Path, capsys, case: str) -> None:
    relative, old, new, on_line, reason = CASES[case]
    root = copy_prompts(tmp_path)
    path = root / relative
    edit(path, old, new)
    problems = check(root)
    assert problems, case
    first = problems[0]
    assert first.file == str(path) and reason in first.reason, problems
    line = line_of(path, on_line) if on_line else first.line
    if on_line:
        assert first.line == line, problems
    assert len(problems) == len(set(problems))  # each fault once

    code, out, _ = run(capsys, "check", "--dir", str(root))
    assert code == 1
    assert f"{path}:{line}: " in out if line else f"{path}: " in out


def test_check_reports_a_missing_default_persona_and_odd_names(tmp_path: Path) -> None:
    root = copy_prompts(tmp_path)
    (root / "personas" / "assistant.md.j2").unlink()
    (root / "lines" / "bad name.md.j2").write_text("hi")
    (tmp_path / "outside.md.j2").write_text("secret")
    (root / "lines" / "leak.md.j2").symlink_to(tmp_path / "outside.md.j2")
    problems = check(root)
    assert Problem(str(root / "personas"), None, "the default persona 'assistant' is missing") in problems
    assert any(p.file.endswith("bad name.md.j2") and "not allowed" in p.reason for p in problems)
    assert any(p.file.endswith("leak.md.j2") and "outside" in p.reason for p in problems)


def test_check_of_a_missing_folder(tmp_path: Path) -> None:
    [problem] = check(tmp_path / "nowhere")
    assert "does not exist" in problem.reason


def test_check_follows_prompts_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    root = copy_prompts(tmp_path)
    edit(root / "lines" / "forget.md.j2", "{% else %}", "{% elsif %}")
    monkeypatch.setenv("PROMPTS_DIR", str(root))
    assert run(capsys, "check")[0] == 1


def test_check_reports_each_fault_once_even_when_it_breaks_other_files(tmp_path: Path) -> None:
    root = copy_prompts(tmp_path)
    edit(root / "personas" / "tutor.md.j2", "{{ level }}", "{{ levle }}")
    (root / "lines" / "greet.md.j2").write_text("Hello {{ gretting }}")
    edit(root / "base.md.j2", "{% block identity %}", "{% block identity %}{{ oops }}")  # every persona renders it
    problems = check(root)
    assert sorted((Path(p.file).name, p.reason) for p in problems) == [
        ("base.md.j2", "undefined variable 'oops'"),
        ("greet.md.j2", "undefined variable 'gretting'"),
        ("tutor.md.j2", "undefined variable 'levle'"),
    ]


def test_check_refuses_a_folder_with_no_personas(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "draft.md.j2").write_text("{{ oops }}")
    assert [p.reason for p in check(tmp_path)] == ["not a prompts folder: it has no personas/ folder"]
    code, out, _ = run(capsys, "check", "--dir", str(tmp_path))
    assert code == 1 and out.strip() == f"{tmp_path.resolve()}: not a prompts folder: it has no personas/ folder"


def test_the_commands_read_prompts_dir_from_env_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    root = copy_prompts(tmp_path)
    edit(root / "lines" / "forget.md.j2", "{% else %}", "{% elsif %}")
    (root / "personas" / "tutor.md.j2").unlink()
    monkeypatch.delenv("PROMPTS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env.local").write_text(f"# the chat reads this too\nPROMPTS_DIR={root}\n")
    code, out, _ = run(capsys, "check")
    assert code == 1 and f"{root / 'lines' / 'forget.md.j2'}:" in out
    code, out, _ = run(capsys, "list")
    assert code == 0 and "tutor" not in out and "pirate" in out
    (tmp_path / ".env.local").write_text("PROMPTS_DIR\n")
    code, _, err = run(capsys, "list")
    assert code == 1 and ".env.local:1: expected KEY=VALUE" in err


# -- list and render ----------------------------------------------------------------------------


def test_list_shows_personas_and_templates(capsys) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert "assistant" in out and "Captain Reed" in out and "captain" in out and "lines/away_checkin" in out


def test_render_a_persona_a_block_and_a_line(capsys) -> None:
    code, out, _ = run(capsys, "render", "pirate", "--var", "user_name=Sam", "--var", "ship=the Black Pearl")
    assert code == 0 and "Captain Reed" in out and "Black Pearl" in out and "talking with Sam" in out
    code, out, _ = run(capsys, "render", "personas/pirate", "--var", "capabilities.voice_can_change=false")
    assert code == 0 and "voice stays the same" in out
    code, out, _ = run(capsys, "render", "tutor", "--block", "offline_reply")
    assert code == 0 and "offline" in out
    code, out, _ = run(capsys, "render", "lines/forget", "--persona", "pirate", "--var", "scope=everything")
    assert code == 0 and out.strip() == "Aye, it's all gone overboard. A fresh start, me hearty!"
    code, out, _ = run(capsys, "render", "lines/away_ack", "--var", "minutes=5", "--var", "user_name=null")
    assert code == 0 and "5 minutes" in out and "None" not in out
    code, out, _ = run(capsys, "render", "lines/switch", "--persona", "pirate", "--var", 'previous={"id": "tutor", "name": "Ada"}')
    assert code == 0 and "from Ada" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["render", "../pyproject"], "not allowed"),
        (["render", "lines/nope"], "no template"),
        (["render", "personas/wizard"], "unknown persona 'wizard'"),
        (["render", "pirate", "--block", "sing"], "no block 'sing'"),
        (["render", "lines/forget", "--var", "scope"], "KEY=VALUE"),
        (["render", "lines/forget", "--var", "scope=sideways", "--var", "minutes={{7*7}}"], ""),
        (["render", "lines/away_ack", "--var", "minutes=abc"], "away_ack.md.j2:"),
        (["list", "--dir", "/nonexistent/prompts"], "does not exist"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_render_errors_go_to_stderr_with_a_nonzero_exit(capsys, argv: list[str], message: str) -> None:
    code, out, err = run(capsys, *argv)
    if not message:  # an odd value is still just a value
        assert code == 0 and "{{7*7}}" not in out
        return
    assert code != 0 and message in err and not out


def test_prompts_and_its_command_line_import_no_livekit() -> None:
    import subprocess
    import sys

    code = "import sys, prompts, agent.prompts_cli; print(sorted(m for m in sys.modules if m.startswith('livekit')))"
    root = Path(__file__).parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_check_reports_trigger_phrases_that_are_not_lists(tmp_path: Path) -> None:
    root = copy_prompts(tmp_path)
    edit(root / "triggers.yaml", "lead_ins:\n  - please", "lead_ins: please\nunused:\n  - please")
    problems = check(root)
    assert [(Path(p.file).name, p.line, p.reason) for p in problems] == [
        ("triggers.yaml", 1 + (root / "triggers.yaml").read_text().splitlines().index("lead_ins: please"), "lead_ins: expected a list of phrases (texts)")
    ]


def test_check_reports_faulty_intent_examples_with_their_line(tmp_path: Path) -> None:
    root = copy_prompts(tmp_path)
    path = root / "intents" / "examples.yaml"
    edit(path, "switch_persona:\n  pirate:", "switch_persona:\n  wizard:\n    - be a wizard\n  pirate:")
    edit(path, '  "120":', '  "500":')
    edit(path, '  - "yes"', "  - yes")
    lines = path.read_text().splitlines()
    problems = {(p.line, p.reason) for p in check(root) if Path(p.file).name == "examples.yaml"}
    assert problems == {
        (lines.index("  wizard:") + 1, "switch_persona.wizard: unknown persona 'wizard' (known: assistant, pirate, tutor)"),
        (lines.index('  "500":') + 1, "mark_user_away.500: minutes must be more than 0 and at most 120 (the tool's limit)"),
        (lines.index("chat:") + 1, "chat: expected a list of lines (texts) (True is not text: put quotes around yes, no, on, off and numbers)"),
    }
