"""`nbgrader validate`, as students and instructors run it: a solution passes, a blank says why."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.paths import NOTEBOOKS_DIR, source_notebook

pytestmark = pytest.mark.slow
SESSION = "01_micrograd"


def validate(path):
    done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", path.name],
                          cwd=path.parent, capture_output=True, text=True, timeout=600)
    return done.stdout + done.stderr


def test_solution_passes_with_its_hidden_tests_judged(tmp_path):
    # the hidden cells call autograder.hidden.judged, which probes and judges in-process here
    nb = Path(shutil.copy(source_notebook(SESSION), tmp_path))
    assert "Success! Your notebook passes all the tests." in validate(nb)


def test_blank_release_fails_with_the_visible_tests_messages(tmp_path):
    nb = Path(shutil.copy(NOTEBOOKS_DIR / SESSION / source_notebook(SESSION).name, tmp_path))
    out = validate(nb)
    assert "VALIDATION FAILED" in out and "NotImplementedError" in out
    assert "judge_" not in out and "HIDDEN TESTS" not in out
