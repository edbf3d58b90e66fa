"""Class mode's stored results against a fresh full-mode run: every table within its intervals.

    python book/check_results.py snapshot [EXECUTED]   # `make results`: keep the tables beside the stored results
    python book/check_results.py [EXECUTED]            # CI, after `make book`: the site's tables agree with them

EXECUTED is a folder of executed notebooks (default: the website build's). A table's cell "m ± h" must overlap
the stored "m' ± h'" (|m - m'| <= h + h'); its rows and columns must be the same. Timing columns differ from
machine to machine and are skipped; cells without an interval are compared only in the summary line.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from ragteach.results import STORE, STORE_ENV

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "book" / "_build" / "jupyter_execute" / "notebooks"
STORED = Path(os.environ.get(STORE_ENV, "").strip() or STORE)   # where class mode loads from
TIMING = re.compile(r"(?i)second|\bs$|\bms\b|speed-up|faster|time|/s\b")
INTERVAL = re.compile(r"^\s*([-−+]?\d[\d,]*\.?\d*)\s*±\s*(\d[\d,]*\.?\d*)")


def notebook_tables(path: Path) -> list[dict]:
    """Every markdown table a notebook's outputs display: its cell, header and rows."""
    tables = []
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        for output in cell.get("outputs", []):
            text = "".join(output.get("data", {}).get("text/markdown", ""))
            lines = [line for line in text.splitlines() if line.startswith("|")]
            if len(lines) > 2:
                split = [[c.strip() for c in line.strip().strip("|").split(" | ")] for line in lines]
                tables.append({"cell": index, "header": split[0], "rows": split[2:]})
    return tables


def interval(cell: str) -> tuple[float, float] | None:
    match = INTERVAL.match(cell)
    if not match:
        return None
    number = lambda s: float(s.replace(",", "").replace("−", "-"))
    return number(match.group(1)), number(match.group(2))


def table_problems(name: str, fresh: dict, stored: dict) -> tuple[list[str], int]:
    """What disagrees between one fresh table and its stored version, and how many intervals were compared."""
    where = f"{name}, table of cell {stored['cell']}"
    if fresh["header"] != stored["header"] or len(fresh["rows"]) != len(stored["rows"]):
        return [f"{where}: its columns or rows changed (run `make results` to store the new table)"], 0
    problems, compared = [], 0
    for new, old in zip(fresh["rows"], stored["rows"]):
        for column, a, b in zip(stored["header"], new, old):
            if TIMING.search(column) or interval(a) is None or interval(b) is None:
                continue
            (m, h), (m0, h0) = interval(a), interval(b)
            compared += 1
            if abs(m - m0) > h + h0 + 1e-9:
                problems.append(f"{where}, row {old[0]!r}, {column!r}: {a} now, {b} stored: the intervals "
                                f"do not overlap")
    return problems, compared


def main(argv: list[str]) -> int:
    snapshot = bool(argv) and argv[0] == "snapshot"
    argv = argv[1:] if snapshot else argv
    executed = Path(argv[0]) if argv else EXECUTED
    notebooks = sorted(p for p in executed.glob("*.ipynb") if (STORED / p.stem).is_dir())
    if not notebooks:
        print(f"no executed notebook in {executed} has stored results in {STORED}: run `make results`")
        return 1
    problems, compared = [], 0
    for path in notebooks:
        tables, target = notebook_tables(path), STORED / path.stem / "tables.json"
        if snapshot:
            target.write_text(json.dumps(tables, indent=0, ensure_ascii=False) + "\n")
            continue
        stored = json.loads(target.read_text()) if target.exists() else []
        if len(tables) != len(stored):
            problems.append(f"{path.stem}: {len(tables)} tables now, {len(stored)} stored")
            continue
        for fresh, old in zip(tables, stored):
            found, n = table_problems(path.stem, fresh, old)
            problems += found
            compared += n
    if snapshot:
        print(f"stored the tables of {len(notebooks)} notebooks beside their results in {STORED}")
        return 0
    for problem in problems:
        print("DRIFT:", problem)
    print(f"{compared} intervals of {len(notebooks)} notebooks compared with the stored results: "
          f"{len(problems)} disagree")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
