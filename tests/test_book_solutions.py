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
