"""Benchmarks: grading speed, hostile submissions, similarity (``make bench``), model quality
(``make bench-quality``).

    python bench/bench.py speed [--class C,P,B] [--sessions S..]
        a synthetic class (C complete, P partial, B blank per session; default 3,2,3: 56
        notebooks) graded once each way: stock nbgrader on a fair plain course (hidden tests as
        asserts in the student's kernel), stock nbgrader with the course's JudgedExecute, ours
        with feedback pages and the gradebook on 1 worker, 2 workers, and a real Dask scheduler
        with 2 workers; wall and CPU seconds, the grader's peak RSS, points compared row by row
    python bench/bench.py hostile                  the hostile corpus under stock nbgrader vs ours
    python bench/bench.py similarity               the similarity report of a 300-student session
    python bench/bench.py quality [--sessions S..] full in-class runs of the solution notebooks
    python bench/bench.py all                      hostile, speed and similarity

Each part merges its numbers into bench/results.json and rewrites bench/RESULTS.md. Figures
compared with each other come from the same run on the same machine.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.examples import fill  # noqa: E402
from autograder.grade import grade_folder  # noqa: E402
from autograder.paths import NOTEBOOKS_DIR, session_ids, source_notebook  # noqa: E402

RESULTS = REPO / "bench" / "results.json"
CLASS = {"complete": 3, "partial": 2, "blank": 3}  # submissions per session and kind
# cases that would harm an unsandboxed machine: never given to stock nbgrader
UNSAFE_FOR_STOCK = {"fork_bomb", "memory_bomb", "huge_file", "huge_print", "edits_outside"}
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}  # as ours
PR_SET_CHILD_SUBREAPER = 36
PROJECTED_CLASS = 300 * 7  # submissions a term: 300 students, 7 sessions
IN_KERNEL_ASSERT = ("from autograder.checks import run_in_process as _check\n"
                    "_verdict = _check({session!r}, {exercise!r}, globals())\n"
                    "assert _verdict.passed, _verdict.message")


def synthetic_class(root: Path, per_kind: dict | None = None,
                    sessions: list[str] | None = None) -> tuple[Path, dict[str, str]]:
    """``per_kind`` submissions per session and kind, in nbgrader's layout, all on time; and
    the kind of each (student, session)."""
    kinds = {}
    for session in sessions or session_ids():
        n = 0
        for kind, count in (per_kind or CLASS).items():
            for _ in range(count):
                folder = root / f"s{n:02d}" / session
                folder.mkdir(parents=True)
                nb = fill(session, {"complete": None, "partial": 1, "blank": 0}[kind])
                nbformat.write(nb, folder / source_notebook(session).name)
                (folder / "timestamp.txt").write_text("2025-01-01 12:00:00 UTC\n")
                kinds[f"s{n:02d}/{session}"] = kind
                n += 1
    return root, kinds


def stock_course(root: Path, submissions: Path, judged: bool,
                 sessions: list[str] | None = None) -> Path:
    """A plain nbgrader course holding the same submissions, under the course's nbgrader
    settings (release steps, stderr ignored). ``judged``: autograde with the course's
    JudgedExecute (sandboxed kernel, judges in the grader). Otherwise the *fair* stock course:
    nbgrader's own Execute, each hidden test an ordinary assert in the student's kernel
    (the same probe and judge, run there)."""
    shutil.copytree(REPO / "solutions", root / "solutions")
    if not judged:
        for path in (root / "solutions").rglob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                cell.source = re.sub(
                    r'judged\("([^"]+)", "([^"]+)"\)',
                    lambda m: IN_KERNEL_ASSERT.format(session=m[1], exercise=m[2]), cell.source)
            nbformat.write(nb, path)
    shutil.copytree(submissions, root / "submitted")
    steps = "" if judged else ("from nbgrader.converters import Autograde\n"
                               "c.Autograde.autograde_preprocessors = "
                               "Autograde.class_traits()['autograde_preprocessors'].default()\n")
    (root / "nbgrader_config.py").write_text(
        "from autograder.course import course_config\n"
        f"c = get_config()\nc.merge(course_config({str(root)!r}))\n" + steps)
    for session in sessions or session_ids():
        _nbgrader(root, "generate_assignment", session, "--force")
    return root


def _nbgrader(root: Path, *args: str, check: bool = True) -> int:
    """Run the nbgrader command line in ``root``; its exit status."""
    env = {**os.environ, **THREADS,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env,
                          check=check, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode


class Clock:
    """Wall seconds and CPU seconds of this process and of every process started meanwhile
    (CPU time is what two cores shared with others still measure). This process adopts the
    orphans of its children (a fork server outliving nbgrader): ``stop`` waits for every child,
    so that their CPU time is counted, unless told that some are meant to live on."""

    def __init__(self):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
        self.wall0, self.cpu0 = time.perf_counter(), self._cpu()

    @staticmethod
    def _cpu() -> float:
        own, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def stop(self, wait: bool = True) -> dict:
        wall = time.perf_counter() - self.wall0
        deadline = time.monotonic() + (60 if wait else 0)
        while time.monotonic() < deadline:  # adopted orphans, on their way out
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    time.sleep(0.1)
            except ChildProcessError:
                break
        return {"wall_s": round(wall, 1),
                "cpu_s": round(self._cpu() - self.cpu0, 1)}


def time_stock(root: Path, sessions: list[str]) -> tuple[dict, dict[str, float]]:
    """Time ``nbgrader autograde`` of each session; the points of each student/session."""
    from nbgrader.api import Gradebook

    clock = Clock()
    for session in sessions:
        # exits 1 when any notebook of the session raised, after grading them all
        _nbgrader(root, "autograde", session, "--force", check=False)
    timing = clock.stop()
    points = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for session in sessions:
            for sub in gb.assignment_submissions(session):
                points[f"{sub.student.id}/{session}"] = sub.score
    return timing, points


def time_ours(submissions: Path, out: Path, workers: int = 1, scheduler: str | None = None,
              ) -> tuple[dict, list[dict]]:
    """Grade the folder as ``python -m autograder grade --feedback --gradebook`` does, in a
    process of its own: its wall and CPU seconds (kernels included), its own peak RSS, and the
    rows (with each notebook's execution seconds)."""
    from autograder import gradebook
    from autograder.policy import load_policy

    args = json.dumps({"submissions": str(submissions), "out": str(out), "workers": workers,
                       "scheduler": scheduler})
    sessions = sorted({p.parent.name for p in submissions.glob("*/*/*.ipynb")})
    # the course's gradebook exists before grading, as the stock course's (not timed)
    course = out.parent / f"{out.stem}-course"
    course.mkdir(parents=True, exist_ok=True)
    gradebook.ensure_assignments(course, sessions, load_policy())
    clock = Clock()
    subprocess.run([sys.executable, __file__, "_grade", args], check=True)
    timing = clock.stop(wait=scheduler is None)  # a scheduler's processes are still running
    report = json.loads(out.with_suffix(".json").read_text())
    return {**timing, "grader_peak_rss_mb": report["peak_rss_mb"]}, report["rows"]


def _grade(args: dict) -> None:
    """The graded run of ``time_ours`` (this process is the grader measured)."""
    out = Path(args["out"])
    rows = grade_folder(args["submissions"], out, workers=args["workers"],
                        scheduler=args["scheduler"], echo=lambda *_: None, salt="bench",
                        feedback=out.parent / f"{out.stem}-feedback",
                        gradebook=out.parent / f"{out.stem}-course")
    out.with_suffix(".json").write_text(json.dumps({
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rows": [{"key": f"{r.student}/{r.session}", "points": r.points, "seconds": r.seconds}
                 for r in rows]}))


