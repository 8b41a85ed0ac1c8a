"""The student bundle: what students get, one session at a time, and nothing else.

``build_bundle`` ships the released notebooks of the sessions asked for (by default every
session released by now, from the release times in ``grading_config.py``), the ``deepcourse``
helpers those notebooks import (and what those helpers import), the data sets of those
helpers, the student environment files (``requirements-student.txt`` and
``environment-student.yml``, renamed) with ``constraints.txt``, a ``pyproject.toml`` that
installs ``deepcourse`` alone, and a README. Never solutions, hidden tests, checks or grading
code. Before writing the zip it refuses a bundle in which a file holds the answer of a session
still open (deadline not past): :func:`autograder.release.answer_leaks`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import shutil
from pathlib import Path

import nbformat

from autograder.paths import ALWAYS_HELPERS, HELPERS_DIR, NOTEBOOKS_DIR, REPO_ROOT, session_ids
from autograder.policy import Policy, load_policy
from autograder.release import answer_leaks

BUNDLE_NAME = "deepcourse-student"
DATA_DIR = REPO_ROOT / "data"
# shipped file <- file of the repository
ENVIRONMENT_FILES = {"requirements.txt": "requirements-student.txt",
                     "environment.yml": "environment-student.yml",
                     "constraints.txt": "constraints.txt"}
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store",
                                 ".gitignore", "full")
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(deepcourse(?:\.\w+)*)[ \t]+import[ \t]+([^\n#]+)"
                     r"|import[ \t]+(deepcourse(?:\.\w+)*))", re.M)

PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "deepcourse"
version = "0.1.0"
description = "The notebook helpers of the deepcourse practicals"
requires-python = ">=3.10"

[tool.setuptools.packages.find]
include = ["deepcourse*"]
"""


class BundleError(RuntimeError):
    """A bundle cannot be built: nothing released yet, or it would ship an open answer."""


def released_sessions(policy: Policy, now: dt.datetime) -> list[str]:
    """Sessions whose notebook is published at ``now`` (timezone-aware), in course order."""
    return [sid for sid in session_ids() if policy.sessions[sid].release <= now]


def open_sessions(policy: Policy, now: dt.datetime) -> list[str]:
    """Sessions still open to a submission at ``now`` (their deadline, or a student's
    extension, not past): their answers must not ship."""
    last = {sid: session.deadline for sid, session in policy.sessions.items()}
    for (_, sid), extended in policy.extensions.items():
        last[sid] = max(last[sid], extended)
    return [sid for sid in session_ids() if last[sid] >= now]


