"""Where things live in the course repository."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"  # nbgrader source directory
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"  # nbgrader release directory


def session_ids() -> list[str]:
    """Sessions that have a source notebook, in course order."""
    return sorted(p.name for p in SOLUTIONS_DIR.iterdir() if any(p.glob("*.ipynb")))


def source_notebook(session_id: str) -> Path:
    """The one source notebook of a session."""
    (path,) = sorted((SOLUTIONS_DIR / session_id).glob("*.ipynb"))
    return path
