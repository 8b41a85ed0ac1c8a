"""Command line: ``python -m autograder {grade,release,check-release,examples}``.

Thin on purpose: each sub-command maps its options onto one plain function.
"""

from __future__ import annotations

import argparse
import sys

from autograder.policy import PolicyError
from autograder.sandbox import UnisolatedError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade DIR/<student>/<session>/<notebook>.ipynb into a CSV")
    g.add_argument("--submissions", required=True, help="folder in nbgrader's submitted layout")
    g.add_argument("--out", default="grades.csv", help="results file (default: grades.csv)")
    g.add_argument("--workers", type=int, default=None,
                   help="submissions graded at once (default: one per core; 1: in this process)")
    g.add_argument("--feedback", default=None,
                   help="folder for one feedback file per student and session (markdown)")
    g.add_argument("--scheduler", default=None,
                   help="address of a Dask scheduler (tcp://host:8786) to grade on a cluster")
    g.add_argument("--fresh-kernels", action="store_true",
                   help="start each kernel as a new process instead of forking it from a warm "
                        "server that has torch imported (slower; for troubleshooting)")
    g.add_argument("--allow-unisolated", action="store_true",
                   help="grade even where this machine allows no sandbox (trusted submissions "
                        "only; every row then says so)")
    sub.add_parser("release", help="regenerate notebooks/ from solutions/")
    sub.add_parser("check-release", help="fail when notebooks/ is stale or leaks answers")
    e = sub.add_parser("examples", help="write the example submissions")
    e.add_argument("--out", default="build/examples/submissions")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (PolicyError, FileNotFoundError, UnisolatedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.command == "grade":
        from autograder.grade import grade_folder

        grade_folder(args.submissions, args.out, workers=args.workers,
                     scheduler=args.scheduler, feedback=args.feedback, progress=True,
                     warm_kernels=not args.fresh_kernels,
                     allow_unisolated=args.allow_unisolated)
        return 0
    if args.command == "release":
        from autograder.release import release

        for path in release():
            print(f"released {path}")
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
    raise AssertionError(args.command)
