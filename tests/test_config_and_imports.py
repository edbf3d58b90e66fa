import subprocess
import sys

from ragteach import by_mode, mode_line, quick_mode, run_banner


def test_quick_mode_reads_the_environment(monkeypatch):
    monkeypatch.setenv("RAGTEACH_QUICK", "1")
    assert quick_mode() and by_mode(1000, 10) == 10
    monkeypatch.setenv("RAGTEACH_QUICK", "0")
    assert not quick_mode() and by_mode(1000, 10) == 1000
    monkeypatch.delenv("RAGTEACH_QUICK")
    assert not quick_mode()


def test_the_mode_line_warns_in_quick_mode_only_and_opens_the_banner(monkeypatch):
    monkeypatch.setenv("RAGTEACH_QUICK", "1")
    assert "NOT results" in mode_line() and run_banner().startswith(mode_line())
    monkeypatch.setenv("RAGTEACH_QUICK", "0")
    assert mode_line() == "full mode" and run_banner().startswith("full mode · ")


def test_core_package_does_not_import_jupyter():
    code = ("import sys, ragteach, ragteach.live, ragteach.gan.train, ragteach.gan.plots, "
            "ragteach.metrics.samples, ragteach.exercises.gan_basics; "
            "bad = [m for m in ('ipywidgets', 'IPython', 'ipykernel') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
