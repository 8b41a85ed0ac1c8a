import os

os.environ.setdefault("MPLBACKEND", "Agg")


import shutil  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """A small class graded once for the instructor-facing tests: the examples of session
    01_micrograd plus ``frank`` (alice's notebook without timestamp.txt), in
    ``<tmp>/submissions``, with ``grades.csv`` and the gradebook under ``<tmp>/course``."""
    from autograder.examples import write_examples
    from autograder.grade import grade_folder

    root = tmp_path_factory.mktemp("class")
    subs = write_examples(root / "submissions", ["01_micrograd"])
    shutil.copytree(subs / "alice", subs / "frank")
    (subs / "frank" / "01_micrograd" / "timestamp.txt").unlink()
    rows = grade_folder(subs, root / "grades.csv", workers=1, echo=lambda *a: None)
    return {"root": root, "submissions": subs, "rows": rows, "course": root / "course"}
