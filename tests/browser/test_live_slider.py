"""A learner's path through notebook 01's live cell (and notebook 02's previews), in a real browser.

JupyterLab (from this virtualenv) serves notebook 01 (its cells up to and including the live view, outputs
cleared, then one cell that starts training until stopped and one that reports the kernel's state);
headless Chromium (Debian's ``chromium``, driven by Playwright) opens it, runs every cell through the Run
menu, waits for the sliders, drags the label-flip probability slider (p) with the mouse while the GAN
trains, and checks that

  (a) the kernel-side knob took the value the slider shows, and training steps used it;
  (b) every preview image (samples, GAN Lab views, losses) changed after the move, while training ran;
  (c) no error output, widget error or uncaught page error appeared.

Screenshots and logs go to ``artifacts/browser/``. Run with ``make test-browser`` (``make test`` calls it).

A second test opens notebook 02 the same way and checks that each of its live view's three previews
(generated vs nearest digits, loss terms, sample metrics) appears and changes while it trains, and that
the "re-run this cell" hint beside a live view stays hidden while the view is live.

To see the test fail, break the binding inside the notebook's kernel (nothing in the repository changes):
``RAGTEACH_BROWSER_SABOTAGE=knob`` turns the slider → knob handler into a no-op, ``=preview`` stops the
background redraws.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = os.environ.get("RAGTEACH_CHROMIUM", "/usr/bin/chromium")
# Offline-safe flags: no GPU, no QUIC, no background fetches or component updates.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOK_01 = ROOT / "notebooks" / "01_gan_basics.ipynb"
NOTEBOOK_02 = ROOT / "notebooks" / "02_relative_augmentation.ipynb"
SLIDER_LABEL = "label flip prob."   # the knob label_flip: the probability p that D's label is flipped
KNOB = "label_flip"
TIMEOUT_MS = 120_000  # generous: 2 shared cores, JupyterLab renders widgets ~12 s after load


def _can_install_chromium() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def _skip_or_fail_reason() -> tuple[str, str] | None:
    """("skip", why) where Chromium cannot be installed here; ("fail", why) where it could have been."""
    if not Path(CHROMIUM).exists():
        why = (f"no Chromium at {CHROMIUM}. `make browser-deps` installs Debian's chromium package "
               f"(apt-get, as root); set RAGTEACH_CHROMIUM to use another binary.")
        return ("fail", why + " This machine can install it, so the test fails instead of skipping.") \
            if _can_install_chromium() else ("skip", why + " Not root or no apt-get here: browser test SKIPPED.")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("fail", "playwright is not installed in this environment: run `make venv` "
                        "(it installs the [browser] extra)")
    return None


# ----------------------------------------------------------------------------- the notebook under test
SETUP = '''\
import os
from ragteach.live.widgets import LiveView
SABOTAGE = os.environ.get("RAGTEACH_BROWSER_SABOTAGE", "")
if SABOTAGE == "knob":        # break the slider -> knob binding
    LiveView._on_control = lambda self, name: (lambda change: None)
elif SABOTAGE == "preview":   # break the background redraws
    LiveView._refresh_loop = lambda self: None
print("sabotage:", SABOTAGE or "none")
'''

START = 'session.start(None)   # train until stopped; the test moves the p slider meanwhile\n'

REPORT = '''\
reports = globals().get("reports", 0) + 1
used = sorted({row[KNOB] for row in list(session.history)})
print(f"REPORT {reports}: " + json.dumps({
    "knob": session.knobs[KNOB], "step": session.step, "status": session.status, "used": used,
    "changes": [[c.name, c.new, c.step] for c in session.knobs.changes if c.name == KNOB],
    "message": view.message.value, "error": None if session.error is None else str(session.error),
    "redraws": view.redraws}))
'''


def write_notebook(path: Path, source: Path = NOTEBOOK_01, knob: str = KNOB) -> None:
    """A notebook up to its live view (outputs cleared, its own kernelspec), then START and REPORT."""
    import nbformat

    nb = nbformat.read(str(source), as_version=4)
    live = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "LiveView(" in c.source)
    assert f'"{knob}"' in nb.cells[live].source, f"{source.name}'s live view has no {knob} slider"
    cells = nb.cells[:live + 1]
    for c in cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    nb.metadata.pop("widgets", None)
    nb.cells = [nbformat.v4.new_code_cell(SETUP), *cells, nbformat.v4.new_code_cell(START),
                nbformat.v4.new_code_cell(f"import json\nKNOB = {knob!r}\n" + REPORT)]
    nbformat.write(nb, str(path))


# ----------------------------------------------------------------------------- JupyterLab server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A Jupyter server on 127.0.0.1, isolated settings, no network checks; stopped with its whole process group.

    app: ``jupyterlab`` (default), ``notebook`` (Notebook 7, same options) or ``classic`` (Notebook 6.5, its own
    NotebookApp options); python: the environment it runs in (its kernel is that python, ``python3``)."""

    def __init__(self, workdir: Path, app: str = "jupyterlab", python: str = sys.executable) -> None:
        self.port, self.token = _free_port(), base64.b32encode(os.urandom(15)).decode().lower()
        home = workdir / "jupyter"
        settings = home / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        # no news / update toasts (they would try to reach the web)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = dict(os.environ, RAGTEACH_QUICK="1", PYTHONUNBUFFERED="1",
                   JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTER_DATA_DIR=str(home / "data"),  # no user kernelspec: python3 is this python
                   JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
        env.pop("MPLBACKEND", None)  # the kernel uses the inline backend, as a learner's does
        if python != sys.executable:  # another environment imports its own (installed) ragteach
            env.pop("PYTHONPATH", None)
        common = ["--no-browser", "--ip=127.0.0.1", f"--port={self.port}"]
        if app == "classic":
            cmd = [python, "-m", "notebook", *common, "--NotebookApp.port_retries=0",
                   f"--NotebookApp.token={self.token}", f"--NotebookApp.notebook_dir={workdir}"]
        else:
            cmd = [python, "-m", app, *common, "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={workdir}"]
            if app == "jupyterlab":
                cmd += ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")  # Jupyter refuses to run as root without it
        self.log_path = ARTIFACTS / f"{app}.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._wait_ready()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def _wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"The Jupyter server exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"The Jupyter server did not answer within {timeout:.0f} s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        try:
            self.proc.send_signal(signal.SIGINT)
            self.proc.send_signal(signal.SIGINT)  # the second one skips the "shut down? (y/n)" prompt
            self.proc.wait(timeout=15)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the kernel, if it outlived its server
        except ProcessLookupError:
            pass
        self.proc.wait()
        self._log.close()


