"""The student bundle holds what students need, nothing secret, and runs on its own."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile

import nbformat
import pytest

from autograder.bundle import (BUNDLE_NAME, BundleError, build_bundle, helper_modules,
                               open_sessions, released_sessions)
from autograder.examples import solution_notebook
from autograder.paths import REPO_ROOT, session_ids, source_notebook
from autograder.policy import load_policy
from autograder.release import answer_leaks, leaks, secret_lines

EXPECTED = {"notebooks", "deepcourse", "data", "environment.yml", "requirements.txt",
            "constraints.txt", "pyproject.toml", "README.md"}
POLICY = load_policy()
# the tests never read the clock: a day after the last deadline, every session is out
AFTER_ALL = max(s.deadline for s in POLICY.sessions.values()) + dt.timedelta(days=1)
# Helpers that share lines with one session's answers, in the bundle once that session is past
# (AFTER_ALL): deepcourse/makemore.py gives session 3 session 2's vocabulary, dataset and split
# (see its docstring); before session 2's deadline no bundle ships it (tests below).
# deepcourse/unet.py gives session 6 session 5's U-Net (tests/test_unet_bridge.py).
SHARED_ANSWERS = {"deepcourse/makemore.py": "02_makemore",  # session 3 reuses them
                  "deepcourse/unet.py": "05_convnets"}
NETWORK_ERRORS = ("NewConnectionError", "Failed to establish", "Temporary failure in name",
                  "Network is unreachable", "Max retries exceeded", "timed out")


@pytest.fixture(scope="module")
def bundle():
    # inside the repository, so that the leak check names files relative to it
    out = REPO_ROOT / "build" / "test-student-bundle"
    folder, archive = build_bundle(out, now=AFTER_ALL)
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
    assert not [f for f in files if "full" in f.parts], "no downloaded full data set ships"
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
         "--quiet", "--disable-pip-version-check", "--retries", "0", "--timeout", "10",
         "-r", "requirements.txt"],
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


def bundle_at(tmp_path, now, sessions=None):
    return build_bundle(tmp_path / "out", sessions=sessions, now=now)[0]


def shipped(folder, under):
    return sorted(p.relative_to(folder / under).as_posix() for p in (folder / under).rglob("*")
                  if p.is_file())


def test_sessions_are_released_and_closed_by_the_policy_dates():
    s2 = POLICY.sessions["02_makemore"]
    assert released_sessions(POLICY, s2.release - dt.timedelta(seconds=1)) == ["01_micrograd"]
    assert released_sessions(POLICY, s2.release) == ["01_micrograd", "02_makemore"]
    assert "02_makemore" in open_sessions(POLICY, s2.deadline)
    assert "02_makemore" not in open_sessions(POLICY, s2.deadline + dt.timedelta(seconds=1))
    assert released_sessions(POLICY, AFTER_ALL) == session_ids()
    assert open_sessions(POLICY, AFTER_ALL) == []


@pytest.mark.parametrize("sid", session_ids())
def test_the_bundle_of_each_release_day_gives_no_open_answer_away(sid, tmp_path):
    """On the morning a session is released, the bundle holds the sessions out so far and no
    file of it holds an answer of a session whose deadline is not past (its own included)."""
    now = POLICY.sessions[sid].release
    folder = bundle_at(tmp_path, now)
    assert sorted(p.name for p in (folder / "notebooks").iterdir()) == released_sessions(POLICY, now)
    assert sid in open_sessions(POLICY, now)
    assert answer_leaks(folder, open_sessions(POLICY, now)) == []


def test_the_leak_check_finds_the_session_2_answers_in_the_helpers(bundle, tmp_path):
    """What every bundle shipped before: deepcourse/makemore.py holds session 2's dataset,
    split and vocabulary answers; disguised (names, comments, layout changed) it is still found."""
    folder = bundle[0]
    found = answer_leaks(folder, ["02_makemore"])
    for grade_id in ("dataset_fn", "split_fn", "vocab_counts"):
        assert [p for p in found if p.startswith("deepcourse/makemore.py") and grade_id in p], found
    copy = tmp_path / "copy"
    shutil.copytree(folder / "deepcourse", copy / "deepcourse")
    (copy / "deepcourse" / "makemore.py").unlink()
    assert answer_leaks(copy, ["02_makemore"]) == []
    code = (folder / "deepcourse" / "makemore.py").read_text()
    disguised = (code.replace("build_dataset", "make_examples").replace("context", "window")
                 .replace("    ", "  ").replace("# ", "# note: "))
    (copy / "deepcourse" / "tools.py").write_text(disguised)
    assert [p for p in answer_leaks(copy, ["02_makemore"]) if "tools.py" in p and "dataset_fn" in p]


def test_a_bundle_that_would_give_an_answer_away_is_refused(tmp_path):
    """Session 3's helpers answer session 2: asked for before session 2's deadline, no bundle."""
    now = POLICY.sessions["02_makemore"].deadline - dt.timedelta(hours=1)
    with pytest.raises(BundleError, match="makemore.py.*02_makemore"):
        bundle_at(tmp_path, now, sessions=["03_backprop"])
    assert not (tmp_path / "out" / f"{BUNDLE_NAME}.zip").exists()


def test_a_session_bundle_ships_that_session_with_its_helpers_and_data(tmp_path):
    folder = bundle_at(tmp_path, POLICY.sessions["04_gpt"].release, sessions=["04_gpt"])
    assert [p.name for p in (folder / "notebooks").iterdir()] == ["04_gpt"]
    modules = helper_modules([folder / "notebooks" / "04_gpt" / source_notebook("04_gpt").name])
    assert "deepcourse.shakespeare" in modules and "deepcourse.makemore" not in modules
    assert shipped(folder, "deepcourse") == sorted(
        "__init__.py" if m == "deepcourse" else m.split(".", 1)[1] + ".py" for m in modules)
    assert {p.name for p in (folder / "data").iterdir()} == {"mnist", "shakespeare"}
    readme = (folder / "README.md").read_text()
    assert "notebooks/04_gpt/gpt.ipynb" in readme and "Fashion-MNIST" not in readme


def test_the_readme_says_how_to_get_each_data_set_and_how_to_submit(bundle):
    readme = (bundle[0] / "README.md").read_text()
    for name in ("names", "mnist", "shakespeare", "fashion_mnist"):
        assert f"data/{name}/" in readme, name
    assert "python data/fashion_mnist/prepare.py --full" in readme
    assert "dataset-fashion-mnist" in readme
    assert "## Submit" in readme and "download.pytorch.org/whl/cpu" in readme
    for sid in session_ids():
        assert f"{POLICY.sessions[sid].deadline:%Y-%m-%d %H:%M}" in readme, sid


def test_session_2_answers_from_helpers_fail_in_a_session_2_bundle(tmp_path):
    """Before session 2's deadline its bundle has no deepcourse.makemore: a notebook whose
    answers call ``vocabulary``, ``split_words`` and ``build_dataset`` from it stops at its
    import, for a student who has that bundle only (no site-packages: -S)."""
    folder = bundle_at(tmp_path, POLICY.sessions["02_makemore"].release)
    assert not (folder / "deepcourse" / "makemore.py").exists()
    probe = ("import sys; sys.path.insert(0, '.')\n"
             "import deepcourse; print(deepcourse.__file__)\n"
             "from deepcourse.makemore import build_dataset, split_words, vocabulary\n")
    result = subprocess.run([sys.executable, "-S", "-c", probe], cwd=folder, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": ""})
    assert result.stdout.startswith(str(folder)), result.stdout
    assert result.returncode != 0, result.stdout
    assert "No module named 'deepcourse.makemore'" in result.stderr, result.stderr


def test_an_extension_keeps_the_answers_of_its_session_secret():
    from autograder.policy import policy_from_values
    from tests.test_policy import config_values

    extended = POLICY.sessions["02_makemore"].deadline + dt.timedelta(days=3)
    policy = policy_from_values({**config_values(), "EXTENSIONS": {
        "alice": {"02_makemore": f"{extended:%Y-%m-%d %H:%M:%S}"}}})
    assert "02_makemore" in open_sessions(policy, extended - dt.timedelta(days=1))
    assert "02_makemore" not in open_sessions(policy, extended + dt.timedelta(seconds=1))


GRADING_TOOLS = {"nbgrader", "dask", "distributed", "pytest", "ruff", "copydetect", "playwright"}
SETUP_CELLS = """
import os, sys, nbformat
nb = nbformat.read({notebook!r}, as_version=4)
first = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {{}}).get("solution"))
ns = {{"__name__": "__main__"}}
for cell in nb.cells[:first]:
    if cell.cell_type == "code" and not cell.source.lstrip().startswith(("%", "!")):
        exec(compile(cell.source, "<cell>", "exec"), ns)
