"""Stock `nbgrader autograde` on the course: it gives the points our grader gives, no more.

With the course's configuration it runs our judge (autograder/nbgrader_judge.py); without it,
the hidden cells refuse to pass and name `make autograde`.
"""

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import nbgrader_api
from autograder.examples import fill
from autograder.paths import SOLUTIONS_DIR, source_notebook
from tests.hostile import TOTAL, TRUE_ALLCLOSE, WRONG, setup_code, wrong

pytestmark = pytest.mark.slow
SESSION = "01_micrograd"


def _course(root, submissions, extra=None):
    (root / "solutions").symlink_to(SOLUTIONS_DIR, target_is_directory=True)
    api = nbgrader_api.make_api(root, extra)
    assert nbgrader_api.run(api, "generate_assignment", SESSION, force=True,
                            create=True)["success"]
    for student, nb in submissions.items():
        folder = root / "submitted" / student / SESSION
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / source_notebook(SESSION).name)
        (folder / "timestamp.txt").write_text("2025-02-05 12:00:00 UTC\n")
        nbgrader_api.run(api, "autograde", SESSION, student, force=True, create=True)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {s: gb.find_submission_notebook(source_notebook(SESSION).stem, SESSION, s).score
                for s in submissions}


def test_stock_autograde_runs_the_course_judge(tmp_path):
    scores = _course(tmp_path, {"solved": fill(SESSION, None), "blank": fill(SESSION, 0),
                                "cheat": setup_code(wrong(), TRUE_ALLCLOSE)})
    assert scores == {"solved": TOTAL, "blank": 0, "cheat": WRONG}


def test_without_the_course_config_hidden_cells_refuse(tmp_path):
    from nbgrader.converters import Autograde
    from traitlets.config import Config

    plain = Config()  # the course's settings, nbgrader's own Execute step
    plain.Autograde.autograde_preprocessors = Autograde.class_traits()["autograde_preprocessors"].default()
    scores = _course(tmp_path, {"solved": fill(SESSION, None)}, plain)
    assert scores["solved"] < TOTAL  # the hidden cells failed: visible points at most
    nb = nbformat.read(tmp_path / "autograded" / "solved" / SESSION /
                       source_notebook(SESSION).name, as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and all("make autograde" in o.evalue for o in errors)
