"""After `jupyter-book build book`: every notebook has a page with its executed outputs.

Checks that each notebooks/*.ipynb has book/_build/html/notebooks/<name>.html, that each page whose notebook
draws figures (plt.show, plot_*, display of a figure) contains images, that no page shows a traceback, and
that widget views became the static note + snapshot, that no Markdown table is left as raw | text, and that
each page listed in ``PLOTLY_FIGURES`` draws at least that many interactive plotly figures with plotly.js embedded
in the page (not fetched from a CDN, so the site works offline), and that each page with formulas loads MathJax
from the site's own ``_static`` (book/_ext/offline_mathjax.py), which holds it, and that no page shows internal
wording ("issue N", the quick-mode banner, NotImplementedError, a checker's "not yet"), and that each page's core path
(its prose outside the collapsed "under the hood" sections, book/_ext/under_the_hood.py) stays within
``CORE_WORDS`` words. Exit status 1 with a list of problems otherwise.
"""
from __future__ import annotations

import json
import re
import sys
from itertools import takewhile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "book" / "_build" / "html"
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from under_the_hood import core_markdown, hood_headings  # noqa: E402  (the rule the site's dropdowns follow)

from ragteach.report import TAKEAWAY_WORDS, words as report_words  # noqa: E402  (one definition of a word, shared with takeaways)

# Pages that must show interactive plotly figures: notebook stem -> at least this many figures on its page.
# When a notebook gains a plotly figure, add it here (issue 14 plans 01: mode coverage and high-quality share over
# training; 04: the question/document embedding map).
PLOTLY_FIGURES: dict[str, int] = {
    "01_gan_basics": 1,                  # every toy run's modes and high-quality share over training
    "04_retrieval_generation": 1,        # the question/document embedding map
    "05_generative_models_compared": 2,  # the VAE latent explorer and the conditional GAN's class explorer
    "06_packing_and_mode_collapse": 1,   # every GAN and PacGAN4 run's modes and high-quality share over training
}

# a Markdown table output left as a paragraph of text: its delimiter row inside <p> (CommonMark turns --- into an em
# dash); code that builds such a table (inside highlighted <pre> blocks) does not match
RAW_TABLE = re.compile(r"<p>[^<]*\|(?:-{3,}|—)\|(?:-{3,}|—)\|")
PLOTLY_DIV = 'class="plotly-graph-div"'
PLOTLY_JS_BANNER = re.compile(r"\* plotly\.js v\d")  # the licence banner that opens the embedded library
MATH_SPAN = 'class="math notranslate nohighlight"'
LOCAL_MATHJAX = "_static/mathjax/es5/tex-mml-chtml.js"
# Sphinx appends "?v=<checksum>" to a script that already exists when the build registers it (a rebuild)
LOCAL_MATHJAX_SRC = re.compile(re.escape(LOCAL_MATHJAX) + r'(\?v=[0-9a-f]+)?"')
PLOTLY_CDN = re.compile(r"<script[^>]+src=\"https?://cdn\.plot\.ly|import \"https?://cdn\.plot\.ly")


def plotly_figures(text: str) -> int:
    """How many plotly figures a page draws: one div of class plotly-graph-div each."""
    return text.count(PLOTLY_DIV)


def plotly_problems(name: str, text: str, required: int) -> list[str]:
    """What keeps a page from showing ``required`` plotly figures offline (empty list: nothing)."""
    problems = []
    found = plotly_figures(text)
    if found < required:
        problems.append(f"{name}: its page should show {required} plotly figure(s) but has {found} "
                        "(did the cell call fig.show() with PLOTLY_RENDERER=plotly_mimetype+notebook?)")
    if found and not PLOTLY_JS_BANNER.search(text):
        problems.append(f"{name}: its page draws plotly figures but does not embed plotly.js (they stay blank offline)")
    if found and PLOTLY_CDN.search(text):
        problems.append(f"{name}: its page loads plotly.js from a CDN: the site must work offline")
    return problems


def math_problems(name: str, text: str) -> list[str]:
    """What keeps a page's formulas from rendering offline (empty list: nothing, or no formulas)."""
    formulas = text.count(MATH_SPAN)
    if formulas and not LOCAL_MATHJAX_SRC.search(text):
        return [f"{name}: its page has {formulas} formulas but does not load the site's own MathJax "
                f"({LOCAL_MATHJAX}): they show as raw TeX offline (is offline_mathjax in book/_config.yml?)"]
    return []


# Words from the project's workshop that a reader of the site should never meet: issue numbers, the smoke-test
# banner, an exercise stub's error, a checker's "not yet" (site mode shows each reference passing instead).
INTERNAL_WORDS = re.compile(r"(?i:\bissue #?\d+)|QUICK MODE|NotImplementedError|❌ not yet")