def time_on_scheduler(submissions: Path, out: Path, workers: int) -> tuple[dict, list[dict]]:
    """``time_ours`` on a real ``dask scheduler`` with ``workers`` one-thread worker processes."""
    folder = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    address = folder / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": folder}
    clock = Clock()
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                  "--scheduler-file", str(address), "--no-dashboard"], **quiet)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker",
                               "--scheduler-file", str(address), "--nthreads", "1",
                               "--nworkers", str(workers), "--no-dashboard",
                               "--memory-limit", "0"], **quiet)
    try:
        deadline = time.monotonic() + 60
        while not address.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        from dask.distributed import Client

        with Client(scheduler_file=str(address)) as client:
            client.wait_for_workers(workers, timeout=120)
            url = client.scheduler_info()["address"]
        timing, rows = time_ours(submissions, out, scheduler=url)
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
    # CPU seconds: the client, the scheduler and the workers (counted once they have exited)
    return {**timing, "cpu_s": clock.stop()["cpu_s"]}, rows


def kernel_start(count: int = 10) -> dict:
    """Warm kernels started, run one cell and shut down ``count`` times, one at a time."""
    from nbformat.v4 import new_code_cell, new_notebook

    from autograder import execute, forkserver

    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        forkserver.shared(execute.kernel_env(Path(tmp), 1))  # started once, not timed
        clock = Clock()
        for n in range(count):
            folder = Path(tmp) / f"k{n}"
            (folder / "work").mkdir(parents=True)
            run = execute.run(new_notebook(cells=[new_code_cell("1")]), folder, folder / "work",
                              [], execute.Limits(), set())
            seconds.append(run.seconds)
        forkserver.close_all()  # its kernels' CPU time is counted once it is reaped
        total = clock.stop()
    return {"kernels": count, "median_seconds_to_run_one_cell": round(statistics.median(seconds), 2),
            "cpu_s_per_kernel": round(total["cpu_s"] / count, 2)}


