"""Warm kernels: a fork server that already holds torch, matplotlib and ipykernel.

A fresh grading kernel spends most of its start-up importing the same libraries. Instead, one
server process per grading process imports them once (``python -m autograder.forkserver``),
and each kernel is a fork of it that goes straight to ``autograder.sandbox.main``: the same
sandbox, the same limits, without the imports.

The grader talks to the server over an inherited socket pair only (no path a kernel could
reach). A request holds the sandbox's arguments, the environment and the working folder of one
kernel, and a socket of its own; the server forks, replies with the kernel's pid on that socket,
then with its exit code. Closing that socket kills the kernel; closing the server's socket (the
grader exited) kills every kernel and the server. Forked kernels close every file they
inherited, die with the server, and never return into it.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Any

from autograder.paths import ALWAYS_HELPERS

PRELOAD = ("torch", "torch.nn", "torch.nn.functional", "numpy", "matplotlib", "matplotlib.pyplot",
           "tqdm.auto", "ipykernel.kernelapp", "ipykernel.ipkernel",
           "torch._dynamo",  # the first optimizer imports it (seconds)
           # what every kernel imports as it starts: its debugger (debugpy, pydevd) and the rest
           "ipykernel.debugger", "IPython.extensions", "pdb", "pydoc", "http.server",
           "xmlrpc.server", "tornado.queues", "encodings.idna", "autograder.seccomp")
MAX_MESSAGE = 1 << 20


class ForkServerError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# grader side

class ForkServer:
    """A running server; ``spawn`` starts one sandboxed kernel from it."""

    def __init__(self, env: dict[str, str]):
        self.home = tempfile.mkdtemp(prefix="dcw-")  # matplotlib's caches, nothing secret
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock, self._lock = ours, threading.Lock()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "autograder.forkserver", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), cwd=self.home,
                # ipykernel reads JPY_PARENT_PID on import: as jupyter_client's launcher sets it
                env={**env, "HOME": self.home, "JPY_PARENT_PID": str(os.getpid()),
                     "PYDEVD_DISABLE_FILE_VALIDATION": "1"},  # pydevd's import-time warning
                stdin=subprocess.DEVNULL)
        ours.settimeout(120)
        try:
            ready = ours.recv(64)
        except OSError as exc:
            ready = str(exc).encode()
        if ready != b"ready":
            self.close()
            raise ForkServerError(f"the fork server did not start ({ready[:100]!r})")

    def spawn(self, sandbox_args: list[str], env: dict[str, str], cwd: str) -> ForkedKernel:
        request = json.dumps({"args": sandbox_args, "env": env, "cwd": cwd}).encode()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self._lock, theirs:
                socket.send_fds(self._sock, [request], [theirs.fileno()])
            ours.settimeout(30)
            reply = ours.recv(MAX_MESSAGE)
            pid = json.loads(reply)["pid"]
        except (OSError, ValueError, KeyError) as exc:
            ours.close()
            raise ForkServerError(f"the fork server did not start a kernel: {exc}") from exc
        return ForkedKernel(ours, pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self._sock.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)


class ForkedKernel:
    """The part of ``subprocess.Popen`` that jupyter_client's provisioner uses."""

    stdin = stdout = stderr = None

    def __init__(self, sock: socket.socket, pid: int):
        self._sock, self.pid, self.returncode = sock, pid, None

    def _read_exit(self, timeout: float | None) -> int | None:
        if self.returncode is None:
            self._sock.settimeout(timeout)
            try:
                message = self._sock.recv(MAX_MESSAGE)
            except (BlockingIOError, TimeoutError):
                return None
            except OSError:
                message = b""
            # no message: the server itself is gone, and the kernel with it
            self.returncode = json.loads(message)["exit"] if message else -signal.SIGKILL
            self._sock.close()
        return self.returncode

    def poll(self) -> int | None:
        return self._read_exit(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._read_exit(timeout)
        if code is None:
            raise subprocess.TimeoutExpired("forked kernel", timeout)
        return code

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.killpg(self.pid, signum)  # the fork leads its own session, as Popen's would
            except ProcessLookupError:  # it exited; its exit code is on the way
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """Launches the kernel from a fork server; a plain process where the server fails."""

    server = Any()  # a ForkServer

    async def launch_kernel(self, cmd: list[str], **kwargs):
        prefix = [sys.executable, "-m", "autograder.sandbox"]
        if self.server is None or cmd[:3] != prefix or not self.server.alive():
            return await super().launch_kernel(cmd, **kwargs)
        try:
            env = {**kwargs["env"], "JPY_PARENT_PID": str(os.getpid())}  # as launch_kernel sets
            self.process = self.server.spawn(cmd[3:], env, str(kwargs["cwd"]))
        except ForkServerError as exc:
            print(f"warm kernel unavailable, starting a fresh one: {exc}", file=sys.stderr)
            return await super().launch_kernel(cmd, **kwargs)
        self.pid = self.pgid = self.process.pid
        self.cwd = kwargs.get("cwd")
        return self.connection_info


_servers: dict[tuple, ForkServer] = {}
_servers_lock = threading.Lock()


def shared(env: dict[str, str]) -> ForkServer | None:
    """This process's server for kernels with ``env`` (started on first use); None if it fails."""
    key = tuple(sorted((k, v) for k, v in env.items() if k != "HOME"))
    with _servers_lock:
        server = _servers.get(key)
        if server is None or not server.alive():
            try:
                server = _servers[key] = ForkServer(env)
            except (OSError, ForkServerError) as exc:
                print(f"warm kernels unavailable, starting fresh ones: {exc}", file=sys.stderr)
                return None
        return server


def close_all() -> None:
    """Stop this process's servers (their kernels die with them)."""
    with _servers_lock:
        for server in _servers.values():
            server.close()
        _servers.clear()


# ---------------------------------------------------------------------------------------------
# server side

def preload() -> None:
    """Import what every kernel imports (never the checks: forks inherit this memory).

    Of the helpers, only those every session ships: a kernel imports the others from files
    the sandbox may hide from it (``bundle.withheld_helpers``), never from this memory.
    """
    import importlib

    for name in (*PRELOAD, *ALWAYS_HELPERS, "autograder.probe_runtime", "autograder.sandbox"):
        importlib.import_module(name)


def serve(control: socket.socket) -> None:
    """Import the libraries, say ready, then fork one kernel per request until the grader leaves."""
    preload()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    kernels: dict[int, socket.socket] = {}  # pid -> its socket to the grader
    control.sendall(b"ready")
    while True:
        for key, _ in selector.select():
            if key.fileobj is control:
                try:
                    message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 1)
                except OSError:
                    message, fds = b"", []
                if not message:  # the grader is gone: so are its kernels
                    for pid in kernels:
                        _kill(pid)
                    os._exit(0)
                if len(fds) != 1:
                    for fd in fds:
                        os.close(fd)
                    continue
                conn = socket.socket(fileno=fds[0])
                pid = os.fork()
                if pid == 0:
                    _child(json.loads(message), [control, conn, *kernels.values()],
                           [wake_r, wake_w], selector)
                kernels[pid] = conn
                selector.register(conn, selectors.EVENT_READ, pid)
                conn.sendall(json.dumps({"pid": pid}).encode())
            elif key.fileobj == wake_r:
                while os.read(wake_r, 512) == 512:
                    pass
                _reap(kernels, selector)
            else:  # the grader closed a kernel's socket: that kernel is done
                _kill(key.data)
                selector.unregister(key.fileobj)


def _reap(kernels: dict[int, socket.socket], selector) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = kernels.pop(pid, None)
        if conn is not None:
            try:
                selector.unregister(conn)
            except KeyError:
                pass
            try:
                conn.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode())
            except OSError:
                pass
            conn.close()


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _child(request: dict, sockets: list[socket.socket], fds: list[int], selector) -> None:
    """In the fork: become a fresh kernel process; never return into the server."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        selector.close()
        for sock in sockets:
            os.close(sock.detach())
        for fd in fds:
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        import numpy

        numpy.random.seed()  # as a fresh process would be

        from autograder import sandbox

        sandbox.main(request["args"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
