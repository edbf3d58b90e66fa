"""Notebook 05's plotly explorers in a real browser: in JupyterLab, and as the static website shows them.

1. JupyterLab (the project's ``Lab`` helper, 127.0.0.1) runs a small notebook that trains a tiny VAE for a few
   steps and calls ``fig.show()`` on both explorers; headless Chromium checks that both figures draw, that
   hovering the VAE's plane shows a hover label with the decoded digit in shade characters, and that the
   conditional GAN's class buttons change the figure.
2. The same figures rendered the way ``make book`` renders them (plotly's ``notebook`` renderer: HTML with
   plotly.js embedded) are opened from a file with every network request blocked: they must still draw.

Screenshots go to ``artifacts/browser/plotly/``.
"""
from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

import test_live_slider as T  # the JupyterLab server helper and the Chromium settings of the browser tests

OUT = T.ARTIFACTS / "plotly"

BUILD = '''\
import torch
from ragteach.data.digits import load_digits
from ragteach.gan.conditional import CondGenerator
from ragteach.gan.models import article_mnist_config
from ragteach.live.session import TrainingSession
from ragteach.vae.explore import cgan_latent_explorer, vae_latent_explorer
from ragteach.vae.model import VAEConfig
from ragteach.vae.train import VAETrainer, vae_knobs
d = load_digits()
v = VAETrainer(VAEConfig(latent_dim=2), d.x_train, seed=0)
TrainingSession(v, vae_knobs()).run(100, progress=False)
torch.manual_seed(0)
G = CondGenerator(article_mnist_config())   # untrained: the test is about drawing, not about quality
vfig = vae_latent_explorer(v.vae, d.x_test[:200], d.y_test[:200], n_grid=8)
cfig = cgan_latent_explorer(G, torch.zeros(1, 100), n_grid=5, start=3)
'''


def _require_browser() -> None:
    verdict = T._skip_or_fail_reason()
    if verdict is not None:
        kind, why = verdict
        (pytest.skip if kind == "skip" else pytest.fail)(why)


def _hover_middle(page, plot) -> str:
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)
    page.wait_for_timeout(800)
    return plot.locator(".hoverlayer").text_content() or ""


def _check_figures(page, where: str) -> None:
    plots = page.locator(".js-plotly-plot")
    plots.nth(1).wait_for(timeout=T.TIMEOUT_MS)
    # JupyterLab may briefly hold an output twice while it re-renders a cell it is executing: wait until it settles
    deadline = time.monotonic() + 30
    while plots.count() != 2 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    count = plots.count()
    assert count == 2, f"{where}: expected 2 plotly figures, found {count}"
    assert page.locator(".js-plotly-plot .imagelayer image").count() >= 2, f"{where}: no digit image layer"
    hover = _hover_middle(page, plots.nth(0))
    plots.nth(0).screenshot(path=str(OUT / f"{where}_vae.png"))
    assert "decode" in hover and any(c in hover for c in "░▒▓█"), f"{where}: hover label without a digit: {hover!r}"
    cgan = plots.nth(1)
    assert "y=3" in cgan.locator(".gtitle").text_content()
    cgan.locator(".updatemenu-button").nth(7).click()
    page.wait_for_timeout(800)
    assert "y=7" in cgan.locator(".gtitle").text_content(), f"{where}: the class buttons did nothing"
    assert any(c in _hover_middle(page, cgan) for c in "·░▒▓█")
    cgan.screenshot(path=str(OUT / f"{where}_cgan.png"))


def test_explorers_render_in_jupyterlab_and_offline_html(tmp_path, monkeypatch):
    _require_browser()
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(T, "ARTIFACTS", OUT)  # the Lab helper's log goes next to these screenshots
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(BUILD), nbformat.v4.new_code_cell("vfig.show()"),
                nbformat.v4.new_code_cell("cfig.show()")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(tmp_path / "explorers.ipynb"))

    # the static page: the HTML that `make book` embeds (PLOTLY_RENDERER=notebook), plotly.js included once
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    exec(compile(BUILD, "<build>", "exec"), ns := {})
    html = "".join(pio.renderers["notebook"].to_mimebundle(f.to_dict())["text/html"] for f in (ns["vfig"], ns["cfig"]))
    page_file = tmp_path / "static.html"
    page_file.write_text(f"<html><body><script>{get_plotlyjs()}</script>{html}</body></html>", encoding="utf-8")

    lab = T.Lab(tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=T.CHROMIUM, headless=True, args=T.CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1600})
                page.set_default_timeout(T.TIMEOUT_MS)
                page.goto(lab.url("lab/tree/explorers.ipynb"))
                cells = page.locator(".jp-Notebook .jp-CodeCell")
                cells.nth(2).wait_for()
                time.sleep(2)
                for i in range(3):
                    cells.nth(i).locator(".cm-content").click()
                    page.keyboard.press("Shift+Enter")
                _check_figures(page, "jupyterlab")

                offline = browser.new_page(viewport={"width": 1280, "height": 1600})
                blocked: list[str] = []
                offline.route("http*://**", lambda route: (blocked.append(route.request.url), route.abort()))
                errors: list[str] = []
                offline.on("pageerror", lambda e: errors.append(str(e)))
                offline.goto(page_file.as_uri())
                _check_figures(offline, "static")
                assert not [u for u in blocked if "plot.ly" in u], f"plotly.js fetched from the web: {blocked}"
                assert not errors, f"page errors on the static page: {errors}"
            finally:
                browser.close()
    finally:
        lab.stop()
