"""Fixtures shared by several test modules."""
import pytest
import torch


@pytest.fixture
def float64():
    """torch's default dtype is float64 for the whole test: a batched product sums in another order than a plain
    one, and a GAN amplifies float32 rounding chaotically within some steps; in double precision the differences
    stay far below the tests' 1e-9 tolerance."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def toy_run(method, mixture, seed, modes, high_quality=None, d_accuracy=None, steps=None, kept=None):
    """A toy run built from numbers (no trainer), as the verdicts read it: one history row per evaluation."""
    from ragteach.runs import Run

    n = len(modes)
    columns = {"step": steps or list(range(1, n + 1)), "modes": modes, "high_quality": high_quality or [0.0] * n}
    if d_accuracy is not None:
        columns["d_accuracy"] = d_accuracy
    history = [{k: v[i] for k, v in columns.items()} for i in range(n)]
    return Run({"method": method, "mixture": mixture, "seed": seed}, history, {} if kept is None else {"kept": kept})
