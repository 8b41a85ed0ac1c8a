"""The class report: how the class did, on one self-contained HTML page plus its data in JSON.

First the rows an instructor must act on (in error or held for review) with their reasons;
then the score distribution per session, the pass rate of every exercise (one chart per
session), how many rows were capped and why, and submission times against the deadline. Plots are matplotlib
PNGs embedded in the page; ``report.json`` holds every number they show.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from autograder.policy import Policy, load_policy  # noqa: E402
from autograder.results import GradedSubmission, write_text_atomic  # noqa: E402


def summarise(rows: list[GradedSubmission], policy: Policy) -> dict:
    """Every number of the report, JSON-ready."""
    sessions = sorted({r.session for r in rows if r.session in policy.sessions})
    data = {"sessions": {}, "caps": {}, "submissions": [], "held": []}
    for sid in sessions:
        mine = [r for r in rows if r.session == sid]
        counts = {str(s): sum(r.score == s and r.status != "error" for r in mine)
                  for s in range(policy.max_score + 1)}
        exercises: dict[str, list[bool]] = {}
        for r in mine:
            if r.status in ("graded", "review") and r.cells:
                done: dict[str, bool] = {}
                for c in r.cells:
                    done[c.exercise] = done.get(c.exercise, True) and c.passed
                for ex, ok in done.items():
                    exercises.setdefault(ex, []).append(ok)
        data["sessions"][sid] = {
            "title": policy.sessions[sid].title,
            "rows": len(mine),
            "scores": counts,
            "held": sum(r.score is None and r.status != "error" for r in mine),
            "errors": sum(r.status == "error" for r in mine),
            "missing": sum(r.status == "missing" for r in mine),
            "mean_score": _mean([r.score for r in mine
                                 if r.score is not None and r.status != "error"]),
            "exercise_pass_rate": {ex: round(sum(v) / len(v), 3) for ex, v in exercises.items()},
            "starred": list(policy.sessions[sid].starred),
        }
        data["caps"][sid] = {
            "late": sum(r.late for r in mine),
            "starred_missing": sum(bool(r.starred_missing) for r in mine),
            "no_timestamp": sum(r.status != "missing" and not r.submitted_at for r in mine),
            "starred_exercises_missed": _count(ex for r in mine for ex in r.starred_missing),
        }
        for r in mine:
            if r.submitted_at:
                when = dt.datetime.fromisoformat(r.submitted_at)
                hours = (when - policy.deadline(sid, r.student)).total_seconds() / 3600
                data["submissions"].append({"student": r.student, "session": sid,
                                            "hours_after_deadline": round(hours, 2),
                                            "late": r.late})
    data["held"] = [{"student": r.student, "session": r.session, "status": r.status,
                     "reasons": r.reasons} for r in sorted(rows, key=_attention)
                    if r.status in ("error", "review") or r.score is None]
    return data


def render(data: dict) -> str:
    """The HTML page (plots embedded as base64 PNGs)."""
    esc = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>Class report</title><style>{_CSS}</style></head><body>",
             f"<h1>Class report</h1><p>{sum(s['rows'] for s in data['sessions'].values())} "
             f"row(s), {len(data['sessions'])} session(s), "
             f"{len(data['held'])} in error or held for review.</p>"]
    held = "".join(f"<tr><td>{esc(h['student'])}</td><td>{esc(h['session'])}</td>"
                   f"<td>{esc(h['status'])}</td><td>{esc('; '.join(h['reasons']))}</td></tr>"
                   for h in data["held"])
    parts.append("<h2>To look at: in error or held for review</h2>" + (
        f"<table><tr><th>student</th><th>session</th><th>status</th><th>why</th></tr>{held}"
        "</table>" if held else "<p>None.</p>"))
    parts.append("<h2>Scores per session</h2><p>Rows in error are not counted as scores."
                 "</p>" + _img(_scores_plot(data)))
    rows = "".join(
        f"<tr><td>{esc(sid)}</td><td>{s['rows']}</td><td>{s['mean_score']}</td>"
        + "".join(f"<td>{n}</td>" for n in s["scores"].values())
        + f"<td>{s['held']}</td><td>{s['errors']}</td><td>{s['missing']}</td></tr>"
        for sid, s in data["sessions"].items())
    head = "".join(f"<th>{k}</th>" for k in next(iter(data["sessions"].values()))["scores"]) \
        if data["sessions"] else ""
    parts.append(f"<table><tr><th>session</th><th>rows</th><th>mean</th>{head}<th>held</th>"
                 f"<th>error</th><th>no submission</th></tr>{rows}</table>")
    parts.append("<h2>Pass rate of every exercise</h2><p>Lowest first within each session: "
                 "where the class struggles. (*) marks a required exercise.</p>"
                 + "".join(f"<h3>{esc(sid)}</h3>" + _img(_exercise_plot(sid, s))
                           for sid, s in data["sessions"].items()))
    parts.append("<h2>Caps</h2>" + _img(_caps_plot(data)))
    caps = "".join(f"<tr><td>{esc(sid)}</td><td>{c['late']}</td><td>{c['starred_missing']}</td>"
                   f"<td>{c['no_timestamp']}</td><td>{esc(_fmt(c['starred_exercises_missed']))}"
                   f"</td></tr>" for sid, c in data["caps"].items())
    parts.append("<table><tr><th>session</th><th>late (capped)</th><th>required exercise "
                 "missing (capped)</th><th>no submission time</th><th>required exercises "
                 f"missed</th></tr>{caps}</table>")
    parts.append("<h2>Submission times against the deadline</h2>"
                 + _img(_times_plot(data)))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(rows: list[GradedSubmission], folder: Path | str,
                 policy: Policy | None = None) -> Path:
    """``folder/report.html`` and ``folder/report.json``; returns the page's path."""
    data = summarise(rows, policy or load_policy())
    folder = Path(folder)
    write_text_atomic(folder / "report.json", json.dumps(data, indent=1, ensure_ascii=False))
    return write_text_atomic(folder / "report.html", render(data))


