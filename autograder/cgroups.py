"""One memory and process limit over a kernel's whole process tree (grader side).

As root, the grader makes a cgroup per kernel (cgroup v2, or the v1 ``memory`` and ``pids``
hierarchies) and the sandbox joins it before it drops its privileges; every process the kernel
starts is then counted in the same limit, which the kernel cannot raise (it runs as another
user and sees no cgroup file system). Without root there is none: the per-process limits of
``autograder/sandbox.py`` remain.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PREFIX = "deepcourse-"


def _v2() -> bool:
    return (ROOT / "cgroup.controllers").exists()


def _bases() -> list[Path]:
    return [ROOT] if _v2() else [ROOT / "memory", ROOT / "pids"]


def create(name: str, memory_bytes: int, processes: int) -> list[Path]:
    """The cgroup folders the kernel must join; [] where they cannot be made (not root)."""
    if os.geteuid() != 0:
        return []
    if _v2():
        _write(ROOT / "cgroup.subtree_control", "+memory +pids", must=False)
        settings = [(ROOT / (PREFIX + name), {"memory.max": memory_bytes, "memory.swap.max": 0,
                                              "pids.max": processes})]
    else:
        settings = [(ROOT / "memory" / (PREFIX + name), {"memory.limit_in_bytes": memory_bytes,
                                                         "memory.memsw.limit_in_bytes": memory_bytes}),
                    (ROOT / "pids" / (PREFIX + name), {"pids.max": processes})]
    made: list[Path] = []
    try:
        for path, values in settings:
            path.mkdir()
            made.append(path)
            for key, value in values.items():  # memsw and swap.max exist only with swap accounting
                _write(path / key, str(value), must=not key.startswith(("memory.memsw", "memory.swap")))
    except OSError:
        remove(made)
        return []
    return made


def _write(path: Path, text: str, must: bool) -> None:
    try:
        path.write_text(text)
    except OSError:
        if must:
            raise


def remove(paths: list[Path]) -> None:
    """Kill whatever is left in the cgroups, then remove them."""
    for path in paths:
        for _ in range(50):
            try:
                for pid in (path / "cgroup.procs").read_text().split():
                    os.kill(int(pid), signal.SIGKILL)
                path.rmdir()
                break
            except ProcessLookupError:
                continue
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)


def sweep_stale(min_age_s: float = 600) -> None:
    """Remove the empty cgroups that a killed grading run left behind."""
    for base in _bases():
        for path in base.glob(PREFIX + "*") if base.is_dir() else []:
            try:
                idle = not (path / "cgroup.procs").read_text().strip()
                if idle and time.time() - path.stat().st_mtime > min_age_s:
                    path.rmdir()
            except OSError:
                continue
