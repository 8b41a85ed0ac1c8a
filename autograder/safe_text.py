"""Text from a submission made safe, in one place, before it reaches any row, file or page.

Folder and file names, timestamps, grade ids, error messages and type names sent by a kernel
are all the student's text. Any of them may hold bytes that are not UTF-8, lone surrogates
(which no UTF-8 file can hold: writing one raises), NUL and control characters (which break a
CSV reader, a terminal or a page), or megabytes. ``safe`` turns such a value into printable,
single-line text of bounded length; ``safe_row`` applies it to every text of a graded row.
"""

from __future__ import annotations

import dataclasses
import re

MAX_REASON = 1000  # characters of one reason or message of a row
MAX_REASONS = 60  # reasons of one row; the rest are summed up in one line
MAX_NAME = 120  # a student, session or grade id
_SURROGATE = re.compile("[\ud800-\udfff]")


def safe(value, limit: int) -> str:
    """``value`` as printable one-line text of at most ``limit`` characters ("" if not text).

    Bytes are decoded as UTF-8 with errors replaced; surrogates (from non-UTF-8 file names or
    JSON escapes) become U+FFFD; NUL, control and other non-printable characters become spaces.
    """
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value[: 4 * limit + 4]).decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return ""
    text = value[: limit + 1]  # never walk a megabyte to keep a few hundred characters
    text = "".join(ch if ch.isprintable() else ("\ufffd" if "\ud800" <= ch <= "\udfff" else " ")
                   for ch in text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def without_surrogates(value):
    """``value`` (JSON-like: dicts, lists, strings) with every lone surrogate replaced by
    U+FFFD, in place where it can be; a notebook or output that holds one can then be written."""
    if isinstance(value, str):
        return value if value.isascii() else _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        for key in list(value):
            clean = without_surrogates(key)
            item = without_surrogates(value.pop(key) if clean != key else value[key])
            value[clean] = item
    elif isinstance(value, list):
        value[:] = [without_surrogates(v) for v in value]
    return value


def quoted(value, limit: int) -> str:
    """Student text for a reason, between quotes so that it cannot pass for the grader's."""
    return f"“{safe(value, limit)}”"


def safe_row(row):
    """``row`` (a GradedSubmission) with every text made safe and bounded, in place."""
    row.student, row.session = safe(row.student, MAX_NAME), safe(row.session, MAX_NAME)
    row.status, row.submitted_at = safe(row.status, 20), safe(row.submitted_at, 60)
    reasons = [safe(r, MAX_REASON) for r in row.reasons]
    if len(reasons) > MAX_REASONS:
        reasons = reasons[: MAX_REASONS - 1] + [f"… and {len(reasons) - MAX_REASONS + 1} "
                                                f"more notes, left out"]
    row.reasons = reasons
    row.starred_missing = tuple(safe(s, MAX_NAME) for s in row.starred_missing)
    row.cells = [dataclasses.replace(c, grade_id=safe(c.grade_id, MAX_NAME),
                                     exercise=safe(c.exercise, MAX_NAME),
                                     message=safe(c.message, MAX_REASON)) for c in row.cells]
    return row
