"""Benchmarks (``make bench``): grading speed, hostile submissions, model quality.

    python bench/bench.py speed    [--repeat 3]   stock nbgrader vs ours (1 worker, all workers)
    python bench/bench.py hostile                  the hostile corpus under stock nbgrader vs ours
    python bench/bench.py quality [--sessions S..] full in-class runs of the solution notebooks
    python bench/bench.py similarity               the similarity report of a 300-student session

Each part merges its numbers into bench/results.json and rewrites bench/RESULTS.md. Figures
compared with each other come from the same run on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
from autograder.distribute import default_workers  # noqa: E402
from autograder.paths import NOTEBOOKS_DIR, session_ids, source_notebook  # noqa: E402
from autograder.prepare import restore_test_cells  # noqa: E402

RESULTS = REPO / "bench" / "results.json"
CLASS = {"complete": 3, "partial": 2, "blank": 3}  # submissions per session and kind
# cases that would harm an unsandboxed machine: never given to stock nbgrader
UNSAFE_FOR_STOCK = {"fork_bomb", "memory_bomb", "huge_file", "huge_print", "edits_outside"}


def synthetic_class(root: Path) -> Path:
    """CLASS submissions per session, in nbgrader's layout, all on time."""
    for session in session_ids():
        n = 0
        for kind, count in CLASS.items():
            for _ in range(count):
                folder = root / f"s{n:02d}" / session
                folder.mkdir(parents=True)
                nb = fill(session, {"complete": None, "partial": 1, "blank": 0}[kind])
                nbformat.write(nb, folder / source_notebook(session).name)
                (folder / "timestamp.txt").write_text("2025-01-01 12:00:00 UTC\n")
                n += 1
    return root


def stock_course(root: Path, submissions: Path) -> Path:
    """A plain nbgrader course (default settings) holding the same submissions."""
    (root / "source").mkdir(parents=True)
    for session in session_ids():
        shutil.copytree(REPO / "solutions" / session, root / "source" / session)
    shutil.copytree(submissions, root / "submitted")
    (root / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.root = "
                                             f"{str(root)!r}\n")
    for session in session_ids():
        _nbgrader(root, "generate_assignment", session, "--force")
    return root


def _nbgrader(root: Path, *args: str, check: bool = True) -> int:
    """Run the nbgrader command line in ``root``; its exit status."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env,
                          check=check, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode


def time_stock(root: Path) -> float:
    (root / "gradebook.db").unlink(missing_ok=True)
    shutil.rmtree(root / "autograded", ignore_errors=True)
    for session in session_ids():  # a fresh gradebook with the source cells, not timed
        _nbgrader(root, "generate_assignment", session, "--force")
    start = time.perf_counter()
    for session in session_ids():
        # exits 1 when any notebook of the session raised, after grading them all
        _nbgrader(root, "autograde", session, "--force", check=False)
    return time.perf_counter() - start


def time_ours(submissions: Path, out: Path, workers: int, per_session: dict | None = None,
              warm: bool = True) -> float:
    """Seconds to grade the folder; ``per_session`` gets each session's slowest execution."""
    out.unlink(missing_ok=True)
    start = time.perf_counter()
    rows = grade_folder(submissions, out, workers=workers, echo=lambda *_: None,
                        warm_kernels=warm, salt="bench")  # one seed per submission: same CSVs
    seconds = time.perf_counter() - start
    if per_session is not None:
        for r in rows:
            per_session[r.session] = round(max(per_session.get(r.session, 0), r.seconds), 1)
    return seconds


def time_nbclient(submissions: Path) -> float:
    """Executing the same notebooks (test cells restored) with nbclient alone, one by one."""
    notebooks = []
    for path in sorted(submissions.rglob("*.ipynb")):
        session = path.parent.name
        source = nbformat.read(source_notebook(session), as_version=4)
        release = nbformat.read(NOTEBOOKS_DIR / session / path.name, as_version=4)
        nb, _ = restore_test_cells(nbformat.read(path, as_version=4), source, release)
        notebooks.append((nb, path.parent))
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    start = time.perf_counter()
    try:
        for nb, folder in notebooks:
            NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        del os.environ["NBGRADER_EXECUTION"]
    return time.perf_counter() - start


