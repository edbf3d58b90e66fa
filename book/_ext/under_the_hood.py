""""Under the hood" sections, collapsed: the core path of a page stays short, the details stay one click away.

A notebook marks a section as optional by its heading: ``### Under the hood: the recipe`` (a number before it, as in
``## 10. Under the hood: ...``, is allowed). The section runs to the next heading of the same or a higher level.

- In JupyterLab and Notebook 7 the heading cell carries ``"jp-MarkdownHeadingCollapsed": true``, so the section opens
  collapsed (``tests/test_notebook_structure.py`` checks every such heading has it).
- On the website this extension keeps the heading and wraps the rest of the section in a closed ``<details>``
  block: it opens without JavaScript, so the page works offline.
- ``book/check_site.py`` counts a page's *core* prose without these sections (:func:`core_markdown`).
"""
from __future__ import annotations

import re

from docutils import nodes

HOOD_TITLE = re.compile(r"^(\d+\.\s+)?Under the hood\b", re.I)
HEADING = re.compile(r"^(#{1,6})\s+(.*)$", re.M)
SUMMARY = "Show the details"
STYLE = ("<style>details.ragteach-hood{margin:0.5em 0 1.5em;padding:0.25em 0.75em;border:1px solid #ccd;"
         "border-radius:4px;background:#fafaff}details.ragteach-hood>summary{cursor:pointer;font-weight:600}</style>")


def is_hood_title(title: str) -> bool:
    """Whether a heading's text starts an "under the hood" section."""
    return bool(HOOD_TITLE.match(title.strip()))


def core_markdown(cells: list[dict]) -> list[str]:
    """The Markdown of a notebook's cells outside its "under the hood" sections: a hood section starts at a heading
    whose text :func:`is_hood_title` and ends before the next heading of the same or a higher level (fewer #)."""
    core, hood_level = [], None
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        starts = [m.start() for m in HEADING.finditer(text)]
        kept = [] if hood_level is not None else [text[:starts[0] if starts else len(text)]]
        for start, end in zip(starts, starts[1:] + [len(text)]):
            hashes, title = HEADING.match(text, start).groups()
            if hood_level is not None and len(hashes) <= hood_level:
                hood_level = None
            if hood_level is None and is_hood_title(title):
                hood_level = len(hashes)
            if hood_level is None:
                kept.append(text[start:end])
        core.append("".join(kept))
    return core


def hood_headings(cells: list[dict]) -> list[str]:
    """The titles of a notebook's "under the hood" headings, in order (each becomes one <details> on the site)."""
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return [m.group(2) for m in HEADING.finditer(text) if is_hood_title(m.group(2))]


def collapse_hood_sections(app, doctree: nodes.document) -> None:
    styled = False
    for section in list(doctree.findall(nodes.section)):
        if not section.children or not isinstance(section[0], nodes.title):
            continue
        if not is_hood_title(section[0].astext()) or len(section) < 2:
            continue
        opening = ("" if styled else STYLE) + f'<details class="ragteach-hood"><summary>{SUMMARY}</summary>'
        section.insert(1, nodes.raw("", opening, format="html"))
        section.append(nodes.raw("", "</details>", format="html"))
        styled = True


def setup(app):
    app.connect("doctree-read", collapse_hood_sections)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
