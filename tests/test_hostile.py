"""The hostile corpus (tests/hostile.py), graded in one batch: nothing crashes, every row is right."""

import socket

import pytest

from autograder.execute import Limits
from autograder.grade import grade_folder
from autograder.intake import _SAFE_ID
from autograder.policy import load_policy
from autograder.results import read_csv
from autograder.safe_text import MAX_NAME, MAX_REASON, MAX_REASONS, safe
from tests.hostile import cases
from tests.hostile_trust import HOST_SECRET

pytestmark = pytest.mark.slow
LIMITS = Limits(cell_timeout_s=10, notebook_timeout_s=120, processes=128)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    submissions = root / "submissions"
    canary = root / "canary.txt"
    canary.write_text("untouched")
    server = socket.create_server(("127.0.0.1", 0))
    corpus = cases(submissions, canary, server.getsockname()[1])
    for case in corpus:
        folder = submissions / case.student / case.session
        folder.mkdir(parents=True)
        case.build(folder)
        if case.timestamp is not None:
            (folder / "timestamp.txt").write_text(case.timestamp + "\n")
    try:
        rows = grade_folder(submissions, root / "grades.csv", limits=LIMITS, echo=lambda *_: None)
    finally:
        server.close()
    return corpus, {(r.student, r.session): r for r in rows}, canary, root / "grades.csv"


def _key(case):
    """The row of a case: its student folder's name made safe; "-" for a refused name."""
    return safe(case.student, MAX_NAME), case.session if _SAFE_ID.match(case.student) else "-"


def test_corpus_is_large_enough(corpus):
    assert len(corpus[0]) >= 30


def test_every_case_gets_its_expected_row(corpus):
    cases_, rows, *_ = corpus
    wrong = []
    for case in cases_:
        row, e = rows.get(_key(case)), case.expect
        if row is None:
            wrong.append(f"{case.student}: no row")
            continue
        reasons = "; ".join(row.reasons)
        problems = []
        if row.score != e.score:
            problems.append(f"score {row.score} != {e.score}")
        if row.status != e.status:
            problems.append(f"status {row.status} != {e.status}")
        problems += [f"missing reason {r!r}" for r in e.reasons if r not in reasons]
        if e.points is not None and not e.points[0] <= row.points <= e.points[1]:
            problems.append(f"points {row.points} not in {e.points}")
        if problems:
            wrong.append(f"{case.student} ({case.what}): {', '.join(problems)} | {reasons[:300]}")
    assert not wrong, "\n".join(wrong)


def test_no_case_gets_undeserved_points(corpus):
    cases_, rows, *_ = corpus
    for case in cases_:
        row = rows.get(_key(case))
        if row is not None and row.score is not None and case.expect.deserved_points is not None:
            assert row.points <= case.expect.deserved_points, case.student


def test_student_without_a_session_gets_a_missing_row(corpus):
    row = corpus[1][("lost_student", "01_micrograd")]
    assert (row.score, row.status) == (0, "missing")


def test_nothing_outside_the_submission_was_changed(corpus):
    assert corpus[2].read_text() == "untouched"


def test_no_row_quotes_a_host_file(corpus):
    assert HOST_SECRET not in corpus[3].read_text(encoding="utf-8")


def test_every_row_is_written_and_bounded(corpus):
    written = read_csv(corpus[3])
    assert len(written) == len(corpus[1])
    longest = max(len(",".join(r.values())) for r in written)
    assert longest < MAX_REASONS * (MAX_REASON + 2) + 1000, longest


def test_feedback_shows_no_test_code(corpus):
    text = " ".join("; ".join(r.reasons) for r in corpus[1].values())
    for secret in ("judge_", "RTOL", "HIDDEN TESTS", "torch.allclose(values", "def "):
        assert secret not in text


def test_sandbox_report(corpus):
    rows = [r for r in corpus[1].values() if r.isolation]
    assert rows and all("RLIMIT_AS" in " ".join(r.isolation["applied"]) for r in rows)


def test_worst_case_time_is_bounded(corpus):
    worst = max(r.seconds for r in corpus[1].values())
    assert worst < LIMITS.notebook_timeout_s + 30


def test_policy_timeouts_are_what_the_grader_uses():
    policy = load_policy()
    assert policy.cell_timeout_s > 0 and policy.notebook_timeout_s >= policy.cell_timeout_s
