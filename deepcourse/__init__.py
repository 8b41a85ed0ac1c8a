"""The course's shared notebook helpers: set-up, grading mode, paths and data.

Every notebook starts with ``from deepcourse import setup; cfg = setup()``, which seeds the
random generators, picks the device, sets plotting defaults and tells whether the notebook
runs under the grader. Training loops size themselves with ``budget(full, fast)``.
"""

from deepcourse.env import DATA_DIR, REPO_ROOT, Setup, budget, grading, setup

__all__ = ["DATA_DIR", "REPO_ROOT", "Setup", "budget", "grading", "setup"]
