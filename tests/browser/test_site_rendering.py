"""book/check_rendering.py in a real browser, on small pages where the answer is known.

Each page holds one fault the website check must report (a page wider than the window, raw TeX, a cut-off output,
progress bars that stop short or repeat, a widget snapshot without its preview); a clean page must pass.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import test_live_slider as T  # the Chromium settings of the browser tests

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("check_rendering", ROOT / "book" / "check_rendering.py")
check_rendering = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_rendering)

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
CLEAN = f"""<article><h1>Fine</h1><p>Formulas: <mjx-container>x^2</mjx-container>; code:
<code>$HOME \\frac</code></p><div class="cell_output"><pre>short output
10/10 [00:01&lt;00:00, 9.5it/s]</pre></div>
<div class="ragteach-widget-note"><p>Live widget.</p><img src="data:image/png;base64,{PNG}"/></div></article>"""
FAULTS = {
    "wide": ("<article><div style='width:2000px'>a very wide figure</div></article>", "px wide in a 1280 px window"),
    "tex": ("<article><p>the loss $L_D = -\\log D(x)$ untypeset</p></article>", "raw TeX"),
    "cut": ("<article><div class='cell_output'><pre style='overflow:hidden;width:300px'>"
            + "verdict " * 80 + "</pre></div></article>", "cut off"),
    "stopped": ("<article><div class='cell_output'><pre>999/1000 [00:09&lt;00:00]</pre></div></article>",
                "ends at 999/1000"),
    "repeated": ("<article><div class='cell_output'><pre>5/5 [00:01&lt;00:00]\n5/5 [00:01&lt;00:00]</pre></div>"
                 "</article>", "2 progress lines"),
    "empty_widget": ("<article><div class='ragteach-widget-note'><p>Live widget.</p><p>Controls: z: 0.0</p></div>"
                     "</article>", "has no preview"),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    verdict = T._skip_or_fail_reason()
    if verdict is not None:
        kind, why = verdict
        (pytest.skip if kind == "skip" else pytest.fail)(why)
    folder = tmp_path_factory.mktemp("site")
    for name, (body, _) in {"clean": (CLEAN, None), **FAULTS}.items():
        (folder / f"{name}.html").write_text(f"<!doctype html><html><body style='margin:0'>{body}</body></html>",
                                             encoding="utf-8")
    server, base = check_rendering.serve(folder)
    yield base
    server.shutdown()


def test_the_rendering_check_passes_a_clean_page_and_reports_each_fault(site):
    names = ["clean", *FAULTS]
    problems = check_rendering.check_pages({n: f"{site}/{n}.html" for n in names}, shots=None)
    assert not [p for p in problems if p.startswith("clean:")], problems
    for name, (_, expected) in FAULTS.items():
        mine = [p for p in problems if p.startswith(f"{name}:")]
        assert any(expected in p for p in mine), (name, mine)
