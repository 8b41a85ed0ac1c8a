"""Execute one notebook in a sandboxed kernel, with time and output limits.

Built on nbclient: cells run one by one under a per-cell and a per-notebook time limit; a
cell that runs past its limit, or a kernel that dies, stops the run and is recorded in words;
output beyond a cap is dropped as it arrives; the probes' observations are taken from the
message stream (with the cell that sent them) whatever the notebook does to its own outputs.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.session import Session
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets import List, Type, Unicode, default

from autograder import cgroups, forkserver, sandbox
from autograder.kernel_output import MAX_MESSAGE_BYTES
from autograder.paths import REPO_ROOT
from autograder.probe_runtime import MIME
from autograder.safe_text import without_surrogates


_FROM_POLICY = {"cell_timeout_s": "cell_timeout_s", "notebook_timeout_s": "notebook_timeout_s",
                "memory_mb": "memory_limit_mb"}  # Limits field -> grading_config.py setting


def _policy(name: str):
    """A default read from grading_config.py, where the course sets its execution limits."""
    from autograder.policy import load_policy

    return field(default_factory=lambda: getattr(load_policy(), _FROM_POLICY[name]))


@dataclass(frozen=True)
class Limits:
    cell_timeout_s: int = _policy("cell_timeout_s")
    notebook_timeout_s: int = _policy("notebook_timeout_s")
    memory_mb: int = _policy("memory_mb")
    file_size_mb: int = 64
    processes: int = 512
    output_bytes_per_cell: int = 2_000_000  # room for a few plots
    output_bytes_per_notebook: int = 8_000_000  # all cells together; the rest is dropped
    scratch_mb: int = 256  # each of the kernel's private /tmp, /dev/shm and working folder
    threads: int = 1  # BLAS/OpenMP threads of the kernel
    warm: bool = True  # fork kernels from a server that holds torch already (forkserver.py)

    @classmethod
    def of(cls, policy, **kwargs) -> Limits:
        """The limits a course policy sets, with ``kwargs`` for the rest."""
        return cls(**{name: getattr(policy, key) for name, key in _FROM_POLICY.items()}, **kwargs)


@dataclass
class Execution:
    """What happened while a notebook ran."""

    nb: NotebookNode
    observations: dict[int, list] = field(default_factory=dict)  # cell index -> raw messages
    events: list[str] = field(default_factory=list)  # timeouts, kernel death, truncation
    isolation: dict = field(default_factory=dict)  # what the sandbox applied and skipped
    flooded: bool = False  # more probe messages than a notebook can honestly send
    completed: set[int] = field(default_factory=set)  # cells whose execution reply said "ok"
    seconds: float = 0.0


EXPOSED = ("deepcourse", "data", "notebooks")  # the course folders a kernel may read


class WireSizeSession(Session):
    """A jupyter_client Session that notes the size of each message's metadata, content and
    buffers as received, in bytes (the signature and headers are the kernel's fixed overhead)."""

    def deserialize(self, msg_list, content=True, copy=True):
        msg = super().deserialize(msg_list, content=content, copy=copy)
        msg["wire_bytes"] = sum(len(part) for part in msg_list[3:])
        return msg


class CappedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets refuse any message over MAX_MESSAGE_BYTES before reading it."""

    @default("context")
    def _context_default(self):
        context = super()._context_default()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return context


class SandboxKernelManager(AsyncKernelManager):
    """Starts ``python -m autograder.sandbox`` instead of a bare ipykernel."""

    sandbox_argv = List(Unicode())
    client_factory = Type(default_value=CappedKernelClient, klass=AsyncKernelClient)

    @default("session")
    def _session_default(self):
        return WireSizeSession(parent=self)

    def format_kernel_cmd(self, extra_arguments=None):
        return [sys.executable, "-m", "autograder.sandbox", *self.sandbox_argv,
                "-f", self.connection_file]


MAX_OBSERVATIONS = 64  # probe messages kept per notebook; more is a flood, not a probe
MAX_OBSERVATION_CHARS = 24 * 2**20  # their total size, as sent


class GradingClient(NotebookClient):
    """An nbclient NotebookClient that caps output and keeps the probes' observations aside.

    The caps count every message a cell sends — streams, errors, display data with their
    metadata, updates by display id, comm messages — by its size as received; past a cap,
    messages are dropped before nbclient handles them.
    """

    def __init__(self, nb, km_factory, output_cap, notebook_cap=None, **kw):
        super().__init__(nb, on_cell_executed=self._note_reply, **kw)
        self.completed: set[int] = set()
        self._km_factory = km_factory
        self._cap = output_cap
        self._notebook_cap = notebook_cap if notebook_cap is not None else 4 * output_cap
        self._bytes: dict[int, int] = {}
        self._notebook_bytes = 0
        self.truncated: set[int] = set()
        self.observations: dict[int, list] = {}
        self._observed_chars = 0
        self.dropped_observations = 0

    def create_kernel_manager(self):
        self.km = self._km_factory()
        return self.km

    def _observe(self, cell_index: int, message) -> None:
        """Keep one probe message, unless the notebook already sent too many or too much."""
        size = len(json.dumps(message))
        count = sum(map(len, self.observations.values()))
        if count >= MAX_OBSERVATIONS or self._observed_chars + size > MAX_OBSERVATION_CHARS:
            self.dropped_observations += 1
            return
        self._observed_chars += size
        self.observations.setdefault(cell_index, []).append(message)

    def _note_reply(self, cell, cell_index, execute_reply):
        """Note the cells whose execution ended normally (a probe's message counts only there)."""
        if (execute_reply or {}).get("content", {}).get("status") == "ok":
            self.completed.add(cell_index)

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] in ("status", "execute_input"):
            return super().process_message(msg, cell, cell_index)
        content = msg.get("content") or {}
        data = content.get("data") if isinstance(content, dict) else None
        if (msg["msg_type"] in ("display_data", "execute_result") and isinstance(data, dict)
                and MIME in data):
            self._observe(cell_index, data[MIME])  # counted by its own caps
            return None
        size = msg.get("wire_bytes", 0)
        used = self._bytes.get(cell_index, 0) + size
        self._bytes[cell_index] = used
        self._notebook_bytes += size
        if used > self._cap or self._notebook_bytes > self._notebook_cap:
            if cell_index not in self.truncated:
                self.truncated.add(cell_index)
                notice = {"name": "stdout", "text": f"\n[output truncated at {self._cap} bytes]\n"}
                header = {**msg["header"], "msg_type": "stream"}
                return super().output(cell.outputs, {**msg, "header": header, "msg_type": "stream",
                                                     "content": notice}, None, cell_index)
            return None
        return super().process_message(msg, cell, cell_index)


def kernel_env(workdir: Path, threads: int) -> dict[str, str]:
    """A small, explicit environment: nothing of the grader's own leaks into the kernel."""
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TZ") if k in os.environ}
    n = str(threads)
    return {**keep, "HOME": str(workdir), "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "NBGRADER_EXECUTION": "autograde", "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n,
            "OPENBLAS_NUM_THREADS": n, **{k: os.environ[k] for k in
                                          ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}}


sweep_stale_cgroups = cgroups.sweep_stale


def sandbox_arguments(folder: Path, workdir: Path, hide: list[Path], limits: Limits,
                      cgroup_paths: list[Path]) -> list[str]:
    """The options of ``python -m autograder.sandbox`` for one kernel."""
    return ["--folder", str(folder), "--workdir", str(workdir),
            "--memory-mb", str(limits.memory_mb), "--fsize-mb", str(limits.file_size_mb),
            "--scratch-mb", str(limits.scratch_mb), "--nproc", str(limits.processes),
            *[a for p in cgroup_paths for a in ("--cgroup", str(p))],
            *[a for name in EXPOSED for a in ("--expose", str(REPO_ROOT / name))],
            *[a for p in hide for a in ("--hide", str(p))]]


def read_isolation(folder: Path) -> dict:
    """The sandbox's report, read defensively (where no sandbox ran, the kernel could write it)."""
    try:
        with open(folder / sandbox.REPORT_NAME, "rb") as f:
            report = json.loads(f.read(65536))
        return {key: [str(x)[:300] for x in report[key]][:100] for key in ("applied", "skipped")}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def run(nb: NotebookNode, folder: Path, workdir: Path, hide: list[Path], limits: Limits,
        private_cells: set[int]) -> Execution:
    """Execute ``nb`` in a sandboxed kernel whose own folder is ``folder`` (cwd ``workdir``).

    Cells whose index is in ``private_cells`` are kept out of IPython's history.
    """
    folder, workdir = folder.resolve(), workdir.resolve()
    sockets = folder / sandbox.SOCKETS_NAME
    sockets.mkdir(exist_ok=True)
    cgroup_paths = cgroups.create(f"{folder.parent.name}-{folder.name}", limits.memory_mb * 2**20,
                                  limits.processes)
    env = kernel_env(workdir, limits.threads)
    server = forkserver.shared(env) if limits.warm else None

    def make_km():
        km = SandboxKernelManager(kernel_name="python3", kernel_id=str(uuid.uuid4()))
        if server is not None:
            km.provisioner = forkserver.ForkProvisioner(
                kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km, server=server)
        km.transport = "ipc"  # unix sockets: they work from inside an empty network namespace
        km.ip = str(folder / sandbox.SOCKETS_NAME / "k")
        km.connection_file = str(folder / "connection.json")
        km.sandbox_argv = sandbox_arguments(folder, workdir, hide, limits, cgroup_paths)
        return km

    client = GradingClient(nb, make_km, limits.output_bytes_per_cell,
                           limits.output_bytes_per_notebook, kernel_name="python3",
                           timeout=limits.cell_timeout_s, allow_errors=True,
                           shutdown_kernel="immediate", startup_timeout=60, iopub_timeout=10,
                           record_timing=False)
    result = Execution(nb)
    start = time.monotonic()
    sockets_mounted = sandbox.mount_socket_folder(str(sockets))
    try:
        with client.setup_kernel(env=env, cwd=str(workdir)):
            _run_cells(client, nb, limits, private_cells, start, result)
    except DeadKernelError:
        result.events.append("the kernel died")
    except RuntimeError as exc:  # the kernel did not start
        result.events.append(f"the kernel could not start: {str(exc)[:200]}")
    finally:
        cgroups.remove(cgroup_paths)
        if sockets_mounted:
            sandbox.unmount(str(sockets))
        result.seconds = time.monotonic() - start
        without_surrogates(nb)  # outputs are the kernel's text: the notebook must stay writable
        result.observations = client.observations
        result.completed = client.completed
        if client.dropped_observations:
            result.flooded = True
        if client.truncated:
            result.events.append(f"output of {len(client.truncated)} cell(s) truncated at "
                                 f"{limits.output_bytes_per_cell} bytes a cell, "
                                 f"{limits.output_bytes_per_notebook} a notebook")
        result.isolation = read_isolation(folder)
    return result


def _run_cells(client, nb, limits, private_cells, start, result) -> None:
    number = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        number += index not in private_cells  # as the student counts: grader cells excluded
        left = limits.notebook_timeout_s - (time.monotonic() - start)
        if left < 1:
            result.events.append(f"the notebook ran past its {limits.notebook_timeout_s} s limit; "
                                 f"cells from code cell {number} on did not run")
            return
        client.timeout = max(1, int(min(limits.cell_timeout_s, left)))
        try:
            client.execute_cell(cell, index, store_history=index not in private_cells)
        except CellTimeoutError:
            result.events.append(f"code cell {number} ran past its {client.timeout} s limit and "
                                 f"was stopped; the cells after it did not run")
            return
        except DeadKernelError:
            result.events.append(f"the kernel died during code cell {number} (exit, crash or "
                                 f"memory limit); the cells after it did not run")
            return
