"""The class report: its numbers come from the graded rows, and the page holds every plot."""

import json

import pytest

from autograder.policy import load_policy
from autograder.report import summarise, write_report

pytestmark = pytest.mark.slow
SESSION = "01_micrograd"


@pytest.fixture(scope="module")
def report(graded_class, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    page = write_report(graded_class["rows"], out)
    return page.read_text(), json.loads((out / "report.json").read_text())


def test_report_numbers_follow_the_rows(graded_class, report):
    _, data = report
    rows = graded_class["rows"]
    s = data["sessions"][SESSION]
    assert s["rows"] == len(rows) == 6
    # carol, dave, bob, alice: erin's unreadable notebook is an error, never a silent 0
    assert s["scores"] == {"0": 1, "1": 1, "2": 1, "3": 0, "4": 1}
    assert (s["held"], s["errors"]) == (1, 1)
    assert [(h["student"], h["status"]) for h in data["held"]] == [("erin", "error"),
                                                                     ("frank", "review")]
    # bob left finite_diff blank: passed by alice, dave and frank of the 5 graded notebooks
    assert s["exercise_pass_rate"]["finite_diff"] == 0.6
    assert s["exercise_pass_rate"]["value_ops"] == 0.8
    assert data["caps"][SESSION]["late"] == 1 and data["caps"][SESSION]["no_timestamp"] == 1
    late = [x for x in data["submissions"] if x["late"]]
    assert [x["student"] for x in late] == ["dave"] and late[0]["hours_after_deadline"] > 24


def test_report_page_is_self_contained_with_four_plots(report):
    page, _ = report
    assert page.count("src='data:image/png;base64,") == 4
    assert "http://" not in page and "https://" not in page


def test_rows_in_error_or_held_come_first_with_their_reasons(report):
    page, _ = report
    first = page.index("<h2>")
    assert page.index("To look at: in error or held for review") == first + len("<h2>")
    assert first < page.index("erin") < page.index("not a readable notebook") \
        < page.index("frank") < page.index("no submission time") < page.index("Scores per session")


def test_one_pass_rate_chart_per_session(graded_class, tmp_path):
    import dataclasses

    other = [dataclasses.replace(r, session="02_makemore") for r in graded_class["rows"]]
    page = write_report(graded_class["rows"] + other, tmp_path).read_text()
    assert page.count("<h3>") == 2  # one pass-rate chart per session, each its own size


def test_summary_of_no_rows_is_empty():
    assert summarise([], load_policy())["sessions"] == {}