def speed(per_kind: dict | None = None, sessions: list[str] | None = None) -> dict:
    """Stock nbgrader (fair course, then the course's JudgedExecute) against ours with feedback
    pages and the gradebook: one worker, two, and a real Dask scheduler with two workers."""
    workers = 2
    timings, points, seconds = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subs, kinds = synthetic_class(tmp / "submissions", per_kind, sessions)
        print(f"{len(kinds)} submissions", flush=True)
        timings["kernel_start"] = kernel_start()
        for name, judged in (("stock_nbgrader_fair", False), ("stock_nbgrader_judged", True)):
            course = stock_course(tmp / name, subs, judged, sessions)
            timings[name], points[name] = time_stock(course, sessions or session_ids())
            print(name, timings[name], flush=True)
        for name, run in (("ours_1_worker", lambda out: time_ours(subs, out, 1)),
                          (f"ours_{workers}_workers", lambda out: time_ours(subs, out, workers)),
                          (f"ours_dask_scheduler_{workers}_workers",
                           lambda out: time_on_scheduler(subs, out, workers))):
            timings[name], rows = run(tmp / f"{name}.csv")
            points[name] = {r["key"]: r["points"] for r in rows}
            seconds[name] = {r["key"]: r["seconds"] for r in rows}
            print(name, timings[name], flush=True)
        csv = {name: (tmp / f"{name}.csv").read_text() for name in points if name.startswith("ours")}
    ours, parallel = points["ours_1_worker"], f"ours_{workers}_workers"
    n = len(kinds)
    per_session = {}
    for session in sorted({k.split("/")[1] for k in kinds}):
        values = [v for k, v in seconds["ours_1_worker"].items() if k.endswith("/" + session)]
        per_session[session] = round(statistics.mean(values), 2)
    ratio = lambda a, b, key: round(timings[a][key] / timings[b][key], 2)  # noqa: E731
    return {
        "submissions": n, "kinds": dict(collections.Counter(kinds.values())),
        "sessions": sorted({k.split("/")[1] for k in kinds}), "workers": workers,
        "timings": timings,
        "execution_seconds_per_submission_by_session": per_session,
        "ratios": {
            "stock_fair_over_ours_1_worker_wall": ratio("stock_nbgrader_fair", "ours_1_worker", "wall_s"),
            "stock_fair_over_ours_1_worker_cpu": ratio("stock_nbgrader_fair", "ours_1_worker", "cpu_s"),
            "stock_fair_over_ours_2_workers_wall": ratio("stock_nbgrader_fair", parallel, "wall_s"),
            "serial_over_parallel_wall": ratio("ours_1_worker", parallel, "wall_s"),
            "dask_scheduler_over_local_wall": ratio(f"ours_dask_scheduler_{workers}_workers",
                                                    parallel, "wall_s"),
        },
        "projected_minutes_300x7_with_feedback": {
            "from_wall_2_workers": round(timings[parallel]["wall_s"] / n * PROJECTED_CLASS / 60, 1),
            "from_cpu_over_2_cores": round(timings[parallel]["cpu_s"] / n * PROJECTED_CLASS
                                           / 2 / 60, 1),
        },
        "rows_whose_points_differ_from_ours_1_worker": {
            name: {f"{k} ({kinds.get(k.split('/')[0] + '/' + k.split('/')[1], '?')})":
                   [ours.get(k), pts.get(k)] for k in sorted(set(ours) | set(pts))
                   if ours.get(k) != pts.get(k)}
            for name, pts in points.items() if name != "ours_1_worker"},
        "csv_identical_to_ours_1_worker": {name: text == csv["ours_1_worker"]
                                           for name, text in csv.items()
                                           if name != "ours_1_worker"},
    }