import deepcourse, torch
assert os.path.realpath(deepcourse.__file__).startswith(os.path.realpath({root!r}))
print("ran", first, "cells with torch", torch.__version__)
"""


def _site_size_without_torch(venv):
    (site,) = (venv / "lib").glob("python*/site-packages")
    torch_dirs = ("torch", "torchgen", "functorch")
    return sum(f.stat().st_size for f in site.rglob("*")
               if f.is_file() and not f.relative_to(site).parts[0].startswith(torch_dirs))


def student_env(folder, venv):
    """Install the student environment of the bundle ``folder`` into a new ``venv`` as its
    README says (through pip's configured indexes); the environment variables to run it with
    and the install's seconds. Skips when no package index can be reached."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "JPY_SESSION_NAME", "MPLBACKEND",
                        "JUPYTER_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", DEEPCOURSE_FAST="1")
    start = time.monotonic()
    for args in (["-r", "requirements.txt"], ["-e", "."]):
        result = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                 "--retries", "0", "--timeout", "10", *args], cwd=folder,
                                env=env, capture_output=True, text=True, timeout=3600)
        output = result.stdout + result.stderr
        if result.returncode != 0 and any(err in output for err in NETWORK_ERRORS):
            pytest.skip(f"no package index reachable: {output[-300:]}")
        assert result.returncode == 0, output[-3000:]
    return env, time.monotonic() - start