# ----------------------------------------------------------------------------- page helpers
def image_digest(img) -> str:
    """sha1 of the PNG bytes the <img> shows (fetched from its blob: URL inside the page)."""
    b64 = img.evaluate("""async el => {
        const buf = new Uint8Array(await (await fetch(el.src)).arrayBuffer());
        let s = ''; for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
        return btoa(s); }""")
    return hashlib.sha1(base64.b64decode(b64)).hexdigest()


def wait_for_report(page, n: int) -> dict:
    out = page.locator(".jp-OutputArea-output", has_text=f"REPORT {n}:")
    out.first.wait_for(timeout=TIMEOUT_MS)
    text = out.first.inner_text()
    return json.loads(text.split(f"REPORT {n}:", 1)[1].strip().splitlines()[0])


def record_latency(client: str, mode: str, seconds: float) -> None:
    """Add one slider-to-preview latency to ``artifacts/browser/latency.json`` (one entry per client and mode)."""
    path = ARTIFACTS / "latency.json"
    table = json.loads(path.read_text()) if path.exists() else {}
    table[f"{client}, {mode}"] = round(seconds, 2)
    path.write_text(json.dumps(table, indent=1) + "\n")
    print(f"slider-to-preview latency, {client}, {mode}: {seconds:.2f} s")


def wait_kernel_idle(page, timeout_s: float = TIMEOUT_MS / 1000) -> None:
    """Until the server says the page's kernel is idle (its REST API; the same in every Jupyter client)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = page.evaluate("""async () => (await (await fetch('/api/sessions')).json())
                                              .map(s => s.kernel.execution_state)""")
        if states and all(state == "idle" for state in states):
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the kernel was not idle within {timeout_s:.0f} s")


def run_cell(page, index: int) -> None:
    """Click into a code cell's editor and press Shift+Enter, as a learner re-runs a cell."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(index)
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")


