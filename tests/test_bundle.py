"""The student bundle holds what students need, nothing secret, and runs on its own."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from autograder.bundle import BUNDLE_NAME, build_bundle
from autograder.examples import solution_notebook
from autograder.paths import REPO_ROOT, session_ids, source_notebook
from autograder.release import leaks, secret_lines

EXPECTED = {"notebooks", "deepcourse", "data", "environment.yml", "requirements.txt",
            "pyproject.toml", "README.md"}
# Helpers that share lines with one session's answers, each allowed with that session only:
# deepcourse/makemore.py gives session 3 session 2's vocabulary, dataset and split (by design,
# see its docstring); deepcourse/graphs.py orders a micrograd graph as backward() must.
SHARED_ANSWERS = {"deepcourse/makemore.py": "02_makemore"}  # session 3 reuses them
NETWORK_ERRORS = ("NewConnectionError", "Failed to establish", "Temporary failure in name",
                  "Network is unreachable", "Max retries exceeded", "timed out")


@pytest.fixture(scope="module")
def bundle():
    # inside the repository, so that the leak check names files relative to it
    out = REPO_ROOT / "build" / "test-student-bundle"
    folder, archive = build_bundle(out)
    yield folder, archive
    shutil.rmtree(out, ignore_errors=True)


def test_bundle_holds_what_students_get_and_nothing_else(bundle):
    folder, archive = bundle
    assert {p.name for p in folder.iterdir()} == EXPECTED
    files = [p.relative_to(folder) for p in folder.rglob("*") if p.is_file()]
    for forbidden in ("autograder", "solutions", "tests", "checks", "__pycache__"):
        assert not [f for f in files if forbidden in f.parts], forbidden
    assert not [f for f in files if f.suffix == ".py" and f.parts[0] not in ("deepcourse", "data")]
    for sid in session_ids():
        assert (folder / "notebooks" / sid / source_notebook(sid).name).is_file(), sid
    with zipfile.ZipFile(archive) as zf:
        zipped = {name for name in zf.namelist() if not name.endswith("/")}
    assert zipped == {f"{BUNDLE_NAME}/{f.as_posix()}" for f in files}


def test_bundle_leaks_no_solution_hidden_test_or_check(bundle):
    folder, _ = bundle
    secrets = {}
    for sid in session_ids():
        source = source_notebook(sid)
        released = folder / "notebooks" / sid / source.name
        assert leaks(source, released) == [], sid
        secrets[sid] = secret_lines(source)
    checks = {path.stem: {line.strip() for line in path.read_text().splitlines()
                          if len(line.strip()) > 40}
              for path in (REPO_ROOT / "autograder" / "checks").glob("*.py")}
    for path in folder.rglob("*"):
        if not path.is_file() or path.suffix not in (".py", ".ipynb", ".md", ".txt", ".yml",
                                                     ".toml"):
            continue
        text = path.read_text(encoding="utf-8")
        lines = {line.strip() for line in text.splitlines()}
        if path.suffix == ".ipynb":  # its own session's secrets: leaks() above
            lines = {line.strip() for cell in json.loads(text)["cells"]
                     for line in "".join(cell["source"]).splitlines()}
        else:
            allowed = SHARED_ANSWERS.get(path.relative_to(folder).as_posix())
            for sid, lines_of_sid in secrets.items():
                if sid != allowed:
                    assert not lines & lines_of_sid, (path, sid, sorted(lines & lines_of_sid)[:3])
            for module, lines_of_module in checks.items():
                if not (allowed or "").endswith(f"_{module}"):
                    assert not lines & lines_of_module, (path, module,
                                                         sorted(lines & lines_of_module)[:3])
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, path


def test_bundle_requirements_resolve(bundle):
    folder, _ = bundle
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
         "--quiet", "--disable-pip-version-check", "-r", "requirements.txt"],
        cwd=folder, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    if result.returncode != 0 and any(err in output for err in NETWORK_ERRORS):
        pytest.skip(f"no package index reachable to resolve requirements.txt: {output[-300:]}")
    assert result.returncode == 0, output[-2000:]


FIRST_CELLS = """
import os, sys
import nbformat
sys.path.insert(0, {root!r})
nb = nbformat.read({notebook!r}, as_version=4)
ns = {{"__name__": "__main__"}}
for cell in nb.cells[:{stop}]:
    if cell.cell_type == "code":
        exec(compile(cell.source, "<cell>", "exec"), ns)
import deepcourse
here = os.path.realpath({root!r})
assert os.path.realpath(deepcourse.__file__).startswith(here), deepcourse.__file__
venv = os.path.realpath(sys.prefix) + os.sep
files = {{name: os.path.realpath(getattr(mod, "__file__", None) or "/")
         for name, mod in list(sys.modules.items())}}
outside = sorted(name for name, path in files.items()
                 if path.startswith({repo!r}) and not path.startswith(venv))
assert not outside, outside
print("ran", {stop}, "cells; words:", len(ns["words"]))
"""


def test_first_cells_run_from_the_bundle_alone(bundle, tmp_path):
    """The set-up cell, the data and the first exercise with its visible test, run with only
    the bundle (copied away from the repository) on the path."""
    sid = "02_makemore"
    copy = tmp_path / BUNDLE_NAME
    shutil.copytree(bundle[0], copy)
    notebook = copy / "notebooks" / sid / source_notebook(sid).name
    nb = nbformat.read(notebook, as_version=4)
    solved = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution_notebook(sid).cells
              if c.metadata.get("nbgrader", {}).get("solution")}
    first = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    nb.cells[first].source = solved[nb.cells[first].metadata["nbgrader"]["grade_id"]]
    stop = next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("__visible")) + 1
    nbformat.write(nb, notebook)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JPY_SESSION_NAME")}
    env.update(MPLBACKEND="Agg", DEEPCOURSE_FAST="1")
    script = FIRST_CELLS.format(root=str(copy), notebook=str(notebook), stop=stop,
                                repo=str(REPO_ROOT.resolve()) + os.sep)
    result = subprocess.run([sys.executable, "-c", script], cwd=notebook.parent, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert f"ran {stop} cells" in result.stdout
