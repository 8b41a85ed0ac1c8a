"""The instructor's loop loses nothing: export, feedback, report and regrade, run any number of
times in any order, leave the gradebook and every file they write as they were.

The class: alice (full), bob (partial, two cells regraded by hand), carol (blank), dave (late),
gina (dave's notebook, with an extension), erin (unreadable), frank (no submission time: held
for review)."""

import dataclasses
import random
import shutil
from pathlib import Path

import pytest

from autograder import cli, gradebook, nbgrader_api
from autograder.policy import policy_from_values

pytestmark = pytest.mark.slow
SESSION, NB = "01_micrograd", "micrograd"
COMMANDS = ("export", "feedback", "report", "regrade")


def extension_policy():
    from tests.test_policy import config_values

    return policy_from_values({**config_values(),
                               "EXTENSIONS": {"gina": {SESSION: "2025-02-08 23:59:59"}}})


@pytest.fixture()
def course(graded_class, tmp_path, monkeypatch):
    policy = extension_policy()
    for module in ("autograder.policy", "autograder.gradebook", "autograder.report"):
        monkeypatch.setattr(f"{module}.load_policy", lambda *a, **k: policy)
    subs = shutil.copytree(graded_class["submissions"], tmp_path / "submissions")
    shutil.copytree(subs / "dave", subs / "gina")
    rows = graded_class["rows"] + [dataclasses.replace(
        next(r for r in graded_class["rows"] if r.student == "dave"), student="gina")]
    root = tmp_path / "course"
    gradebook.record(rows, root, policy)
    with nbgrader_api.open_gradebook(gradebook.db_url(root)) as gb:
        for name in ("finite_diff__hidden", "nn__hidden"):  # bob, regraded by hand
            grade = gb.find_grade(name, NB, SESSION, "bob")
            grade.manual_score, grade.needs_manual_grade = grade.max_score, False
        gb.db.commit()
    return {"root": root, "subs": subs, "out": tmp_path / "out"}


def run(command, course):
    root, out = str(course["root"]), course["out"]
    argv = {
        "export": ["export", "--gradebook", root, "--out", str(out / "grades.csv")],
        "feedback": ["feedback", "--gradebook", root, "--out", str(out / "feedback")],
        "report": ["report", "--gradebook", root, "--out", str(out / "report")],
        "regrade": ["grade", "--submissions", str(course["subs"]), "--out",
                    str(out / "grades.csv"), "--student", "erin", "--session", SESSION,
                    "--gradebook", root, "--feedback", str(out / "feedback")],
    }[command]
    assert cli.main(argv) == 0


def gradebook_state(root) -> dict:
    """What the gradebook says of every submission (nbgrader's row ids aside)."""
    state = {}
    with nbgrader_api.open_gradebook(gradebook.db_url(root)) as gb:
        for student in gb.students:
            for sub in student.submissions:
                nbs = sub.notebooks
                state[(student.id, sub.assignment.name)] = (
                    str(sub.timestamp), str(sub.extension),
                    sorted((g.name, g.auto_score, g.manual_score, g.needs_manual_grade)
                           for nb in nbs for g in nb.grades),
                    sorted((c.name, c.auto_comment, c.manual_comment)
                           for nb in nbs for c in nb.comments))
    return state


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_every_command_in_any_order_changes_nothing(course):
    for command in COMMANDS:  # every file written once
        run(command, course)
    book, written = gradebook_state(course["root"]), files(course["out"])
    for seed in range(3):
        sequence = random.Random(seed).choices(COMMANDS, k=5)
        for command in sequence:
            run(command, course)
            assert gradebook_state(course["root"]) == book, (seed, sequence, command)
            now = files(course["out"])
            changed = [name for name in written if now.get(name) != written[name]]
            assert now.keys() == written.keys() and changed == [], (seed, sequence, command)


def test_every_status_survives_export(course):
    run("export", course)
    rows = {r["student"]: r for r in read(course["out"] / "grades.csv")}
    got = {s: (r["status"], r["score"]) for s, r in rows.items()}
    assert got.pop("bob")[0] == "graded"
    assert got == {"alice": ("graded", "4"), "carol": ("graded", "0"),
                   "dave": ("graded", "1"), "erin": ("error", "0"), "frank": ("review", ""),
                   "gina": ("graded", "4")}
    assert rows["erin"]["reasons"].count("not a readable notebook") == 1
    assert "no submission time" in rows["frank"]["reasons"]
    assert "finite_diff__hidden regraded by hand: " in rows["bob"]["reasons"]
    assert "extension: deadline 2025-02-08" in rows["gina"]["reasons"]
    wide = {r["student"]: r for r in read(course["out"] / "grades-wide.csv")}
    assert (wide["erin"][SESSION], wide["erin"]["errors"]) == ("", SESSION)
    assert (wide["frank"][SESSION], wide["frank"]["held"]) == ("", SESSION)


def test_exercise_messages_survive_export_on_the_first_solution_cell(course):
    """A failed exercise whose message sits in the verdict comment keeps it."""
    owner = gradebook.comment_cells(SESSION)
    first = next(iter(owner.values()))
    exercises = [ex for ex, cell in owner.items() if cell == first]
    rows = {r.student: r for r in gradebook.export(course["root"], extension_policy())}
    carol = {c.exercise: c.message for c in rows["carol"].cells}
    assert exercises and all(carol[ex] not in ("", "failed") for ex in exercises)
    again = {r.student: r for r in gradebook.export(course["root"], extension_policy())}
    assert again["carol"].reasons == rows["carol"].reasons