def hostile() -> dict:
    import socket

    from tests.hostile import cases

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        canary = tmp / "canary.txt"
        canary.write_text("untouched")
        server = socket.create_server(("127.0.0.1", 0))
        corpus = [c for c in cases(tmp / "subs", canary, server.getsockname()[1])
                  if c.session in session_ids() and c.student.isidentifier()]
        for case in corpus:
            folder = tmp / "subs" / case.student / case.session
            folder.mkdir(parents=True)
            case.build(folder)
            if case.timestamp:
                (folder / "timestamp.txt").write_text(case.timestamp + "\n")
        clock = Clock()
        rows = {r.student: r for r in grade_folder(tmp / "subs", tmp / "ours.csv",
                                                   echo=lambda *_: None)}
        ours_timing = clock.stop()
        safe = tmp / "safe"
        # stock nbgrader follows links and would wait on a FIFO: those cases are ours alone
        given = [c for c in corpus if c.student not in UNSAFE_FOR_STOCK
                 and _plain_files(tmp / "subs" / c.student)]
        for case in given:
            shutil.copytree(tmp / "subs" / case.student, safe / case.student)
        sessions = sorted({c.session for c in corpus})
        stock_timing, points = time_stock(stock_course(tmp / "stock", safe, True, sessions),
                                          sessions)
        stock_points = {key.split("/")[0]: value for key, value in points.items()}
        server.close()
    ours_undeserved, stock_undeserved = [], []
    for case in corpus:
        deserved = case.expect.deserved_points
        if deserved is None:
            continue
        row = rows[case.student]
        if row.score is not None and row.points > deserved:
            ours_undeserved.append(case.student)
        if stock_points.get(case.student, 0) > deserved:
            stock_undeserved.append(case.student)
    worst = max(rows.values(), key=lambda r: r.seconds)
    return {
        "stock_configuration": "nbgrader autograde under the course's nbgrader settings "
                               "(autograder.course.course_config: JudgedExecute, sandboxed "
                               "kernels, judges in the grader)",
        "cases": len(corpus),
        "cases_given_to_stock": len(given),
        "stock_submissions_with_a_grade": len(stock_points),
        "stock_undeserved_points": sorted(stock_undeserved),
        "ours_undeserved_points": sorted(ours_undeserved),
        "ours_held_for_review": sorted(s for s, r in rows.items() if r.score is None),
        "ours_worst_case_seconds": round(worst.seconds, 1), "ours_worst_case": worst.student,
        "ours": ours_timing, "stock": stock_timing,
    }


def _plain_files(folder: Path) -> bool:
    """Whether everything under ``folder`` is a plain folder or a regular file with one name."""
    return all(not p.is_symlink() and (p.is_dir() or (p.is_file() and p.stat().st_nlink == 1))
               for p in folder.rglob("*"))


def quality(sessions: list[str] | None = None) -> dict:
    """Solution notebooks run in full (in-class) mode: their numbers and their CPU time."""
    out = {}
    for session in sessions or session_ids():
        metrics = Path(tempfile.mkstemp(suffix=".json")[1])
        metrics.unlink()
        nb = nbformat.read(source_notebook(session), as_version=4)
        env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "DEEPCOURSE_FAST")}
        # one BLAS/OpenMP thread: CPU time then means work done, not threads spinning on a
        # shared machine (with two threads PyTorch used up to 25 times more CPU per step)
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        NotebookClient(nb, timeout=1200, kernel_name="python3",
                       resources={"metadata": {"path": str(source_notebook(session).parent)}},
                       ).execute(env={**env, "DEEPCOURSE_METRICS": str(metrics)})
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out[session] = {
            "wall_seconds": round(time.perf_counter() - start, 1),
            "cpu_seconds": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
            **(json.loads(metrics.read_text()) if metrics.exists() else {}),
        }
        print(session, out[session], flush=True)
    return out