def error_outputs(page) -> list[str]:
    """Tracebacks, stderr, widget-rendering failures and the view's red messages on the page."""
    found = [el.inner_text() for el in page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").all()]
    body = page.locator(".jp-Notebook").inner_text()
    found += [m for m in ("Traceback", "Error displaying widget", "Training stopped", "preview failed",
                          "Failed to load model class") if m in body]
    return found


# ----------------------------------------------------------------------------- the test
def test_slider_moves_knob_and_preview_in_jupyterlab(tmp_path):
    verdict = _skip_or_fail_reason()
    if verdict is not None:
        kind, why = verdict
        print(("SKIPPED: " if kind == "skip" else "FAILED: ") + why, file=sys.stderr)
        (pytest.skip if kind == "skip" else pytest.fail)(why)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in [*ARTIFACTS.glob("*.png"), ARTIFACTS / "report.json"]:
        old.unlink(missing_ok=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    write_notebook(tmp_path / NOTEBOOK_01.name)
    lab = Lab(tmp_path)
    timings["jupyterlab_ready_s"] = time.perf_counter() - t0
    console: list[str] = []
    page_errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.set_default_timeout(TIMEOUT_MS)
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            try:
                _learner_session(page, lab.url(f"lab/tree/{NOTEBOOK_01.name}"), timings, t0)
            except BaseException:
                page.screenshot(path=str(ARTIFACTS / "failure.png"))
                raise
            finally:
                (ARTIFACTS / "console.log").write_text("\n".join(console) + "\n")
                browser.close()
    finally:
        lab.stop()
        timings["total_s"] = time.perf_counter() - t0
        (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=1) + "\n")
        print("browser test timings:", json.dumps({k: round(v, 1) for k, v in timings.items()}))
    if "latency_s" in timings:
        record_latency("JupyterLab 4 + ipywidgets 8", "background", timings["latency_s"])
    widget_errors = [e for e in page_errors if "widget" in e.lower()]
    assert not widget_errors, f"uncaught widget errors in the page: {widget_errors}"


def _open_and_run_all(page, url: str, timings: dict[str, float], t0: float) -> None:
    page.goto(url)
    page.locator(".jp-Notebook .jp-CodeCell").last.wait_for()
    # the kernel named by the notebook's kernelspec starts without a dialog; wait until it is idle
    wait_kernel_idle(page)
    timings["kernel_idle_s"] = time.perf_counter() - t0
    # Run > Run All Cells, as a learner would
    first_prompt = page.locator(".jp-Notebook .jp-CodeCell").first.locator(".jp-InputPrompt")
    for _ in range(3):  # a menu click right after start-up can land before the command is enabled
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        try:
            page.wait_for_function("el => /\\[(\\*|\\d+)\\]/.test(el.textContent)", arg=first_prompt.element_handle(),
                                   timeout=5000)
            break
        except Exception:
            page.keyboard.press("Escape")
    else:
        raise AssertionError("Run > Run All Cells did not start the notebook")


def _learner_session(page, url: str, timings: dict[str, float], t0: float) -> None:
    _open_and_run_all(page, url, timings, t0)
    slider = page.locator(".widget-slider", has=page.locator(".widget-label", has_text=SLIDER_LABEL))
    slider.locator(".noUi-handle").wait_for()
    timings["slider_rendered_s"] = time.perf_counter() - t0
    first = wait_for_report(page, 1)  # printed right after session.start(): training is under way
    assert first["knob"] == 0.0 and first["status"] == "running", first
    page.locator("img.widget-image").first.wait_for()
    view_box = page.locator(".jp-OutputArea-output", has=slider).first
    view_box.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "01_before_slider_move.png"))

    # (drag the p handle with the mouse to about 30 % of the track)
    readout = slider.locator(".widget-readout")
    before_readout = readout.inner_text()
    handle, track = slider.locator(".noUi-handle").bounding_box(), slider.locator(".noUi-target").bounding_box()
    y = handle["y"] + handle["height"] / 2
    page.mouse.move(handle["x"] + handle["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(track["x"] + 0.3 * track["width"], y, steps=12)
    page.mouse.up()
    moved = float(readout.inner_text())
    assert readout.inner_text() != before_readout and moved > 0, (
        f"the slider still reads {before_readout} after the drag: it did not move, or the view set it back "
        f"to the kernel's unchanged knob (the slider -> knob binding is broken)")
    timings["slider_moved_s"] = time.perf_counter() - t0
    images = page.locator(".jp-OutputArea-output", has=slider).first.locator("img.widget-image")
    after_move = [image_digest(img) for img in images.all()]
    assert len(after_move) == 3, f"expected 3 preview images, found {len(after_move)}"

    # (b) all previews (samples, GAN Lab views, loss curves) are redrawn after the move while training runs. The view
    # throttles redraws to 9x the last drawing's time, which is seconds on 2 busy cores: allow 90 s.
    deadline, changed = time.monotonic() + 90, False
    while time.monotonic() < deadline and not changed:
        page.wait_for_timeout(200)
        changed = all(image_digest(img) != old for img, old in zip(images.all(), after_move))
    timings["preview_changed_s"] = time.perf_counter() - t0
    timings["latency_s"] = timings["preview_changed_s"] - timings["slider_moved_s"]  # slider -> all previews redrawn

    # (a) the kernel-side knob (re-run the report cell, as a learner would)
    run_cell(page, -1)
    report = wait_for_report(page, 2)
    view_box.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "02_after_slider_move.png"))
    (ARTIFACTS / "report.json").write_text(json.dumps({"slider_readout": moved, **report}, indent=1) + "\n")

    assert abs(report["knob"] - moved) <= 0.0051, \
        f"the slider shows p = {moved} but the kernel's knob is {report['knob']}: the binding is broken"
    assert report["changes"] and abs(report["changes"][-1][1] - moved) <= 0.0051, report
    assert any(abs(v - moved) <= 0.0051 for v in report["used"]), \
        f"no training step used the new p: {report['used']}"
    assert report["status"] == "running" and report["step"] > first["step"], report
    assert changed, "the preview images did not change within 90 s of moving the slider while training ran"
    status = page.locator(".widget-html", has_text=re.compile(r"step \d+")).first.inner_text()
    assert "running" in status and int(re.search(r"step (\d+)", status)[1]) > 0, f"status line: {status!r}"
    # (c) nothing went wrong on the way
    assert report["error"] is None and report["message"] == "", report
    errors = error_outputs(page)
    assert not errors, f"error output on the page: {errors}"



