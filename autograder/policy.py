"""Read ``grading_config.py``, validate it, and apply the course policy to one submission."""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
import types
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from autograder.paths import REPO_ROOT

CONFIG_PATH = REPO_ROOT / "grading_config.py"

# name -> expected type of every value grading_config.py must define
_SCHEMA = {
    "SESSIONS": dict,
    "TIMEZONE": str,
    "EXERCISE_SEPARATOR": str,
    "MAX_SCORE": int,
    "ROUNDING": str,
    "STARRED_CAP": int,
    "LATE_CAP": int,
    "MISSING_SCORE": int,
    "MISSING_TIMESTAMP": str,
    "EXTENSIONS": dict,
    "CELL_TIMEOUT_S": int,
    "NOTEBOOK_TIMEOUT_S": int,
    "MEMORY_LIMIT_MB": int,
}
_SESSION_SCHEMA = {"title": str, "class_date": str, "release": str, "deadline": str,
                   "starred": list}
_ROUNDINGS = ("half_up", "down", "up")
# what a submission without a submission time gets: held for review, taken as on time, or late
MissingTimestampRule = Literal["review", "on_time", "late"]
_MISSING_TIMESTAMP_RULES = get_args(MissingTimestampRule)


class PolicyError(ValueError):
    """grading_config.py is missing a value, has an unknown one, or one of the wrong type."""


@dataclass(frozen=True)
class Session:
    id: str
    title: str
    class_date: dt.date
    deadline: dt.datetime  # timezone-aware
    starred: tuple[str, ...]
    release: dt.datetime  # timezone-aware: when students get the notebook


@dataclass(frozen=True)
class Policy:
    sessions: dict[str, Session]
    exercise_separator: str
    max_score: int
    rounding: str
    starred_cap: int
    late_cap: int
    missing_score: int
    missing_timestamp: MissingTimestampRule
    extensions: dict[tuple[str, str], dt.datetime]  # (student, session) -> extended deadline
    cell_timeout_s: int
    notebook_timeout_s: int
    memory_limit_mb: int

    def exercise_of(self, grade_id: str) -> str:
        """The exercise a test cell belongs to: its grade_id up to the separator."""
        return grade_id.split(self.exercise_separator, 1)[0]

    def raw_score(self, points: float, max_points: float) -> int:
        """Points mapped onto 0..max_score with the configured rounding."""
        if max_points <= 0:
            return 0
        x = self.max_score * points / max_points
        if self.rounding == "down":
            value = math.floor(x + 1e-9)
        elif self.rounding == "up":
            value = math.ceil(x - 1e-9)
        else:
            value = math.floor(x + 0.5 + 1e-9)
        return max(0, min(self.max_score, value))

    def deadline(self, session_id: str, student: str | None = None) -> dt.datetime:
        """The deadline of one student: the session's, or the extension granted to them."""
        return self.extensions.get((student, session_id), self.sessions[session_id].deadline)


@dataclass(frozen=True)
class Verdict:
    """The 0–4 score of one submission and every cap applied, with its reason.

    ``score`` is None while the submission is held for review (``held``): no submission time
    and ``MISSING_TIMESTAMP = "review"``."""

    score: int | None
    raw_score: int
    late: bool
    starred_missing: tuple[str, ...]
    reasons: tuple[str, ...] = field(default_factory=tuple)
    held: bool = False


def score_submission(
    policy: Policy,
    session_id: str,
    points: float,
    max_points: float,
    exercises_done: dict[str, bool],
    submitted_at: dt.datetime | None,
    student: str | None = None,
) -> Verdict:
    """Apply the mapping and the caps (starred missing, late) to one graded submission.

    ``student`` picks their extension, if any (``EXTENSIONS`` in grading_config.py)."""
    session = policy.sessions[session_id]
    deadline = policy.deadline(session_id, student)
    raw = policy.raw_score(points, max_points)
    score, reasons = raw, []
    missing = tuple(ex for ex in session.starred if not exercises_done.get(ex, False))
    if missing:
        reasons.append(
            f"required exercise(s) marked (*) not done: {', '.join(missing)} "
            f"-> score capped at {policy.starred_cap}"
        )
        score = min(score, policy.starred_cap)
    extended = " (extended)" if deadline != session.deadline else ""
    if submitted_at is None and policy.missing_timestamp == "review":
        reasons.append("no submission time recorded (no timestamp.txt) -> held for review: "
                       "check when it was handed in (MISSING_TIMESTAMP = \"review\")")
        return Verdict(None, raw, False, missing, tuple(reasons), held=True)
    late = is_late(policy, session_id, submitted_at, student)
    if late:
        when = "no submission time recorded" if submitted_at is None else (
            f"submitted {submitted_at.astimezone(deadline.tzinfo):%Y-%m-%d %H:%M:%S %Z}")
        reasons.append(
            f"late: {when}, deadline{extended} {deadline:%Y-%m-%d %H:%M:%S %Z} "
            f"-> score capped at {policy.late_cap}"
        )
        score = min(score, policy.late_cap)
    elif submitted_at is None:
        reasons.append("no submission time recorded: taken as on time "
                       "(MISSING_TIMESTAMP = \"on_time\")")
    elif extended:
        reasons.append(f"extension: deadline {deadline:%Y-%m-%d %H:%M:%S %Z} instead of "
                       f"{session.deadline:%Y-%m-%d %H:%M:%S %Z}, submitted in time")
    return Verdict(score, raw, late, missing, tuple(reasons))