def similarity_class(root: Path, students: int, copies: int, seed: int = 0) -> Path:
    """``students`` session-1 submissions: the reference answers, each block kept or grown with
    lines of the student's own, and ``copies`` of them handed in again under new names."""
    import random
    import re

    rng = random.Random(seed)
    session = "01_micrograd"
    solved = {c.metadata["nbgrader"]["grade_id"]: c.source
              for c in nbformat.read(source_notebook(session), as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("solution")}
    released = NOTEBOOKS_DIR / session / source_notebook(session).name

    def own_line(indent: str) -> str:
        ops = ["+", "-", "*", "/", "**", "//", "%"]
        terms = [rng.choice(["self.data", "len(xs)", "k", "x", "h", str(rng.randint(0, 99)),
                             "math.exp(1)", "abs(v)", "n[0]", "min(a, b)"])
                 for _ in range(rng.randint(2, 5))]
        expr = terms[0] + "".join(f" {rng.choice(ops)} {t}" for t in terms[1:])
        return f"{indent}{rng.choice(['tmp', 'check', 'z'])} = {expr}"

    def answer(source: str) -> str:
        def block(match):
            body = match.group(2)
            if rng.random() < 0.5:
                lines = body.splitlines()
                for _ in range(rng.randint(2, 6)):
                    lines.insert(rng.randint(0, len(lines)), own_line(match.group(1)))
                body = "\n".join(lines) + "\n"
            return body
        return re.sub(r"(?ms)^( *)### BEGIN SOLUTION\n(.*?)^ *### END SOLUTION\n?", block, source)

    notebooks = []
    for n in range(students):
        nb = nbformat.read(released, as_version=4)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in solved:
                cell.source = answer(solved[grade_id])
        if n >= students - copies:  # a copy of an earlier student, names changed
            nb = nbformat.reads(re.sub(r"\b(tmp|check|z)\b", "mine",
                                       nbformat.writes(notebooks[n - students + copies])),
                                as_version=4)
        notebooks.append(nb)
        folder = root / f"s{n:03d}" / session
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / released.name)
    return root


def similarity(students: int = 300, copies: int = 10) -> dict:
    """Time the similarity report of one session of ``students`` (pairs: students choose 2)."""
    import csv

    from autograder.similarity import similarity_report

    with tempfile.TemporaryDirectory() as tmp:
        subs = similarity_class(Path(tmp) / "submitted", students, copies)
        start, cpu = time.perf_counter(), time.process_time()
        similarity_report(subs, Path(tmp) / "out")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        with open(Path(tmp) / "out" / "01_micrograd.csv", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    planted = {(f"s{n - students + copies:03d}", f"s{n:03d}")
               for n in range(students - copies, students)}
    top = {(r["student_a"], r["student_b"]) for r in rows[:copies]}
    return {"students": students, "pairs": len(rows), "wall_seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1), "planted_copies_in_top": f"{len(top & planted)}/{copies}",
            "best_other_pair_score": float(rows[copies]["score"]),
            "weakest_planted_copy_score": min(float(r["score"]) for r in rows
                                              if (r["student_a"], r["student_b"]) in planted)}


def write(part: str, numbers: dict) -> None:
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    kept = results.get(part, {}) if part == "quality" else {}  # sessions not re-run this time
    results[part] = {**kept, "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                        f"Python {platform.python_version()}",
                     "date": time.strftime("%Y-%m-%d"), **numbers}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Benchmark results", "", "Written by `make bench` (bench/bench.py); numbers are "
             "from one machine and one run of each part. What they mean, and the conditions of "
             "the runs: bench/NOTES.md.", ""]
    for name, body in results.items():
        lines += [f"## {name}", "", "```json", json.dumps(body, indent=2), "```", ""]
    (REPO / "bench" / "RESULTS.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["speed", "hostile", "quality", "similarity", "all",
                                         "_grade"])
    parser.add_argument("args", nargs="?", help=argparse.SUPPRESS)  # _grade's, in JSON
    parser.add_argument("--class", dest="per_kind", default=None, metavar="C,P,B",
                        help="speed: complete, partial and blank submissions per session "
                             f"(default: {','.join(map(str, CLASS.values()))})")
    parser.add_argument("--sessions", nargs="*", help="speed, quality: only these sessions")
    args = parser.parse_args()
    if args.part == "_grade":
        return _grade(json.loads(args.args))
    per_kind = (dict(zip(CLASS, map(int, args.per_kind.split(","))))
                if args.per_kind else None)
    for part in (["hostile", "speed", "similarity"] if args.part == "all" else [args.part]):
        numbers = {"speed": lambda: speed(per_kind, args.sessions), "hostile": hostile,
                   "quality": lambda: quality(args.sessions), "similarity": similarity}[part]()
        write(part, numbers)
        print(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