def _attention(row: GradedSubmission) -> tuple:
    """Errors first, then rows held for review, each by student."""
    return ({"error": 0, "review": 1}.get(row.status, 2), row.student, row.session)


def _scores_plot(data):
    sessions = list(data["sessions"])
    fig, ax = plt.subplots(figsize=(9, 3.2))
    scores = list(next(iter(data["sessions"].values()))["scores"]) if sessions else []
    width = 0.8 / max(1, len(sessions))
    for i, sid in enumerate(sessions):
        s = data["sessions"][sid]
        xs = [k + i * width for k in range(len(scores) + 1)]
        ax.bar(xs, [s["scores"][k] for k in scores] + [s["held"]], width, label=sid)
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(scores) + 1)], scores + ["held"])
    ax.set_xlabel("score")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    return fig


def _exercise_plot(sid: str, session: dict):
    labels, rates = [], []
    for ex, rate in sorted(session["exercise_pass_rate"].items(), key=lambda kv: kv[1]):
        labels.append(f"{ex}{' (*)' if ex in session['starred'] else ''}")
        rates.append(rate)
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(labels) + 1))
    colors = ["#c0392b" if r < 0.5 else "#e67e22" if r < 0.8 else "#27ae60" for r in rates]
    ax.barh(range(len(labels)), [100 * r for r in rates], color=colors)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("students who passed every test of the exercise (%)")
    return fig


def _caps_plot(data):
    sessions = list(data["caps"])
    fig, ax = plt.subplots(figsize=(9, 2.8))
    kinds = [("late", "late"), ("starred_missing", "required exercise missing"),
             ("no_timestamp", "no submission time")]
    width = 0.8 / len(kinds)
    for i, (key, label) in enumerate(kinds):
        ax.bar([k + i * width for k in range(len(sessions))],
               [data["caps"][s][key] for s in sessions], width, label=label)
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(sessions))], sessions)
    ax.set_ylabel("rows")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    return fig


def _times_plot(data):
    sessions = list(data["sessions"])
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(sessions) + 1.2))
    for i, sid in enumerate(sessions):
        subs = [s for s in data["submissions"] if s["session"] == sid]
        ax.scatter([s["hours_after_deadline"] for s in subs], [i] * len(subs),
                   c=["#c0392b" if s["late"] else "#2c3e50" for s in subs], alpha=0.7)
    ax.axvline(0, color="#c0392b", linestyle="--", label="deadline")
    ax.set_yticks(range(len(sessions)), sessions)
    ax.set_ylim(-0.5, len(sessions) - 0.5)
    ax.set_xlabel("hours after the deadline (negative: before; red: late)")
    ax.legend(fontsize=8)
    return fig


def _img(fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return f"<img alt='plot' src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'>"


def _mean(values):
    return round(sum(values) / len(values), 2) if values else None


def _count(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items()) or "—"


_CSS = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;font-size:14px}img{max-width:100%}")