def is_late(policy: Policy, session_id: str, submitted_at: dt.datetime | None,
            student: str | None = None) -> bool:
    """True when the submission came after the (student's) deadline, or has no time and
    ``MISSING_TIMESTAMP`` is "late"."""
    if submitted_at is None:
        return policy.missing_timestamp == "late"
    return submitted_at > policy.deadline(session_id, student)


def missing_verdict(policy: Policy) -> Verdict:
    """The verdict of a session with no submission at all."""
    return Verdict(policy.missing_score, policy.missing_score, False, (),
                   (f"no submission -> score {policy.missing_score}",))


def load_policy(path: Path | str = CONFIG_PATH) -> Policy:
    """Load and validate grading_config.py (or another file of the same shape)."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location("grading_config", path)
    if spec is None or not path.exists():
        raise PolicyError(f"{path}: grading config not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return policy_from_values(_public_values(module), source=str(path))


def _public_values(module: types.ModuleType) -> dict:
    return {k: v for k, v in vars(module).items()
            if k.isupper() and not k.startswith("_")}


def policy_from_values(values: dict, source: str = "grading_config.py") -> Policy:
    """Validate a dict of UPPER_CASE config values and build the Policy."""
    unknown = sorted(set(values) - set(_SCHEMA))
    if unknown:
        raise PolicyError(f"{source}: unknown setting(s) {', '.join(unknown)}; "
                          f"known settings are {', '.join(sorted(_SCHEMA))}")
    missing = sorted(set(_SCHEMA) - set(values))
    if missing:
        raise PolicyError(f"{source}: missing setting(s) {', '.join(missing)}")
    for name, kind in _SCHEMA.items():
        _check_type(source, name, values[name], kind)
    if values["ROUNDING"] not in _ROUNDINGS:
        raise PolicyError(f"{source}: ROUNDING must be one of {', '.join(_ROUNDINGS)}, "
                          f"got {values['ROUNDING']!r}")
    for name in ("STARRED_CAP", "LATE_CAP", "MISSING_SCORE"):
        if not 0 <= values[name] <= values["MAX_SCORE"]:
            raise PolicyError(f"{source}: {name} must lie between 0 and MAX_SCORE "
                              f"({values['MAX_SCORE']}), got {values[name]}")
    for name in ("CELL_TIMEOUT_S", "NOTEBOOK_TIMEOUT_S", "MAX_SCORE", "MEMORY_LIMIT_MB"):
        if values[name] <= 0:
            raise PolicyError(f"{source}: {name} must be positive, got {values[name]}")
    if not values["EXERCISE_SEPARATOR"]:
        raise PolicyError(f"{source}: EXERCISE_SEPARATOR must not be empty")
    try:
        tz = zoneinfo.ZoneInfo(values["TIMEZONE"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(f"{source}: TIMEZONE {values['TIMEZONE']!r} is not a known "
                          f"IANA time zone") from exc
    if values["MISSING_TIMESTAMP"] not in _MISSING_TIMESTAMP_RULES:
        raise PolicyError(f"{source}: MISSING_TIMESTAMP must be one of "
                          f"{', '.join(map(repr, _MISSING_TIMESTAMP_RULES))}, "
                          f"got {values['MISSING_TIMESTAMP']!r}")
    sessions = {sid: _session(source, sid, spec, tz) for sid, spec in values["SESSIONS"].items()}
    return Policy(
        sessions=sessions,
        exercise_separator=values["EXERCISE_SEPARATOR"],
        max_score=values["MAX_SCORE"],
        rounding=values["ROUNDING"],
        starred_cap=values["STARRED_CAP"],
        late_cap=values["LATE_CAP"],
        missing_score=values["MISSING_SCORE"],
        missing_timestamp=values["MISSING_TIMESTAMP"],
        extensions=_extensions(source, values["EXTENSIONS"], sessions, tz),
        cell_timeout_s=values["CELL_TIMEOUT_S"],
        notebook_timeout_s=values["NOTEBOOK_TIMEOUT_S"],
        memory_limit_mb=values["MEMORY_LIMIT_MB"],
    )


def _check_type(source: str, name: str, value, kind: type) -> None:
    # bool is a subclass of int: an int setting given True/False is still a mistake
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PolicyError(f"{source}: {name} must be of type {kind.__name__}, "
                          f"got {type(value).__name__} ({value!r})")


def _local_time(spec: dict, key: str, where: str) -> dt.datetime:
    """``spec[key]``, a local time in TIMEZONE written 'YYYY-MM-DD HH:MM[:SS]' (no offset)."""
    try:
        value = dt.datetime.fromisoformat(spec[key])
    except ValueError as exc:
        raise PolicyError(f"{where}: {key} {spec[key]!r} is not "
                          f"'YYYY-MM-DD HH:MM[:SS]'") from exc
    if value.tzinfo is not None:
        raise PolicyError(f"{where}: {key} must be local time in TIMEZONE, without offset")
    return value


def _session(source: str, sid: str, spec, tz: zoneinfo.ZoneInfo) -> Session:
    where = f"{source}: SESSIONS[{sid!r}]"
    if not isinstance(spec, dict):
        raise PolicyError(f"{where} must be a dict, got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(_SESSION_SCHEMA))
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                          f"known keys are {', '.join(_SESSION_SCHEMA)}")
    missing = [k for k in _SESSION_SCHEMA if k not in spec]
    if missing:
        raise PolicyError(f"{where}: missing key(s) {', '.join(missing)}")
    for key, kind in _SESSION_SCHEMA.items():
        _check_type(where, key, spec[key], kind)
    if not all(isinstance(s, str) for s in spec["starred"]):
        raise PolicyError(f"{where}: starred must be a list of exercise names (str)")
    try:
        class_date = dt.date.fromisoformat(spec["class_date"])
    except ValueError as exc:
        raise PolicyError(f"{where}: class_date {spec['class_date']!r} is not YYYY-MM-DD") from exc
    deadline, release = (_local_time(spec, key, where) for key in ("deadline", "release"))
    if release > deadline:
        raise PolicyError(f"{where}: release {spec['release']} is after the deadline")
    return Session(sid, spec["title"], class_date, deadline.replace(tzinfo=tz),
                   tuple(spec["starred"]), release.replace(tzinfo=tz))


def _extensions(source: str, spec: dict, sessions: dict[str, Session],
                tz: zoneinfo.ZoneInfo) -> dict[tuple[str, str], dt.datetime]:
    """EXTENSIONS = {student: {session: "YYYY-MM-DD HH:MM[:SS]"}}, checked entry by entry."""
    out = {}
    for student, granted in spec.items():
        where = f"{source}: EXTENSIONS[{student!r}]"
        if not isinstance(student, str) or not student:
            raise PolicyError(f"{source}: EXTENSIONS keys must be student ids (str), "
                              f"got {student!r}")
        if not isinstance(granted, dict):
            raise PolicyError(f"{where} must be a dict {{session: new deadline}}, "
                              f"got {type(granted).__name__}")
        for sid, when in granted.items():
            if sid not in sessions:
                raise PolicyError(f"{where}: unknown session {sid!r} (expected one of "
                                  f"{', '.join(sessions)})")
            if not isinstance(when, str):
                raise PolicyError(f"{where}[{sid!r}] must be a str 'YYYY-MM-DD HH:MM[:SS]', "
                                  f"got {type(when).__name__}")
            try:
                deadline = dt.datetime.fromisoformat(when)
            except ValueError as exc:
                raise PolicyError(f"{where}[{sid!r}]: {when!r} is not "
                                  f"'YYYY-MM-DD HH:MM[:SS]'") from exc
            if deadline.tzinfo is not None:
                raise PolicyError(f"{where}[{sid!r}] must be local time in TIMEZONE, "
                                  f"without offset")
            deadline = deadline.replace(tzinfo=tz)
            if deadline <= sessions[sid].deadline:
                raise PolicyError(f"{where}[{sid!r}]: {when} is not after the session's "
                                  f"deadline {sessions[sid].deadline:%Y-%m-%d %H:%M:%S}")
            out[(student, sid)] = deadline
    return out
