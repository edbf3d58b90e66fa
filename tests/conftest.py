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
