"""A thin wrapper around nbgrader's Python API, with the course configuration."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI

from autograder.course import course_config


@contextlib.contextmanager
def _bin_on_path():
    """nbgrader creates its gradebook by running `alembic`: make this environment's bin visible."""
    bindir = str(Path(sys.executable).parent)
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = bindir + os.pathsep + old
    try:
        yield
    finally:
        os.environ["PATH"] = old


def make_api(root: Path, extra=None) -> NbGraderAPI:
    """An NbGraderAPI for a course directory rooted at ``root`` (gradebook inside it)."""
    config = course_config(root=root, db_url=f"sqlite:///{Path(root) / 'gradebook.db'}")
    if extra is not None:
        config.merge(extra)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    return NbGraderAPI(config=config)


def run(api: NbGraderAPI, step: str, *args, **kwargs) -> dict:
    """Call ``api.<step>(...)`` with alembic on PATH; return nbgrader's result dict."""
    with _bin_on_path():
        return getattr(api, step)(*args, **kwargs)


@contextlib.contextmanager
def open_gradebook(db_url: str):
    """nbgrader's Gradebook at ``db_url`` (created on first use, with alembic on PATH)."""
    from nbgrader.api import Gradebook

    with _bin_on_path(), Gradebook(db_url) as gb:
        yield gb
