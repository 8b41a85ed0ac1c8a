"""nbgrader configuration of the course, shared by ``nbgrader_config.py`` and the grader."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config

from autograder.paths import REPO_ROOT

COURSE_ID = "deepcourse"
# Stub left in place of each solution block of a released notebook.
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def course_config(root: Path | str = REPO_ROOT, db_url: str | None = None) -> Config:
    """nbgrader settings: ``solutions/`` is the source and ``notebooks/`` the release directory."""
    root = Path(root)
    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = "notebooks"
    c.CourseDirectory.db_url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".DS_Store"]
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    # Each released notebook opens with its session's instructions for students and ends with
    # the self-check (autograder/student_notebook.py), in place of a static header file.
    c.GenerateAssignment.preprocessors = student_release_steps()
    # For instructors who run `nbgrader autograde` by hand: nbgrader counts any stderr output
    # of a test cell as a failure, so a library warning would cost a correct answer its points.
    # (`python -m autograder grade` does not look at stderr at all.)
    c.IgnorePattern.pattern = r"[\s\S]*"
    c.IgnorePattern.enabled = True
    # `nbgrader autograde` runs and judges notebooks the course's way (autograder/nbgrader_judge.py):
    # without this, code in the student's kernel would decide which test cells pass.
    c.Autograde.autograde_preprocessors = judged_autograde_steps()
    return c


def student_release_steps() -> list:
    """nbgrader's generate_assignment steps, its IncludeHeaderFooter replaced by StudentNotebook."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.preprocessors import IncludeHeaderFooter

    from autograder.student_notebook import StudentNotebook

    return [StudentNotebook if step is IncludeHeaderFooter else step
            for step in GenerateAssignment.class_traits()["preprocessors"].default()]


def judged_autograde_steps() -> list:
    """nbgrader's autograde steps, its Execute replaced by the course's JudgedExecute."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from autograder.nbgrader_judge import JudgedExecute

    return [JudgedExecute if step is Execute else step
            for step in Autograde.class_traits()["autograde_preprocessors"].default()]