def test_ten_exports_and_feedbacks_grow_nothing(course):
    sizes = []
    for _ in range(10):
        run("export", course)
        run("feedback", course)
        with nbgrader_api.open_gradebook(gradebook.db_url(course["root"])) as gb:
            longest = max(len(c.auto_comment or "") for s in gb.students for sub in s.submissions
                          for nb in sub.notebooks for c in nb.comments)
        sizes.append(((course["root"] / "gradebook.db").stat().st_size, longest))
    print(f"gradebook bytes, longest comment (chars) after each export+feedback: {sizes}")
    assert len(set(sizes)) == 1


def read(path):
    from autograder.results import read_csv

    return read_csv(path)


def test_reading_commands_refuse_a_missing_or_empty_gradebook(tmp_path, capsys):
    for command in ("export", "feedback", "report"):
        assert cli.main([command, "--gradebook", str(tmp_path), "--out",
                         str(tmp_path / "out")]) == 2
        assert "no gradebook at" in capsys.readouterr().err
        assert not (tmp_path / "gradebook.db").exists()  # nothing created by reading
    with nbgrader_api.open_gradebook(gradebook.db_url(tmp_path)):
        pass  # an empty gradebook
    assert cli.main(["report", "--gradebook", str(tmp_path), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "holds no graded submission" in err and "make autograde SUBMISSIONS=DIR" in err



def test_a_misnamed_session_folder_gives_one_error_row_that_says_did_you_mean(tmp_path):
    from autograder.intake import discover
    from autograder.paths import session_ids

    folder = tmp_path / "ann" / "02_makmore"
    folder.mkdir(parents=True)
    (folder / "makemore.ipynb").write_text("{}")
    (tmp_path / "ann" / SESSION).mkdir()
    subs = {(s.student, s.session): s for s in discover(tmp_path, session_ids())}
    assert set(subs) == {("ann", "02_makemore"), ("ann", SESSION)}
    assert "did you mean '02_makemore'?" in subs[("ann", "02_makemore")].fatal


@pytest.mark.parametrize("argv", [["similarity", "--submissions", ".", "--session", "02_makmore"],
                                  ["grade", "--submissions", ".", "--student", "ann",
                                   "--session", "02_makmore"]])
def test_a_wrong_session_name_is_refused_with_a_hint(argv, capsys):
    assert cli.main(argv) == 2
    assert "did you mean '02_makemore'?" in capsys.readouterr().err


def test_terminal_table_shows_every_reason_in_full():
    from autograder.results import GradedSubmission, format_table

    cap = ("required exercise(s) marked (*) not done: mlp_torch, batchnorm, mlp_bn -> score "
           "capped at 2")
    late = "late: submitted 2025-02-07 17:30:00 CET, deadline 2025-02-05 23:59:59 CET -> score capped at 1"
    row = GradedSubmission("ann", "03_backprop", "graded", score=1, reasons=[cap, late])
    text = " ".join(format_table([row]).split())
    assert cap in text and late in text


def test_feedback_shows_course_time_and_only_the_caps_that_changed_the_score():
    from autograder.feedback import summary_markdown
    from autograder.results import GradedSubmission

    late = ("late: submitted 2025-02-07 17:30:00 CET, deadline 2025-02-05 23:59:59 CET "
            "-> score capped at 1")
    starred = "required exercise(s) marked (*) not done: nn -> score capped at 2"
    blank = GradedSubmission("ann", SESSION, "graded", score=0, raw_score=0,
                             submitted_at="2025-02-07T16:30:00+00:00", reasons=[starred, late])
    text = summary_markdown(blank)
    assert "submitted 2025-02-07 17:30:00 CET" in text and "+00:00" not in text
    assert "Caps applied" not in text and "capped at" not in text
    assert "cap at 2: no effect" in text and "cap at 1: no effect" in text
    full = GradedSubmission("ann", SESSION, "graded", score=1, raw_score=4,
                            submitted_at="2025-02-07T16:30:00+00:00", reasons=[late])
    text = summary_markdown(full)
    assert "**Caps applied to your score**\n\n- late:" in text and "capped at 1" in text


def test_formgrader_sees_the_submissions_and_the_course_verdict(course):
    """What formgrader reads: every recorded submission counted and autograded, each student's
    page listing it, the unreadable one with a notebook that says why, and the 0-4 verdict
    (caps, extension) on top of each graded notebook, refreshed by export after a regrade."""
    import nbformat

    from autograder.course import course_config

    gradebook.export(course["root"], extension_policy())
    api = nbgrader_api.make_api(course["root"])
    assert api.get_assignment(SESSION)["num_submissions"] == 7
    assert api.get_autograded_students(SESSION) == {"alice", "bob", "carol", "dave", "erin",
                                                    "frank", "gina"}
    dave = next(s for s in api.get_student_submissions("dave") if s["name"] == SESSION)
    assert dave["autograded"] and dave["submitted"]
    assert course_config(course["root"]).CourseDirectory.root == str(course["root"])

    def verdict(student):
        path = course["root"] / "autograded" / student / SESSION / "micrograd.ipynb"
        return nbformat.read(path, as_version=4).cells[0].source

    assert "Course score: 1/4" in verdict("dave") and "score capped at 1" in verdict("dave")
    assert "Course score: 4/4" in verdict("gina") and "extension: deadline" in verdict("gina")
    assert "status `error`" in verdict("erin") and "not a readable notebook" in verdict("erin")
    assert "regraded by hand" in verdict("bob")


def test_export_right_after_grading_gives_the_graders_rows(graded_class, tmp_path):
    """No manual grade yet: the gradebook's rows are the grader's, column for column."""
    from autograder.results import write_csv

    root = tmp_path / "course"
    gradebook.record(graded_class["rows"], root)
    graded = write_csv(graded_class["rows"], tmp_path / "graded.csv").read_text().splitlines()
    exported = write_csv(gradebook.export(root), tmp_path / "exported.csv").read_text()
    assert exported.splitlines() == graded
