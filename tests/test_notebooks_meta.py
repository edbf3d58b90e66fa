"""Every notebook opens on Colab and Binder and runs with a named kernel; its install cell is Colab-only.

Parametrised over ``notebooks/*.ipynb``, so a new notebook is checked as soon as it lands. The install cell
(the notebook's first code cell) is executed here with ``subprocess.run`` replaced by a recorder: off Colab
it must call nothing; with Colab's ``COLAB_RELEASE_TAG`` set, or with ``google.colab`` importable, it must
call pip exactly once to install ragteach from the same repository and branch its Colab badge opens.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
COLAB_BADGE = re.compile(r"\[!\[Open In Colab\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]"
                         r"\(https://colab\.research\.google\.com/github/(?P<repo>[\w.-]+/[\w.-]+)/blob/"
                         r"(?P<branch>[\w./-]+?)/notebooks/(?P<file>[\w.-]+\.ipynb)\)")
BINDER_BADGE = re.compile(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]"
                          r"\(https://mybinder\.org/v2/gh/(?P<repo>[\w.-]+/[\w.-]+)/(?P<branch>[\w./-]+)"
                          r"\?labpath=notebooks/(?P<file>[\w.-]+\.ipynb)\)")


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def install_cell(nb: dict) -> str:
    return source(next(c for c in nb["cells"] if c["cell_type"] == "code"))


def colab_badge(nb: dict) -> re.Match:
    match = COLAB_BADGE.search(source(nb["cells"][0]))
    assert match, "the first cell has no 'Open In Colab' badge"
    return match


def run_install_cell(code: str, monkeypatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def fake_run(args, *a, **kw):
        calls.append(list(args))
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(subprocess, "check_call", lambda args, *a, **kw: fake_run(args) and 0)
    monkeypatch.setattr(subprocess, "call", lambda args, *a, **kw: fake_run(args) and 0)
    exec(compile(code, "<install cell>", "exec"), {"__name__": "__main__"})
    return calls


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/*.ipynb found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_badges_point_at_this_notebook(path):
    nb = load(path)
    colab = colab_badge(nb)
    assert colab["file"] == path.name, f"the Colab badge opens {colab['file']}, not {path.name}"
    binder = BINDER_BADGE.search(source(nb["cells"][0]))
    assert binder, "the first cell has no Binder badge"
    assert (binder["repo"], binder["branch"], binder["file"]) == (colab["repo"], colab["branch"], path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_kernelspec_names_a_python_kernel(path):
    meta = load(path)["metadata"]
    spec = meta.get("kernelspec", {})
    assert spec.get("name") == "python3" and spec.get("language") == "python" and spec.get("display_name"), \
        f"kernelspec must name the python3 kernel (JupyterLab then opens it without a kernel dialog): {spec}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_install_cell_is_a_no_op_off_colab(path, monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert run_install_cell(install_cell(load(path)), monkeypatch) == []


@pytest.mark.parametrize("colab_signal", ["env", "module"])
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_install_cell_installs_this_repository_on_colab(path, colab_signal, monkeypatch):
    nb = load(path)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    if colab_signal == "env":
        monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20260101-060000_RC00")
    else:
        monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    calls = run_install_cell(install_cell(nb), monkeypatch)
    assert len(calls) == 1, f"expected one pip call on Colab, got {calls}"
    argv = calls[0]
    assert argv[:4] == [sys.executable, "-m", "pip", "install"], argv
    badge = colab_badge(nb)
    wanted = f"ragteach @ git+https://github.com/{badge['repo']}@{badge['branch']}"
    assert wanted in argv, f"pip should install {wanted!r} (the source the Colab badge opens), got {argv}"


def test_index_links_every_notebook_in_order():
    """`make lab` opens index.ipynb: it must link every notebook, in file-name order."""
    index = Path(__file__).resolve().parents[1] / "index.ipynb"
    nb = load(index)
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"
    text = "".join(source(c) for c in nb["cells"])
    positions = [text.find(f"](notebooks/{p.name})") for p in NOTEBOOKS]
    missing = [p.name for p, at in zip(NOTEBOOKS, positions) if at < 0]
    assert not missing, f"index.ipynb does not link {missing}"
    assert positions == sorted(positions), "index.ipynb lists the notebooks out of order"
