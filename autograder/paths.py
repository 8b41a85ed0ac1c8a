"""Where things live in the course repository."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"  # nbgrader source directory
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"  # nbgrader release directory
TEMPLATES_DIR = REPO_ROOT / "autograder" / "templates"  # the pages the grader writes
HELPERS_DIR = REPO_ROOT / "deepcourse"  # the helpers every notebook imports
# what every notebook needs, in every bundle and every grading kernel: setup()/budget() and the
# self-check of its last cell
ALWAYS_HELPERS = ("deepcourse", "deepcourse.env", "deepcourse.selfcheck")


def session_ids() -> list[str]:
    """Sessions that have a source notebook, in course order."""
    return sorted(p.name for p in SOLUTIONS_DIR.iterdir() if any(p.glob("*.ipynb")))


def source_notebook(session_id: str) -> Path:
    """The one source notebook of a session."""
    (path,) = sorted((SOLUTIONS_DIR / session_id).glob("*.ipynb"))
    return path


def check_session(name: str) -> str:
    """``name`` when it is a session; else a ValueError that suggests the closest one."""
    import difflib

    known = session_ids()
    if name in known:
        return name
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ValueError(f"unknown session {name!r}: {hint}(expected one of {', '.join(known)})")