def reader_text(html: str) -> str:
    """What a reader reads on a page: its article's prose and cell outputs, without the code of the cells (an
    exercise stub's code rightly says ``raise NotImplementedError``), the solutions' code or the page's chrome."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    article = soup.find("article") or soup
    for hidden in article.select("div.cell_input, details.ragteach-solution pre, script, style"):
        hidden.decompose()
    return article.get_text(" ")


def internal_word_problems(name: str, html: str) -> list[str]:
    """Each internal word on a page, with a little context (empty list: none)."""
    text = reader_text(html)
    return [f"{name}: its page says {text[max(0, m.start() - 40): m.end() + 40].strip()!r} (internal wording)"
            for m in INTERNAL_WORDS.finditer(text)]


def takeaways(html: str) -> list[str]:
    """Every printed ``Takeaway: ...`` on a page (ragteach.report.takeaway wraps one onto indented lines)."""
    from bs4 import BeautifulSoup

    found = []
    for pre in BeautifulSoup(html, "html.parser").select("div.cell_output pre"):
        lines = pre.get_text().splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Takeaway:"):
                wrapped = takewhile(lambda ln: ln.startswith("  "), lines[i + 1:])
                found.append(" ".join([line] + [ln.strip() for ln in wrapped]))
    return found


def takeaway_problems(name: str, html: str) -> list[str]:
    """Each takeaway longer than ragteach.report.TAKEAWAY_WORDS words (numbers do not count)."""
    counted = [(report_words(t.removeprefix("Takeaway:")), t) for t in takeaways(html)]
    return [f"{name}: a takeaway has {n} words (at most {TAKEAWAY_WORDS}): {t[:120]!r}"
            for n, t in counted if n > TAKEAWAY_WORDS]


WORDS_PER_MINUTE = 200  # a careful reading of technical prose


CORE_WORDS = 1800  # about 1,500 words, 30 minutes of reading beside the code and its outputs


def words(markdown: str) -> int:
    """Words a reader reads in Markdown: without formulas, code spans, links' targets and HTML tags."""
    return report_words(re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|\]\([^)]*\)|<[^>]+>", " ", markdown, flags=re.S))


def prose_words(notebook: Path, core_only: bool = False) -> int:
    """Words of prose in a notebook's Markdown cells; with ``core_only``, outside its "under the hood" sections."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    if core_only:
        return words(" ".join(core_markdown(cells)))
    return words(" ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"))


def main() -> int:
    problems: list[str] = []
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    unknown = sorted(set(PLOTLY_FIGURES) - {nb.stem for nb in notebooks})
    if unknown:
        problems.append(f"PLOTLY_FIGURES names notebooks that do not exist: {unknown}")
    if not (HTML / "index.html").exists():
        problems.append(f"{HTML / 'index.html'} is missing")
    if not (HTML / LOCAL_MATHJAX).is_file():
        problems.append(f"{HTML / LOCAL_MATHJAX} is missing: the pages' formulas cannot render offline")
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
        if RAW_TABLE.search(text):
            problems.append(f"{nb.name}: its page shows a Markdown table as raw text (| pipes): a header cell with an "
                            "unescaped |, or nb_render_markdown_format is not gfm in book/_config.yml")
        if "application/vnd.jupyter.widget-view+json" in text:
            problems.append(f"{nb.name}: a widget view was left for a CDN widget manager")
        problems += plotly_problems(nb.name, text, PLOTLY_FIGURES.get(nb.stem, 0))
        problems += math_problems(nb.name, text)
        problems += internal_word_problems(nb.name, text)
        problems += takeaway_problems(nb.name, text)
        hoods = len(hood_headings(json.loads(source)["cells"]))
        blocks = text.count('<details class="ragteach-hood">')
        if blocks != hoods:
            problems.append(f"{nb.name}: {hoods} 'Under the hood' sections, but {blocks} collapsed blocks on its page")
        total, core = prose_words(nb), prose_words(nb, core_only=True)
        if core > CORE_WORDS:
            problems.append(f"{nb.name}: its core path has {core} words of prose (at most {CORE_WORDS}); move details "
                            "into a collapsed '### Under the hood: ...' section")
        print(f"{page.relative_to(ROOT)}: {core} words on the core path (~{round(core / WORDS_PER_MINUTE)} min), "
              f"{total} with the under-the-hood sections, "
              f"{images} images, {plotly_figures(text)} plotly figures, {text.count(MATH_SPAN)} formulas, "
              f"{len(text) // 1024} KiB")
    for page in sorted((HTML / "teachers").glob("*.html")) + [HTML / "intro.html"]:
        if page.exists():
            problems += internal_word_problems(page.name, page.read_text(encoding="utf-8"))
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
