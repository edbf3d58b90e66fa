import subprocess
import sys

from ragteach import by_mode, quick_mode


def test_quick_mode_reads_the_environment(monkeypatch):
    monkeypatch.setenv("RAGTEACH_QUICK", "1")
    assert quick_mode() and by_mode(1000, 10) == 10
    monkeypatch.setenv("RAGTEACH_QUICK", "0")
    assert not quick_mode() and by_mode(1000, 10) == 1000
    monkeypatch.delenv("RAGTEACH_QUICK")
    assert not quick_mode()


def test_core_package_does_not_import_jupyter():
    code = ("import sys, ragteach, ragteach.live, ragteach.gan.train, ragteach.gan.plots, "
            "ragteach.metrics.samples, ragteach.exercises.gan_basics; "
            "bad = [m for m in ('ipywidgets', 'IPython', 'ipykernel') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_training_threads_follow_the_mode_and_the_override(monkeypatch):
    import os

    import pytest
    import torch

    from ragteach.config import threads, training_threads

    monkeypatch.delenv("RAGTEACH_THREADS", raising=False)
    monkeypatch.setenv("RAGTEACH_QUICK", "1")
    assert training_threads() == 1                                   # tests share the cores
    monkeypatch.setenv("RAGTEACH_QUICK", "0")
    assert training_threads() == min(2, os.cpu_count() or 1)
    monkeypatch.setenv("RAGTEACH_THREADS", "3")                       # a classroom server's choice wins
    assert training_threads() == 3
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv("RAGTEACH_THREADS", bad)
        with pytest.raises(ValueError, match="RAGTEACH_THREADS"):
            training_threads()
    before = torch.get_num_threads()
    with threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before                          # restored, also after an error
    with pytest.raises(RuntimeError):
        with threads(1):
            raise RuntimeError("interrupted")
    assert torch.get_num_threads() == before
