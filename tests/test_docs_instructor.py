"""Every command docs/instructor.md gives is a real one: a make target that exists with those
variables, a sub-command and options `python -m autograder` accepts, an nbgrader sub-command.
(What the commands do is tested elsewhere: tests/test_instructor_loop.py runs export,
feedback, report and regrade; the grading tests run grade.)"""

import re
import shlex
import subprocess

import pytest

from autograder.cli import build_parser
from autograder.paths import REPO_ROOT

DOC = REPO_ROOT / "docs" / "instructor.md"
PROGRAMS = ("make", "nbgrader", "python -m autograder", "jupyter")


def commands(text: str) -> list[str]:
    """Commands in `code spans` and indented blocks that start with a known program."""
    found = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", text)]
    found += [line.strip() for line in text.splitlines() if line.startswith("    ")]
    out = []
    for command in found:
        command = command.split("#")[0].strip()
        if command.startswith(PROGRAMS) and " " in command and not command.endswith("…"):
            out.append(command)
    return list(dict.fromkeys(out))


DOC_COMMANDS = commands(DOC.read_text(encoding="utf-8"))


def test_the_doc_gives_commands_of_every_kind():
    assert {c.split()[0] for c in DOC_COMMANDS} == {"make", "nbgrader", "python", "jupyter"}
    assert "nbgrader formgrade" in DOC_COMMANDS


@pytest.mark.parametrize("command", DOC_COMMANDS)
def test_command_exists(command):
    words = shlex.split(command.replace("<", "").replace(">", "").replace("…", ""))
    if words[0] == "make":
        run = subprocess.run(["make", "-n", *words[1:]], cwd=REPO_ROOT, capture_output=True,
                             text=True)
        assert run.returncode == 0, run.stderr
    elif words[0] == "nbgrader":
        from nbgrader.apps.nbgraderapp import NbGraderApp

        assert words[1] in NbGraderApp.subcommands, f"nbgrader has no sub-command {words[1]}"
    elif words[0] == "jupyter":
        import jupyterlab  # noqa: F401  (jupyter lab is installed)

        assert words[1:] == ["lab"]
    else:
        assert words[:3] == ["python", "-m", "autograder"]
        build_parser().parse_args(words[3:])  # exits (fails) on a wrong sub-command or option


def test_a_wrong_command_is_caught():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["formgrader"])
    assert subprocess.run(["make", "-n", "formgrader"], cwd=REPO_ROOT,
                          capture_output=True).returncode != 0
