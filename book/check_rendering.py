"""After `jupyter-book build book`: look at every page in a real browser, as a reader would.

Serves book/_build/html on 127.0.0.1, opens each page in headless Chromium (Debian's, driven by Playwright's Python
API) in a 1,280 x 900 window, waits for MathJax, and reports:

- a page wider than the window (the reader has to scroll sideways);
- formulas left as raw TeX: a `$` or a TeX command in the text outside MathJax's output and outside code;
- an output box or table cut off: its content is wider than the box that shows it;
- progress bars: more than one progress line in a cell's output, or one that does not end at N/N;
- a live widget's snapshot with no preview (an image or a captured output), or with an image that did not load.

The collapsed "under the hood" sections (book/_ext/under_the_hood.py) are opened first, so they are checked too.

Screenshots of each page's top go to artifacts/site/. Exit status 1 with the list of problems otherwise.
``python book/check_rendering.py [page.html ...]`` checks only the pages named (paths relative to the site).
"""
from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "book" / "_build" / "html"
SHOTS = ROOT / "artifacts" / "site"
WIDTH, HEIGHT = 1280, 900
CHROMIUM = os.environ.get("RAGTEACH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Runs in the page; returns a list of problem strings. Kept in one place so the test checks exactly this code.
PAGE_CHECKS = r"""
() => {
  const problems = [];
  const width = window.innerWidth;
  const page = document.documentElement.scrollWidth;
  if (page > width + 1) {
    let widest = null, widestRight = 0;
    for (const el of document.querySelectorAll('article *')) {
      const r = el.getBoundingClientRect();
      if (r.right > widestRight && el.children.length === 0) { widest = el; widestRight = r.right; }
    }
    const what = widest ? `${widest.tagName.toLowerCase()} "${(widest.textContent || '').trim().slice(0, 60)}"` : '';
    problems.push(`page is ${page} px wide in a ${width} px window (widest: ${what})`);
  }
  const skip = 'mjx-container, code, pre, script, style, .cell_input, .highlight, textarea, .MathJax';
  const tex = /\$[^$\s][^$]*\$|\$\$|\\(frac|mathbb|mathrm|lVert|rVert|sum|log|cdot|text|mid|big)\b/;
  const walker = document.createTreeWalker(document.querySelector('article') || document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    const m = node.textContent.match(tex);
    if (m) problems.push(`raw TeX in the text: "${node.textContent.trim().slice(0, 80)}"`);
  }
  for (const box of document.querySelectorAll('.cell_output pre, .cell_output table, article table')) {
    const frame = box.tagName === 'TABLE' ? (box.closest('.cell_output, .table-wrapper, .pst-scrollable-table-container') || box.parentElement) : box;
    if (box.scrollWidth > frame.clientWidth + 1) {
      problems.push(`${box.tagName.toLowerCase()} cut off (${box.scrollWidth} px of content in a ${frame.clientWidth} px box): "${box.textContent.trim().slice(0, 60)}"`);
    }
  }
  const bar = /(\d+)\/(\d+) \[[0-9:<?]+/g;
  for (const out of document.querySelectorAll('.cell_output')) {
    const lines = [...out.textContent.matchAll(bar)];
    if (lines.length > 1) problems.push(`${lines.length} progress lines in one output ("${lines[0][0]}" ...)`);
    for (const l of lines) if (l[1] !== l[2]) problems.push(`a progress line ends at ${l[1]}/${l[2]}`);
  }
  for (const note of document.querySelectorAll('.ragteach-widget-note')) {
    const imgs = [...note.querySelectorAll('img')];
    const outputs = [...note.querySelectorAll('.ragteach-widget-output')].filter(o => o.textContent.trim());
    if (!imgs.length && !outputs.length) problems.push(`a live widget's snapshot has no preview: "${note.textContent.trim().slice(200, 280)}"`);
    for (const img of imgs) if (!img.complete || img.naturalWidth === 0) problems.push('a widget preview image did not load');
  }
  return problems;
}
"""


def pages(names: list[str]) -> list[Path]:
    if names:
        return [HTML / n for n in names]
    return sorted((HTML / "notebooks").glob("*.html")) + sorted((HTML / "teachers").glob("*.html")) + \
        [HTML / "intro.html"]


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A quiet HTTP server for ``folder`` on a free port of 127.0.0.1 (file:// would block the pages' scripts)."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def check_pages(urls: dict[str, str], shots: Path | None = SHOTS) -> list[str]:
    """Open each page (name -> URL) in Chromium and return its problems, prefixed by the page's name."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        for name, url in urls.items():
            page.goto(url, wait_until="load")
            page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
            # the collapsed "under the hood" sections are read too: open them, so that their boxes have a size
            page.evaluate("() => document.querySelectorAll('details.ragteach-hood').forEach(d => { d.open = true; })")
            found = page.evaluate(PAGE_CHECKS)
            problems += [f"{name}: {p}" for p in found]
            if shots is not None:
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / (Path(name).stem + ".png")))
            print(f"{name}: {len(found)} problem(s)")
        browser.close()
    return problems


def main(argv: list[str]) -> int:
    if not Path(CHROMIUM).exists():
        print(f"PROBLEM: {CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    server, base = serve(HTML)
    try:
        urls = {str(p.relative_to(HTML)): f"{base}/{p.relative_to(HTML).as_posix()}" for p in pages(argv)}
        problems = check_pages(urls)
    finally:
        server.shutdown()
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
