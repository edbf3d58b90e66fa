"""Each exercise's solution on the book's pages, collapsed under the exercise.

In the notebooks an exercise cell is a stub (its metadata says ``{"ragteach": {"exercise": NAME}}``) and the answer
key lives in :mod:`ragteach.exercises`. On the website, right after each such cell, this extension adds a closed
``<details>`` block "Solution" holding the reference solution's code (``Exercise.solution_code()``), highlighted
by Sphinx like any code block. The outputs of each "predict, then run" cell (metadata ``{"ragteach": {"predict": NAME}}``) are collapsed
the same way, so the measured answer is not read before the prediction. ``<details>`` opens and closes without JavaScript or a stylesheet from the web, so
the page works offline. An exercise cell naming an unknown exercise is a build warning (an error under
``--warningiserror``).
"""
from __future__ import annotations

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

SUMMARY = "Solution (try the exercise first)"
STYLE = ("<style>details.ragteach-solution{margin:0.25em 0 1.25em;border-left:3px solid #8a8;padding-left:0.75em}"
         "details.ragteach-solution>summary{cursor:pointer;font-weight:600}</style>")


PREDICT_SUMMARY = "Measured answer (write your prediction first)"


def _ragteach_meta(node: nodes.Node, key: str) -> str | None:
    """``cell_metadata["ragteach"][key]`` of a MyST-NB code-cell container, or None."""
    if not isinstance(node, nodes.container) or node.get("nb_element") != "cell_code":
        return None
    meta = node.get("cell_metadata") or {}
    found = meta.get("ragteach", {}).get(key) if isinstance(meta.get("ragteach"), dict) else None
    return found if isinstance(found, str) else None


def collapse_predict_outputs(cell: nodes.container) -> bool:
    """Wrap a "predict, then run" cell's outputs in a closed <details>, so the page does not give the answer away
    before the reader has predicted. Returns whether the cell had outputs to wrap."""
    outputs = [child for child in cell.children
               if isinstance(child, nodes.container) and child.get("nb_element") == "cell_code_output"]
    if not outputs:
        return False
    at = cell.index(outputs[0])
    cell.insert(at, nodes.raw("", f'<details class="ragteach-solution ragteach-predict"><summary>{PREDICT_SUMMARY}'
                                  "</summary>", format="html"))
    cell.insert(cell.index(outputs[-1]) + 1, nodes.raw("", "</details>", format="html"))
    return True


def exercise_name(node: nodes.Node) -> str | None:
    """The exercise a MyST-NB code-cell container holds, from its cell metadata, or None."""
    return _ragteach_meta(node, "exercise")


def solution_nodes(name: str, code: str) -> list[nodes.Node]:
    """A closed <details> block with the solution as a highlighted Python code block."""
    block = nodes.literal_block(code, code, language="python")
    block["classes"].append("ragteach-solution-code")
    return [nodes.raw("", f'<details class="ragteach-solution" data-exercise="{name}"><summary>{SUMMARY}</summary>',
                      format="html"),
            block,
            nodes.raw("", "</details>", format="html")]


def add_solutions(app, doctree: nodes.document) -> None:
    from ragteach.exercises import all_exercises

    exercises = all_exercises()
    added = 0
    for cell in list(doctree.findall(nodes.container)):
        if _ragteach_meta(cell, "predict") is not None and collapse_predict_outputs(cell) and not added:
            cell.insert(0, nodes.raw("", STYLE, format="html"))
            added += 1
        name = exercise_name(cell)
        if name is None:
            continue
        if name not in exercises:
            logger.warning(f"exercise cell names an unknown exercise {name!r}; known: {sorted(exercises)}",
                           location=cell)
            continue
        new = solution_nodes(name, exercises[name].solution_code())
        if not added:  # the page's first solution brings the (inline) style
            new.insert(0, nodes.raw("", STYLE, format="html"))
        parent = cell.parent
        at = parent.index(cell) + 1
        parent[at:at] = new
        added += 1
    if added:
        logger.info(f"exercise_solutions: {added} collapsed solution(s) on {app.env.docname}")


def setup(app):
    app.connect("doctree-read", add_solutions)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