def speed(repeat: int) -> dict:
    workers = default_workers()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subs = synthetic_class(tmp / "submissions")
        count = len(list(subs.rglob("*.ipynb")))
        stock = stock_course(tmp / "stock", subs)
        times = {"stock_nbgrader": [], "ours_1_worker": [], f"ours_{workers}_workers": [],
                 "nbclient_alone": [], "ours_1_worker_fresh_kernels": []}
        slowest: dict[str, float] = {}
        for r in range(repeat):
            print(f"round {r + 1}/{repeat}", flush=True)
            times["stock_nbgrader"].append(time_stock(stock))
            times["ours_1_worker"].append(time_ours(subs, tmp / "one.csv", 1, slowest))
            times[f"ours_{workers}_workers"].append(time_ours(subs, tmp / "all.csv", workers))
            times["nbclient_alone"].append(time_nbclient(subs))
            times["ours_1_worker_fresh_kernels"].append(
                time_ours(subs, tmp / "fresh.csv", 1, warm=False))
            print({k: round(v[-1], 1) for k, v in times.items()}, flush=True)
        same = (tmp / "one.csv").read_text() == (tmp / "all.csv").read_text()
        same_fresh = (tmp / "one.csv").read_text() == (tmp / "fresh.csv").read_text()
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "submissions": count, "sessions": session_ids(), "workers": workers, "repeat": repeat,
        "seconds": {k: [round(x, 2) for x in v] for k, v in times.items()},
        "median_seconds": {k: round(v, 2) for k, v in med.items()},
        "ratios": {
            "stock_over_ours_1_worker": round(med["stock_nbgrader"] / med["ours_1_worker"], 2),
            "ours_1_over_ours_all": round(med["ours_1_worker"] / med[f"ours_{workers}_workers"], 2),
            "ours_1_over_nbclient": round(med["ours_1_worker"] / med["nbclient_alone"], 2),
            "fresh_kernels_over_warm": round(med["ours_1_worker_fresh_kernels"]
                                             / med["ours_1_worker"], 2),
        },
        "parallel_csv_identical_to_serial": same,
        "fresh_kernels_csv_identical_to_warm": same_fresh,
        "slowest_notebook_seconds_per_session": slowest,
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
        rows = {r.student: r for r in grade_folder(tmp / "subs", tmp / "ours.csv",
                                                   echo=lambda *_: None)}
        safe = tmp / "safe"
        for case in corpus:
            if case.student not in UNSAFE_FOR_STOCK:
                shutil.copytree(tmp / "subs" / case.student, safe / case.student)
        stock_root = stock_course(tmp / "stock", safe)
        stock_points, stock_seconds = _stock_points(stock_root, corpus)
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
        "cases": len(corpus),
        "cases_given_to_stock": sum(c.student not in UNSAFE_FOR_STOCK for c in corpus),
        "stock_submissions_with_a_grade": len(stock_points),
        "stock_undeserved_points": sorted(stock_undeserved),
        "ours_undeserved_points": sorted(ours_undeserved),
        "ours_held_for_review": sorted(s for s, r in rows.items() if r.score is None),
        "ours_worst_case_seconds": round(worst.seconds, 1), "ours_worst_case": worst.student,
        "stock_seconds": round(stock_seconds, 1),
    }


def _stock_points(root: Path, corpus) -> tuple[dict[str, float], float]:
    from nbgrader.api import Gradebook

    start = time.perf_counter()
    _nbgrader(root, "autograde", corpus[0].session, "--force", check=False)  # 1 if any failed
    seconds = time.perf_counter() - start
    points = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(corpus[0].session):
            points[sub.student.id] = sub.score
    return points, seconds


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
    parser.add_argument("part", choices=["speed", "hostile", "quality", "similarity", "all"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sessions", nargs="*", help="quality: only these sessions")
    args = parser.parse_args()
    for part in (["quality", "hostile", "speed", "similarity"] if args.part == "all"
                 else [args.part]):
        numbers = {"speed": lambda: speed(args.repeat), "hostile": hostile,
                   "quality": lambda: quality(args.sessions), "similarity": similarity}[part]()
        write(part, numbers)
        print(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