def helper_modules(notebooks: list[Path]) -> list[str]:
    """The ``deepcourse`` modules these notebooks import, and those they import in turn."""
    todo = list(ALWAYS_HELPERS)
    for path in notebooks:
        todo += _imports("\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                                   if c.cell_type == "code"))
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name in found:
            continue
        file = _module_file(name)
        if file is None:
            raise BundleError(f"a notebook imports {name}, which is not in deepcourse/")
        found.add(name)
        todo += _imports(file.read_text(encoding="utf-8"))
    return sorted(found)


@functools.lru_cache(maxsize=None)
def withheld_helpers(session: str) -> tuple[Path, ...]:
    """The helper files a kernel that grades ``session`` must not see: those the session's
    bundle leaves out (a later session's helper can hold this session's answers)."""
    shipped = set(helper_modules(sorted((NOTEBOOKS_DIR / session).glob("*.ipynb"))))
    return tuple(path for path in sorted(HELPERS_DIR.glob("*.py"))
                 if ("deepcourse" if path.stem == "__init__" else f"deepcourse.{path.stem}")
                 not in shipped)


def _imports(code: str) -> list[str]:
    names = []
    for package, imported, plain in _IMPORT.findall(code):
        names.append(package or plain)
        for item in re.split(r"[\s,()]+", imported):
            word = item.split(" as ")[0]
            if word and _module_file(f"{package}.{word}") is not None:  # from deepcourse import idx
                names.append(f"{package}.{word}")
    return names


def _module_file(name: str) -> Path | None:
    parts = name.split(".")[1:]
    candidates = [HELPERS_DIR.joinpath(*parts).with_suffix(".py") if parts else None,
                  HELPERS_DIR.joinpath(*parts, "__init__.py")]
    return next((p for p in candidates if p is not None and p.is_file()), None)


def data_sets(modules: list[str]) -> list[str]:
    """The data folders the helpers load: ``data/<name>/`` belongs to ``deepcourse.<name>``."""
    return [name.split(".")[-1] for name in modules
            if "." in name and (DATA_DIR / name.split(".")[-1]).is_dir()]


def build_bundle(out: Path | str, sessions: list[str] | None = None,
                 now: dt.datetime | None = None) -> tuple[Path, Path]:
    """Write ``out/deepcourse-student/`` and ``out/deepcourse-student.zip``; return both.

    ``sessions`` defaults to those released at ``now`` (default: the current time). Raises
    :class:`BundleError` when a shipped file holds an answer of a session open at ``now``.
    """
    policy = load_policy()
    now = now or dt.datetime.now(dt.timezone.utc)
    if sessions is None:
        sessions = released_sessions(policy, now)
        if not sessions:
            raise BundleError(f"no session is released at {now:%Y-%m-%d %H:%M %Z} "
                              "(release times in grading_config.py)")
    unknown = sorted(set(sessions) - set(session_ids()))
    if unknown:
        raise BundleError(f"unknown session(s) {', '.join(unknown)}; "
                          f"sessions are {', '.join(session_ids())}")
    notebooks = [p for sid in sessions for p in sorted((NOTEBOOKS_DIR / sid).glob("*.ipynb"))]
    if {p.parent.name for p in notebooks} != set(sessions):
        raise FileNotFoundError(f"a session has no released notebook in {NOTEBOOKS_DIR}: "
                                "run `make release`")
    out = Path(out)
    folder = out / BUNDLE_NAME
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for sid in sessions:
        shutil.copytree(NOTEBOOKS_DIR / sid, folder / "notebooks" / sid, ignore=IGNORED)
    modules = helper_modules(notebooks)
    for name in modules:
        source = _module_file(name)
        target = folder / source.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    sets = data_sets(modules)
    for name in sets:
        shutil.copytree(DATA_DIR / name, folder / "data" / name, ignore=IGNORED)
    for shipped, source in ENVIRONMENT_FILES.items():
        shutil.copyfile(REPO_ROOT / source, folder / shipped)
    (folder / "pyproject.toml").write_text(PYPROJECT)
    (folder / "README.md").write_text(readme(policy, sessions, sets))
    leaks = answer_leaks(folder, open_sessions(policy, now))
    if leaks:
        shutil.rmtree(folder)
        raise BundleError("the bundle would give away answers of sessions still open:\n  "
                          + "\n  ".join(leaks))
    archive = shutil.make_archive(str(out / BUNDLE_NAME), "zip", root_dir=out,
                                  base_dir=BUNDLE_NAME)
    return folder, Path(archive)


# How a student gets each data set, by its folder in data/.
DATA_NOTES = {
    "names": "first names (`data/names/names.txt`): in this bundle, nothing to get.",
    "mnist": "MNIST digits, a 4,000 + 1,000 image subset (`data/mnist/`): in this bundle, "
             "nothing to get.",
    "shakespeare": "Shakespeare, eight plays (`data/shakespeare/shakespeare.txt`): in this "
                   "bundle, nothing to get.",
    "fashion_mnist": (
        "Fashion-MNIST: a 2,000 + 500 image subset is in this bundle (`data/fashion_mnist/`). "
        "The notebook trains on the full set (60,000 + 10,000 images, about 30 MB), which it "
        "downloads from Zalando's site on first use. To get it beforehand (for instance "
        "before going offline), run once, in the activated environment:\n\n"
        "      python data/fashion_mnist/prepare.py --full\n\n"
        "  or, on Debian or Ubuntu, as root: `apt-get install dataset-fashion-mnist` (the "
        "notebook finds it in `/usr/share/datasets/fashion-mnist/`). "
        "`data/fashion_mnist/README.md` tells where the notebook looks and the checksums."),
}

README = """\
# deepcourse: the practicals

This bundle holds the sessions released so far: one notebook per session in
`notebooks/<session>/`, the helpers they import in `deepcourse/`, the data they use in
`data/`. Each new session comes as a new bundle; keep your own notebooks when you unpack it.

| session | notebook | submit by |
|---|---|---|
{sessions}

## Install (once)

The environment holds what the notebooks need (PyTorch for the CPU, NumPy, Matplotlib,
JupyterLab) and nothing else. A GPU is never required.

With pip, in a virtual environment (Python 3.10 or newer):

    python -m venv .venv
    source .venv/bin/activate          # Windows: .venv\\Scripts\\activate
    pip install -r requirements.txt    # reads PyTorch's CPU wheel index from the file
    pip install -e .

or with conda:

    conda env create -f environment.yml
    conda activate deepcourse

`requirements.txt` names PyTorch's CPU wheel index
(`https://download.pytorch.org/whl/cpu`), so pip does not fetch the much larger CUDA build;
`constraints.txt` pins every package to the version the course was tested with.

## Data

{data}

## Work on a session

    jupyter lab notebooks/

Open the session's notebook and read its first cell: what to do, the deadline and how it is
graded. Fill in every `YOUR CODE HERE` and run the visible test cell below each exercise. The
last cell, `checklist()`, lists every exercise with its points and whether its visible tests
pass. The visible tests only check a few properties: hidden tests, run when the notebook is
graded, decide the points.

## Submit

Submit the notebook file itself (`notebooks/<session>/<name>.ipynb`, name unchanged) as your
course page asks, before the session's deadline above: a notebook submitted after the
deadline scores at most {late_cap} of {max_score}. Keep the test cells as they are: they are
restored from the original when grading.
"""


def readme(policy: Policy, sessions: list[str], sets: list[str]) -> str:
    """The bundle's README: its sessions with their deadlines, how to install, get each data
    set, work and submit."""
    rows = []
    for sid in sessions:
        session = policy.sessions[sid]
        (notebook,) = sorted((NOTEBOOKS_DIR / sid).glob("*.ipynb"))
        rows.append(f"| {session.title} | `notebooks/{sid}/{notebook.name}` | "
                    f"{session.deadline:%Y-%m-%d %H:%M} ({session.deadline.tzinfo}) |")
    data = "\n".join(f"- {DATA_NOTES[name]}" for name in sets) or "- No data set to get."
    return README.format(sessions="\n".join(rows), data=data, late_cap=policy.late_cap,
                         max_score=policy.max_score)
