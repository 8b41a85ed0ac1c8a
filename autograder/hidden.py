"""What a hidden test cell of a source notebook calls: ``judged(session, exercise)``.

Under the course grader the hidden cells are replaced by probes whose observations are judged
in the grader, so this function never runs there. Anywhere else:
- under stock ``nbgrader autograde`` without the course's configuration it refuses, so that
  a hidden test never passes without a trusted judge;
- in an instructor's JupyterLab, ``nbgrader validate`` or the test suite, it probes and judges
  in this process and raises AssertionError with the judge's message when the answer is wrong.
"""

from __future__ import annotations

import os
import sys

REFUSAL = ("this hidden test is judged outside the notebook: grade with `make autograde` "
           "(python -m autograder grade), or with nbgrader using the course's nbgrader_config.py")


def judged(session: str, exercise: str) -> None:
    """Run the hidden test of ``exercise`` on the calling notebook's globals."""
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        raise AssertionError(REFUSAL)
    from autograder.checks import run_in_process

    result = run_in_process(session, exercise, sys._getframe(1).f_globals)
    if not result.passed:
        raise AssertionError(result.message)
    print(f"hidden tests of {exercise!r} pass")
