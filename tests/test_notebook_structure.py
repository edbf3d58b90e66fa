"""The notebooks' "under the hood" sections: collapsed in JupyterLab, in a closed <details> on the site, and left out
of the core path's word count (book/_ext/under_the_hood.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from docutils import nodes
from docutils.core import publish_doctree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from under_the_hood import HEADING, collapse_hood_sections, core_markdown, hood_headings, is_hood_title  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": [text]}


def _code(text: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": [text]}


def test_hood_titles():
    assert is_hood_title("Under the hood: the recipe") and is_hood_title("10. Under the hood: scale")
    assert not is_hood_title("Looking under the hood") and not is_hood_title("4. Mode collapse")


def test_core_markdown_leaves_out_a_hood_section_up_to_the_next_heading_of_its_level():
    cells = [_md("# T\nintro"), _md("## 1. A\ntext a\n### Under the hood: x\nhidden\n#### deeper\nhidden too"),
             _code("x = 1"), _md("still hidden"), _md("### Exercise\nshown"), _md("## 2. Under the hood: y\nh"),
             _md("# End\nshown")]
    assert core_markdown(cells) == ["# T\nintro", "## 1. A\ntext a\n", "", "### Exercise\nshown", "", "# End\nshown"]


def test_hood_headings_counts_a_heading_that_opens_a_cell():
    cells = [_md("## 1. A\ntext"), _md("### Under the hood: x\nhidden"), _code("### Under the hood: not markdown"),
             _md("text\n## 2. Under the hood: y")]
    assert hood_headings(cells) == ["Under the hood: x", "2. Under the hood: y"]


def test_a_hood_section_on_the_site_is_a_closed_details_block_after_its_title():
    doc = publish_doctree("Title\n=====\n\nintro\n\nUnder the hood: x\n-----------------\n\nhidden\n\n"
                          "Next\n----\n\nshown\n", settings_overrides={"doctitle_xform": False})
    collapse_hood_sections(None, doc)
    hood, after = [s for s in doc.findall(nodes.section)][1:]
    assert hood[0].astext() == "Under the hood: x"
    assert isinstance(hood[1], nodes.raw) and '<details class="ragteach-hood">' in hood[1].astext()
    assert isinstance(hood[-1], nodes.raw) and hood[-1].astext() == "</details>"
    assert hood.index(next(hood.findall(nodes.paragraph))) == 2   # the hidden text sits inside
    assert not any(isinstance(n, nodes.raw) for n in after.findall())


def _hood_heading_cells(cells: list[dict]) -> list[int]:
    return [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
            and any(is_hood_title(m.group(2)) for m in HEADING.finditer("".join(c["source"])))]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_hood_headings_open_collapsed_in_jupyterlab_and_hold_no_live_view(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    heads = _hood_heading_cells(cells)
    collapsed = [i for i, c in enumerate(cells) if c["metadata"].get("jp-MarkdownHeadingCollapsed")]
    assert collapsed == heads, "a '### Under the hood: ...' heading cell needs jp-MarkdownHeadingCollapsed: true"
    marked = [{**c, "source": [f"<<{i}>>\n", *c["source"]]} for i, c in enumerate(cells)]
    core = " ".join(core_markdown([m if m["cell_type"] == "markdown" else _md(f"<<{i}>>") for i, m
                                   in enumerate(marked)]))
    hidden_code = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and f"<<{i}>>" not in core]
    live = [i for i in hidden_code if "LiveView(" in "".join(cells[i]["source"])]
    assert not live, f"cells {live} show a live view inside a collapsed section: move it to the core path"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_has_a_unique_id(notebook):
    """nbformat 4.5 wants an id on every cell (a missing one is a validation warning, later an error)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    ids = [c.get("id") for c in nb["cells"]]
    assert (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5) and None not in ids and len(set(ids)) == len(ids)
