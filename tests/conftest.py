import os

os.environ.setdefault("MPLBACKEND", "Agg")


import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        "--busy-cores", type=int, default=int(os.environ.get("DEEPCOURSE_BUSY_CORES") or 0),
        help="keep N cores busy with spinning processes for the whole run, to show that no "
             "test depends on an idle machine (default: $DEEPCOURSE_BUSY_CORES or 0)")


@pytest.fixture(scope="session", autouse=True)
def busy_cores(request):
    """``--busy-cores N``: N processes spinning at full speed while the tests run."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(request.config.getoption("--busy-cores"))]
    yield len(spinners)
    for spinner in spinners:
        spinner.kill()
        spinner.wait()


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