def _with_lab_and_browser(tmp_path, source: Path, knob: str, session_fn, shots: str) -> None:
    verdict = _skip_or_fail_reason()
    if verdict is not None:
        kind, why = verdict
        (pytest.skip if kind == "skip" else pytest.fail)(why)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    t0, timings = time.perf_counter(), {}
    write_notebook(tmp_path / source.name, source, knob)
    lab = Lab(tmp_path)
    page_errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.set_default_timeout(TIMEOUT_MS)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            try:
                session_fn(page, lab.url(f"lab/tree/{source.name}"), timings, t0)
            except BaseException:
                page.screenshot(path=str(ARTIFACTS / f"{shots}_failure.png"))
                raise
            finally:
                browser.close()
    finally:
        lab.stop()
        print(f"{shots} timings:", json.dumps({k: round(v, 1) for k, v in timings.items()}))
    widget_errors = [e for e in page_errors if "widget" in e.lower()]
    assert not widget_errors, f"uncaught widget errors in the page: {widget_errors}"


def test_every_preview_of_notebook_02_appears_and_changes(tmp_path):
    """Notebook 02's view has three previews; its third ("sample metrics") once never showed."""
    _with_lab_and_browser(tmp_path, NOTEBOOK_02, "lam", _notebook_02_session, "nb02")


def _notebook_02_session(page, url: str, timings: dict[str, float], t0: float) -> None:
    _open_and_run_all(page, url, timings, t0)
    first = wait_for_report(page, 1)
    assert first["status"] == "running", first
    view_box = page.locator(".jp-OutputArea-output", has=page.locator("img.widget-image")).first
    images = view_box.locator("img.widget-image")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and images.count() < 3:
        page.wait_for_timeout(250)
    assert images.count() == 3, f"notebook 02's view shows {images.count()} of its 3 previews"
    for img in images.all():  # each one is a real picture, not an empty image
        assert img.evaluate("el => el.naturalWidth") > 50
    view_box.scroll_into_view_if_needed()
    before = [image_digest(img) for img in images.all()]
    # the sample metrics arrive every 100 steps and the view redraws at most every ~9x its drawing time
    deadline, changed = time.monotonic() + 120, [False] * 3
    while time.monotonic() < deadline and not all(changed):
        page.wait_for_timeout(500)
        changed = [c or image_digest(img) != old for c, img, old in zip(changed, images.all(), before)]
    page.screenshot(path=str(ARTIFACTS / "03_notebook_02_previews.png"))
    timings["previews_changed_s"] = time.perf_counter() - t0
    assert all(changed), f"previews that did not change while training ran: {changed}"
    hints = page.locator(".ragteach-stale-hint")
    assert hints.count() >= 1 and not any(h.is_visible() for h in hints.all()), \
        "the re-run hint shows beside a live view"
    errors = error_outputs(page)
    assert not errors, f"error output on the page: {errors}"
