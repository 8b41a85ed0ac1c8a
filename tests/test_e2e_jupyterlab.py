"""The student's JupyterLab for real: a released notebook, answered, runs in headless Chromium.

Builds the student bundle, installs its student environment in a fresh virtual environment
(as its README says; minutes), starts that environment's ``jupyter lab`` on 127.0.0.1 with a
token, in the bundle's session-2 folder holding the notebook with its answers filled in, opens
it with Playwright driving Debian's ``chromium``, checks that none of nbgrader's instructor
tools shows (the "Nbgrader" menu, "Create Assignment", "Validate"), runs its first cells with
Shift+Enter, and checks that no error output appears and that the bigram-count plot renders.
The screenshot is kept in ``build/e2e/``. Skipped, with the reason, when chromium or the
playwright package is missing.
"""

import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request

import nbformat
import pytest

from autograder.bundle import build_bundle
from autograder.examples import fill
from autograder.paths import REPO_ROOT, source_notebook
from tests.test_bundle import AFTER_ALL, student_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SESSION = "02_makemore"
ARTEFACTS = REPO_ROOT / "build" / "e2e"
INSTRUCTOR_TOOLS = ("Nbgrader", "Create Assignment", "Validate", "Formgrader")

pytestmark = pytest.mark.e2e


def _skip_reason():
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements.txt)"
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cells_to_plot(nb):
    """How many cells to run: up to and including the first code cell that shows a plot."""
    return next(i for i, cell in enumerate(nb.cells)
                if cell.cell_type == "code" and "plt.show()" in cell.source) + 1


@pytest.fixture
def jupyter_lab(tmp_path):
    reason = _skip_reason()
    if reason:
        pytest.skip(f"end-to-end JupyterLab test skipped: {reason}")
    folder, _ = build_bundle(tmp_path / "out", now=AFTER_ALL)
    env, _ = student_env(folder, tmp_path / "venv")  # MPLBACKEND unset: the kernel draws inline
    nb = fill(SESSION, None)
    name = source_notebook(SESSION).name
    root = folder / "notebooks" / SESSION
    nbformat.write(nb, root / name)
    port, token = _free_port(), secrets.token_hex(16)
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path / ".jupyter"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / ".runtime"))
    log = open(tmp_path / "jupyter.log", "w")
    server = subprocess.Popen(
        [str(tmp_path / "venv" / "bin" / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--allow-root", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("jupyter lab did not start:\n" +
                                (tmp_path / "jupyter.log").read_text()[-3000:])
                time.sleep(0.5)
        yield {"url": f"{base}/lab/tree/{name}?token={token}", "nb": nb, "log": tmp_path / "jupyter.log"}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_released_notebook_runs_in_jupyterlab_and_draws_a_plot(jupyter_lab):
    from playwright.sync_api import sync_playwright

    n_cells = _cells_to_plot(jupyter_lab["nb"])
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / f"{SESSION}.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(jupyter_lab["url"], timeout=120_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
            shown = [tool for tool in INSTRUCTOR_TOOLS
                     if page.get_by_text(tool, exact=True).count()]
            # the kernel is ready when its status says idle
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                                   "[data-status='idle']", timeout=120_000, state="attached")
            # JupyterLab may replace the first kernel it starts: let it settle, wait again
            page.wait_for_timeout(5000)
            page.wait_for_selector("[data-status='idle']", timeout=120_000, state="attached")
            page.click(".jp-Notebook .jp-Cell >> nth=0")
            page.keyboard.press("Escape")  # command mode: Shift+Enter runs and moves on
            for _ in range(n_cells):
                page.keyboard.press("Shift+Enter")
                page.wait_for_timeout(150)
            try:
                page.locator(".jp-Notebook .jp-OutputArea-output img").first.wait_for(
                    timeout=120_000, state="attached")
            except Exception:
                page.screenshot(path=str(ARTEFACTS / f"{SESSION}-failed.png"), full_page=True)
                raise
            page.wait_for_selector("[data-status='idle']", timeout=180_000, state="attached")
            page.wait_for_timeout(500)
            page.locator(".jp-Notebook .jp-OutputArea-output img").first.scroll_into_view_if_needed()
            page.screenshot(path=str(shot), full_page=False)
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                                  ", .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
            error_texts = [errors.nth(i).inner_text()[:500] for i in range(errors.count())]
            prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()
        finally:
            browser.close()
    assert "File" in menus and "Kernel" in menus, menus
    assert not shown and "Nbgrader" not in menus, (shown, menus)
    assert not [t for t in error_texts if "Traceback" in t or "Error" in t], error_texts
    # each run numbers its cell: the highest number is how many cells ran
    counts = [int(m) for m in re.findall(r"\[(\d+)\]", " ".join(prompts))]
    code_cells = sum(c.cell_type == "code" for c in jupyter_lab["nb"].cells[:n_cells])
    assert counts and max(counts) >= code_cells, (prompts, code_cells)
    assert shot.stat().st_size > 10_000
    shutil.copyfile(jupyter_lab["log"], ARTEFACTS / "jupyter.log")
