"""After `jupyter-book build book`: every notebook has a page with its executed outputs.

Checks that each notebooks/*.ipynb has book/_build/html/notebooks/<name>.html, that each page whose notebook
draws figures (plt.show, plot_*, display of a figure) contains images, that no page shows a traceback, and
that widget views became the static note + snapshot. Exit status 1 with a list of problems otherwise.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "book" / "_build" / "html"


def main() -> int:
    problems: list[str] = []
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not (HTML / "index.html").exists():
        problems.append(f"{HTML / 'index.html'} is missing")
    for nb in notebooks:
        page = HTML / "notebooks" / f"{nb.stem}.html"
        if not page.exists():
            problems.append(f"{nb.name}: no page {page.relative_to(ROOT)}")
            continue
        text = page.read_text(encoding="utf-8")
        source = nb.read_text(encoding="utf-8")
        images = len(re.findall(r"<img[^>]+(?:src=\"data:image/|\.png\")", text))
        draws = any(k in source for k in ("plt.show", "plt.subplots", "LiveView(", "plot_"))
        if draws and images == 0:
            problems.append(f"{nb.name}: the notebook draws figures but its page has no image")
        if "Traceback (most recent call last)" in text:
            problems.append(f"{nb.name}: its page shows a traceback")
        if "LiveView(" in source and "ragteach-widget-note" not in text:
            problems.append(f"{nb.name}: a live widget has no static note/snapshot on its page")
        if "application/vnd.jupyter.widget-view+json" in text:
            problems.append(f"{nb.name}: a widget view was left for a CDN widget manager")
        print(f"{page.relative_to(ROOT)}: {images} images, {len(text) // 1024} KiB")
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
