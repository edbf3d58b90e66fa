"""Tables and sentences for notebooks and scripts: a list of dict rows as Markdown (renders in Jupyter and the
book), and measured sentences as a wrapped bulleted list."""
from __future__ import annotations

import re
import textwrap
from typing import Any, Sequence


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows as a Markdown table with the given columns (default: the first row's keys)."""
    if not rows:
        raise ValueError("rows must not be empty")
    columns = list(columns or rows[0].keys())
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value).replace("|", "\\|")


def bullets(sentences: Sequence[str], width: int = 80) -> str:
    """Sentences as a bulleted list wrapped at ``width`` characters: 80 fit the website's output column."""
    return "\n".join(textwrap.fill(s, width, initial_indent="• ", subsequent_indent="  ") for s in sentences)


#: A takeaway under a table is read at a glance: at most this many words (numbers and symbols do not count).
TAKEAWAY_WORDS = 25


def words(text: str) -> int:
    """Words a reader reads in ``text``: runs of letters (numbers, ± and % are not words)."""
    return len(re.findall(r"[A-Za-z][A-Za-z'’-]*", text))


def takeaway(text: str) -> str:
    """``Takeaway: <text>``, wrapped to the website's output column: the one line a reader keeps from a table.
    ``book/check_site.py`` checks that every takeaway on the site has at most :data:`TAKEAWAY_WORDS` words."""
    return textwrap.fill(f"Takeaway: {text}", 80, subsequent_indent="  ")
