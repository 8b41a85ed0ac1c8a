"""The student bundle: the folder (and zip) published to students, and nothing else.

It holds the released notebooks, the ``deepcourse`` helpers, the data, the environment files
(``environment.yml``, ``requirements.txt`` and a ``pyproject.toml`` that installs
``deepcourse`` alone) and a short README. Never solutions, hidden tests, checks or grading code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.paths import NOTEBOOKS_DIR, REPO_ROOT

BUNDLE_NAME = "deepcourse-student"
COPIED = ("notebooks", "deepcourse", "data", "environment.yml", "requirements.txt")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")

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

README = """\
# deepcourse: the practicals

One notebook per session in `notebooks/<session>/`, the helpers they import in `deepcourse/`,
the data sets in `data/`.

## Install (once)

With conda:

    conda env create -f environment.yml
    conda activate deepcourse

or with pip, in a virtual environment (Python 3.10 or newer):

    python -m venv .venv && source .venv/bin/activate
    pip install -r requirements.txt
    pip install -e .

## Work on a session

    jupyter lab notebooks/

Open the session's notebook and read its first cell: what to do, the deadline and how it is
graded. Fill in every `YOUR CODE HERE`, run the visible tests below each exercise, and run
the last cell, `checklist()`, to see which exercises pass their visible tests. Hidden tests,
run when the notebook is graded, decide the grade. Submit the notebook file itself, with its
name unchanged.
"""


def build_bundle(out: Path | str) -> tuple[Path, Path]:
    """Write ``out/deepcourse-student/`` and ``out/deepcourse-student.zip``; return both."""
    out = Path(out)
    folder = out / BUNDLE_NAME
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    if not any(NOTEBOOKS_DIR.rglob("*.ipynb")):
        raise FileNotFoundError(f"no released notebook in {NOTEBOOKS_DIR}: run `make release`")
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=IGNORED)
        else:
            shutil.copyfile(source, folder / name)
    (folder / "pyproject.toml").write_text(PYPROJECT)
    (folder / "README.md").write_text(README)
    archive = shutil.make_archive(str(out / BUNDLE_NAME), "zip", root_dir=out,
                                  base_dir=BUNDLE_NAME)
    return folder, Path(archive)
