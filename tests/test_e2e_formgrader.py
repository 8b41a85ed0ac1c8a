"""formgrader for real, on a graded class, in headless Chromium.

The class of ``graded_class`` (session 1's examples: full, partial, blank, late, unreadable,
no submission time) is recorded into a course folder outside the repository, as ``make demo``
does; ``jupyter server`` with nbgrader's formgrader runs there, with the configuration the
recording left. The test opens Manage Assignments (six submissions, not 0), the late
student's submission (the course's 0-4 verdict and its cap on top) and the unreadable one (a
page that says why, not formgrader's error page). Screenshots in ``build/formgrader/``.
Skipped, with the reason, when chromium or the playwright package is missing.
"""

import os
import secrets
import subprocess
import sys
import time
import urllib.request

import pytest

from autograder import gradebook, nbgrader_api
from autograder.paths import REPO_ROOT
from tests.test_e2e_jupyterlab import CHROMIUM, CHROMIUM_ARGS, _free_port, _skip_reason

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SESSION, NB = "01_micrograd", "micrograd"
ARTEFACTS = REPO_ROOT / "build" / "formgrader"


@pytest.fixture
def formgrader(graded_class, tmp_path):
    reason = _skip_reason()
    if reason:
        pytest.skip(f"formgrader browser test skipped: {reason}")
    root = tmp_path / "course"
    gradebook.record(graded_class["rows"], root)  # writes the folder's nbgrader_config.py
    with nbgrader_api.open_gradebook(gradebook.db_url(root)) as gb:
        ids = {s: gb.find_submission_notebook(NB, SESSION, s).id for s in ("dave", "erin")}
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / ".jupyter"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / ".runtime"),
           "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    log = open(tmp_path / "jupyter.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--allow-root"], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("jupyter server did not start:\n"
                                + (tmp_path / "jupyter.log").read_text()[-3000:])
                time.sleep(0.5)
        yield {"base": base, "token": token, "ids": ids, "log": tmp_path / "jupyter.log"}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_formgrader_shows_counts_the_late_cap_and_why_a_notebook_is_unreadable(formgrader):
    from playwright.sync_api import sync_playwright

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    base, token = formgrader["base"], formgrader["token"]
    texts = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.goto(f"{base}/formgrader/manage_assignments?token={token}", timeout=120_000)
            row = page.locator("tr", has_text=SESSION).first
            row.wait_for(timeout=120_000)
            page.wait_for_timeout(500)
            texts["assignments"] = row.inner_text()
            page.screenshot(path=str(ARTEFACTS / "manage_assignments.png"), full_page=True)
            for student in ("dave", "erin"):
                page.goto(f"{base}/formgrader/submissions/{formgrader['ids'][student]}"
                          f"?token={token}", timeout=120_000)
                page.wait_for_load_state("networkidle", timeout=120_000)
                texts[student] = page.inner_text("body")
                page.screenshot(path=str(ARTEFACTS / f"submission_{student}.png"),
                                full_page=False)
        finally:
            browser.close()
    cells = texts["assignments"].split()
    assert SESSION in cells and "6" in cells, texts["assignments"]  # six submissions, not 0
    assert "Course score: 1/4" in texts["dave"] and "score capped at 1" in texts["dave"]
    assert "Sorry, the formgrader encountered an error" not in texts["erin"]
    assert "not a readable notebook" in texts["erin"] and "status error" in texts["erin"]
