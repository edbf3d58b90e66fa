"""The book's exercise_solutions extension puts each exercise's reference, collapsed, right after its cell."""
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

if os.environ.get("RAGTEACH_STRICT") != "1":  # `make test` installs the [book] extra (Sphinx, docutils)
    pytest.importorskip("sphinx", reason="the [book] extra (jupyter-book, Sphinx) is not installed")
from docutils import nodes  # noqa: E402
from docutils.frontend import get_default_settings  # noqa: E402
from docutils.parsers.rst import Parser  # noqa: E402
from docutils.utils import new_document  # noqa: E402

from ragteach.exercises import all_exercises  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
import exercise_solutions as ext  # noqa: E402


def _page(*names):
    doc = new_document("page", get_default_settings(Parser))
    section = nodes.section()
    doc += section
    for name in names:
        meta = {"ragteach": {"exercise": name}} if name else {}
        section += nodes.container(nb_element="cell_code", cell_metadata=meta)
    return doc, section


def test_a_collapsed_solution_follows_each_exercise_cell():
    doc, section = _page("d_loss", None, "kl_term")
    ext.add_solutions(SimpleNamespace(env=SimpleNamespace(docname="page")), doc)
    kinds = [(type(n).__name__, n.get("nb_element") or (n.astext()[:25] if isinstance(n, nodes.raw) else ""))
             for n in section.children]
    assert [k for k, _ in kinds] == ["container", "raw", "raw", "literal_block", "raw", "container", "container",
                                     "raw", "literal_block", "raw"]
    blocks = [n for n in section.children if isinstance(n, nodes.literal_block)]
    assert blocks[0].astext() == all_exercises()["d_loss"].solution_code()
    assert blocks[1].astext().startswith("def kl_term(mu, logvar):")
    opening = [n.astext() for n in section.children if isinstance(n, nodes.raw) and "<details" in n.astext()]
    assert len(opening) == 2 and all(" open" not in o for o in opening)  # closed until clicked


def test_no_solution_marker_leaks_to_the_page():
    for name, exercise in all_exercises().items():
        code = exercise.solution_code()
        assert code.startswith(f"def {exercise.reference.__name__}(") and "BEGIN SOLUTION" not in code
        assert '"""' not in code  # docstring dropped; the statement is in the notebook


def test_a_predict_cells_outputs_are_collapsed_and_its_code_is_not():
    doc = new_document("page", get_default_settings(Parser))
    cell = nodes.container(nb_element="cell_code", cell_metadata={"ragteach": {"predict": "predict_x"}})
    cell += nodes.container(nb_element="cell_code_source")
    cell += nodes.container(nb_element="cell_code_output")
    doc += cell
    ext.add_solutions(SimpleNamespace(env=SimpleNamespace(docname="page")), doc)
    kinds = [n.get("nb_element") or n.astext()[:60] for n in cell.children]
    assert kinds[0].startswith("<style>") and kinds[1] == "cell_code_source"
    assert kinds[2].startswith('<details class="ragteach-solution ragteach-predict">')
    assert kinds[3:] == ["cell_code_output", "</details>"]


def test_a_predict_cell_without_outputs_is_left_alone():
    doc = new_document("page", get_default_settings(Parser))
    cell = nodes.container(nb_element="cell_code", cell_metadata={"ragteach": {"predict": "predict_x"}})
    cell += nodes.container(nb_element="cell_code_source")
    doc += cell
    ext.add_solutions(SimpleNamespace(env=SimpleNamespace(docname="page")), doc)
    assert [n.get("nb_element") for n in cell.children] == ["cell_code_source"]


def _check_site():
    """book/check_site.py as a module (it is a script, not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_site", Path(__file__).resolve().parents[1] / "book"
                                                  / "check_site.py")
    cs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cs)
    return cs


def test_site_check_finds_internal_words_in_prose_and_outputs_but_not_in_code():
    cs = _check_site()
    code = '<div class="cell_input"><pre>raise NotImplementedError</pre></div>'
    assert cs.internal_word_problems("01", f"<article>{code}<p>fine</p></article>") == []
    for bad in ("as issue 12 asked", "QUICK MODE — a smoke test", "❌ not yet: the function still raises "
                "NotImplementedError"):
        found = cs.internal_word_problems("01", f"<article>{code}<div class='cell_output'>{bad}</div></article>")
        assert found and "internal wording" in found[0], bad
    assert cs.internal_word_problems("01", "<article><p>the tissue 3 cells</p></article>") == []


def test_site_check_counts_the_words_of_each_wrapped_takeaway():
    from ragteach.report import TAKEAWAY_WORDS, takeaway

    cs = _check_site()
    short = takeaway("the GAN covers 7.8 of 8 modes; PacGAN4 covers 8.0.")
    long = takeaway(" ".join(["word"] * (TAKEAWAY_WORDS + 1)))
    assert "\n  " in long   # wrapped onto an indented second line, which still counts
    page = f"<div class='cell_output'><pre>table above\n{short}\nnext line\n{long}\n</pre></div>"
    assert cs.takeaways(page)[0] == short
    problems = cs.takeaway_problems("01", page)
    assert len(problems) == 1 and f"{TAKEAWAY_WORDS + 1} words" in problems[0]


def test_in_site_mode_an_unwritten_exercise_shows_its_reference_passing(monkeypatch, capsys):
    ex = all_exercises()["d_loss"]

    def stub(d_real, d_fake):
        raise NotImplementedError

    monkeypatch.setenv("RAGTEACH_SITE", "1")
    assert ex.check(stub) is ex.reference
    out = capsys.readouterr().out
    assert out.startswith("✅ pass") and "reference solution" in out and "not yet" not in out
    monkeypatch.delenv("RAGTEACH_SITE")
    ex.check(stub)
    assert "❌ not yet" in capsys.readouterr().out


def test_a_widget_snapshot_shows_the_figure_an_output_widget_captured():
    import static_widgets

    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_s", "IPY_MODEL_o"]}},
        "s": {"model_name": "FloatSliderModel", "state": {"description": "z₁", "value": 0.5}},
        "o": {"model_name": "OutputModel", "state": {"outputs": [
            {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure>"}}]}},
    }
    page = static_widgets.snapshot_html(state, "box")
    assert "Controls: z₁: <code>0.5</code>" in page
    assert '<img alt="widget output"' in page and "data:image/png;base64,iVBORw0KGgo=" in page
    state["o"]["state"]["outputs"] = []
    assert "<img" not in static_widgets.snapshot_html(state, "box")


def test_a_widget_snapshot_renders_the_markdown_an_output_widget_captured():
    import static_widgets

    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_t", "IPY_MODEL_o"]}},
        "t": {"model_name": "TextModel", "state": {"description": "question", "value": "Where?"}},
        "o": {"model_name": "OutputModel", "state": {"outputs": [
            {"output_type": "display_data", "data": {"text/markdown": "**Paris**\n\n| doc | p |\n|---|---|\n| 3 | 0.9 |"}}]}},
    }
    page = static_widgets.snapshot_html(state, "box")
    assert "Controls: question: <code>Where?</code>" in page
    assert '<div class="ragteach-widget-output"><p><strong>Paris</strong></p>' in page and "<td>0.9</td>" in page
