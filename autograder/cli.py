"""Command line: ``python -m autograder <command>`` (grade, export, feedback, report, ...).

Thin on purpose: each sub-command maps its options onto one plain function.
"""

from __future__ import annotations

import argparse
import sys

from autograder.paths import check_session
from autograder.policy import PolicyError
from autograder.sandbox import UnisolatedError


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (PolicyError, FileNotFoundError, ValueError, UnisolatedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """Every sub-command and its options."""
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade DIR/<student>/<session>/<notebook>.ipynb into a CSV")
    g.add_argument("--submissions", required=True, help="folder in nbgrader's submitted layout")
    g.add_argument("--out", default="grades.csv", help="results file (default: grades.csv)")
    g.add_argument("--workers", type=int, default=None,
                   help="submissions graded at once (default: one per core; 1: in this process)")
    g.add_argument("--feedback", default=None,
                   help="folder for one feedback page per student and session (HTML and "
                        "markdown)")
    g.add_argument("--scheduler", default=None,
                   help="address of a Dask scheduler (tcp://host:8786) to grade on a cluster")
    g.add_argument("--fresh-kernels", action="store_true",
                   help="start each kernel as a new process instead of forking it from a warm "
                        "server that has torch imported (slower; for troubleshooting)")
    g.add_argument("--allow-unisolated", action="store_true",
                   help="grade even where this machine allows no sandbox (trusted submissions "
                        "only; every row then says so)")
    g.add_argument("--student", default=None,
                   help="with --session: regrade this one row in place in --out")
    g.add_argument("--session", default=None, help="with --student: the session to regrade")
    g.add_argument("--gradebook", default=None, metavar="DIR",
                   help="course folder holding nbgrader's gradebook.db and autograded/ "
                        "(default: the course repository)")
    x = sub.add_parser("export", help="0-4 scores recomputed from nbgrader's gradebook "
                                      "(manual regrades included) into a long and a wide CSV")
    x.add_argument("--gradebook", default=None, metavar="DIR",
                   help="course folder holding gradebook.db (default: the course repository)")
    x.add_argument("--out", default="grades.csv", help="long results file (default: grades.csv);"
                   " the wide one goes beside it as <name>-wide.csv")
    f = sub.add_parser("feedback", help="one HTML feedback page per submission from nbgrader's "
                                        "gradebook (manual regrades included)")
    f.add_argument("--gradebook", default=None, metavar="DIR",
                   help="course folder holding gradebook.db and autograded/ "
                        "(default: the course repository)")
    f.add_argument("--out", default="feedback", help="folder of the pages (default: feedback)")
    r = sub.add_parser("report", help="the class report (HTML page and its data in JSON) from "
                                      "nbgrader's gradebook")
    r.add_argument("--gradebook", default=None, metavar="DIR",
                   help="course folder holding gradebook.db (default: the course repository)")
    r.add_argument("--out", default="build/report", help="folder (default: build/report)")
    sub.add_parser("release", help="regenerate notebooks/ from solutions/")
    b = sub.add_parser("student-bundle", help="the folder and zip published to students")
    b.add_argument("--out", default="build/student-bundle",
                   help="folder (default: build/student-bundle)")
    b.add_argument("--session", action="append", default=None,
                   help="ship this session (repeatable; default: every session released by now)")
    sub.add_parser("check-release", help="fail when notebooks/ is stale or leaks answers")
    e = sub.add_parser("examples", help="write the example submissions")
    e.add_argument("--out", default="build/examples/submissions")
    s = sub.add_parser("similarity", help="per session, an HTML report and a CSV of the pairs "
                                          "of students whose answers look alike")
    s.add_argument("--submissions", required=True, help="folder in nbgrader's submitted layout")
    s.add_argument("--out", default="similarity", help="folder for the reports (default: "
                                                        "similarity)")
    s.add_argument("--session", action="append", default=None,
                   help="only this session (repeatable; default: every session submitted)")
    return parser


def _run(args) -> int:
    if args.command == "grade":
        from autograder.grade import grade_folder

        from autograder import gradebook
        from autograder.lms import wide_path, write_wide_csv

        if bool(args.student) != bool(args.session):
            raise ValueError("--student and --session go together (regrade one row)")
        if args.session:
            check_session(args.session)
        if args.student:
            from autograder.regrade import regrade_one, rows_of

            row, table = regrade_one(args.submissions, args.out, args.student, args.session,
                                     allow_unisolated=args.allow_unisolated)
            write_wide_csv(rows_of(table), wide_path(args.out))
            gradebook.record([row], _root(args.gradebook))
            if args.feedback:
                from autograder.feedback import write_pages
                from autograder.results import write_feedback

                write_feedback([row], args.feedback)
                write_pages([row], args.feedback)
            return 0
        rows = grade_folder(args.submissions, args.out, workers=args.workers,
                            scheduler=args.scheduler, feedback=args.feedback, progress=True,
                            warm_kernels=not args.fresh_kernels,
                            allow_unisolated=args.allow_unisolated,
                            gradebook=_root(args.gradebook))
        print(f"wide CSV for the LMS: {write_wide_csv(rows, wide_path(args.out))}")
        print(f"nbgrader gradebook: {_root(args.gradebook) / 'gradebook.db'}")
        if args.feedback:
            print(f"feedback pages in {args.feedback}")
        return 0
    if args.command == "report":
        from autograder import gradebook
        from autograder.report import write_report

        rows = gradebook.export(_read_root(args.gradebook))
        print(f"class report: {write_report(rows, args.out)}")
        return 0
    if args.command == "feedback":
        from autograder import gradebook
        from autograder.feedback import write_pages

        root = _read_root(args.gradebook)
        rows = gradebook.export(root)
        pages = write_pages(rows, args.out, lambda row: gradebook.read_autograded(row, root))
        print(f"{len(pages)} feedback page(s) written to {args.out}")
        return 0
    if args.command == "export":
        from autograder import gradebook
        from autograder.lms import wide_path, write_wide_csv
        from autograder.results import format_table, write_csv

        rows = gradebook.export(_read_root(args.gradebook))
        print(format_table(rows))
        print(f"\n{len(rows)} row(s) written to {write_csv(rows, args.out)} and "
              f"{write_wide_csv(rows, wide_path(args.out))}")
        return 0
    if args.command == "release":
        from autograder.release import release

        for path in release():
            print(f"released {path}")
        return 0
    if args.command == "student-bundle":
        from autograder.bundle import BundleError, build_bundle

        try:
            folder, archive = build_bundle(args.out, sessions=args.session)
        except BundleError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"student bundle: {folder} and {archive}")
        return 0
    if args.command == "check-release":
        from autograder.release import check_release

        problems = check_release()
        for p in problems:
            print(p, file=sys.stderr)
        print("notebooks/ is up to date and clean" if not problems else
              f"{len(problems)} problem(s) in notebooks/")
        return 1 if problems else 0
    if args.command == "examples":
        from autograder.examples import write_examples

        print(f"example submissions written to {write_examples(args.out)}")
        return 0
    if args.command == "similarity":
        from autograder.similarity import similarity_report

        for session in args.session or []:
            check_session(session)

        written = similarity_report(args.submissions, args.out, sessions=args.session)
        for path in written:
            print(f"wrote {path}")
        if not written:
            print("no session has submissions to compare")
        return 0
    raise AssertionError(args.command)


def _root(folder: str | None):
    from pathlib import Path

    from autograder.paths import REPO_ROOT

    return Path(folder) if folder else REPO_ROOT


def _read_root(folder: str | None):
    """The course folder whose gradebook a command reads: said aloud, refused when missing or
    empty."""
    from autograder import gradebook

    root = _root(folder)
    print(f"reading the gradebook {gradebook.existing(root)}")
    return root