@pytest.mark.slow
def test_student_environment_installs_from_the_bundle_alone(bundle, tmp_path):
    """A fresh virtual environment from the bundle's requirements.txt and pyproject.toml
    (through pip's configured indexes: here local wheels, offline) holds no grading tool and
    no nbgrader extension, and runs the set-up cells of every session."""
    copy = tmp_path / BUNDLE_NAME
    shutil.copytree(bundle[0], copy)
    venv = tmp_path / "venv"
    env, seconds = student_env(copy, venv)
    env["MPLBACKEND"] = "Agg"
    python = str(venv / "bin" / "python")
    listing = subprocess.run([python, "-m", "pip", "list", "--format", "json"], env=env,
                             capture_output=True, text=True, check=True, timeout=300).stdout
    names = {p["name"].lower() for p in json.loads(listing)}
    assert not names & GRADING_TOOLS, names & GRADING_TOOLS
    print(f"student environment: {len(names)} packages, "
          f"{_site_size_without_torch(venv) / 1e6:.0f} MB besides torch, {seconds:.0f} s")
    for command in (["labextension", "list"], ["server", "extension", "list"]):
        listed = subprocess.run([str(venv / "bin" / "jupyter"), *command], env=env,
                                capture_output=True, text=True, timeout=300)
        assert listed.returncode == 0, listed.stderr[-2000:]
        assert "nbgrader" not in (listed.stdout + listed.stderr).lower(), listed.stdout
    for sid in session_ids():
        notebook = copy / "notebooks" / sid / source_notebook(sid).name
        result = subprocess.run(
            [python, "-c", SETUP_CELLS.format(notebook=str(notebook), root=str(copy))],
            cwd=notebook.parent, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, (sid, result.stdout[-1000:] + result.stderr[-3000:])
        assert "ran" in result.stdout, sid


def test_a_grading_kernel_sees_only_the_helpers_its_session_ships():
    """What a session's bundle leaves out is hidden from the kernels that grade it: session 2
    cannot call session 3's deepcourse.makemore (session 2's own answers), session 3 can."""
    from autograder.bundle import helper_modules, withheld_helpers
    from autograder.paths import HELPERS_DIR, NOTEBOOKS_DIR

    assert HELPERS_DIR / "makemore.py" in withheld_helpers("02_makemore")
    assert HELPERS_DIR / "makemore.py" not in withheld_helpers("03_backprop")
    for sid in session_ids():
        shipped = helper_modules(sorted((NOTEBOOKS_DIR / sid).glob("*.ipynb")))
        for path in withheld_helpers(sid):
            assert f"deepcourse.{path.stem}" not in shipped, (sid, path)
