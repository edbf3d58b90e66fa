"""Every checker of notebook 03 accepts a right answer and refuses wrong ones with a hint."""
import torch
import torch.nn.functional as F

from ragteach.exercises import random_activations as ex


def test_mean_p_checker():
    assert ex.check_mean_p(lambda lam, a, b: lam * a / (a + b))
    no_lam = ex.check_mean_p(lambda lam, a, b: a / (a + b))
    assert not no_lam and "multiply by λ" in no_lam.message
    swapped = ex.check_mean_p(lambda lam, a, b: lam * b / (a + b))
    assert not swapped and "swapped" in swapped.message

    def todo(lam, a, b):
        raise NotImplementedError

    assert "NotImplementedError" in ex.check_mean_p(todo).message


def right_structured(x, w_fc, b_fc, w_proj, b_proj, idx):
    return F.linear(F.gelu(F.linear(x, w_fc[idx], b_fc[idx])), w_proj[:, idx], b_proj)


def test_structured_mlp_checker():
    assert ex.check_structured_mlp(right_structured)

    def mask_after(x, w_fc, b_fc, w_proj, b_proj, idx):  # right numbers, all units computed
        h = F.gelu(F.linear(x, w_fc, b_fc))
        m = torch.zeros(w_fc.shape[0])
        m[idx] = 1
        return F.linear(h * m, w_proj, b_proj)

    masked = ex.check_structured_mlp(mask_after)
    assert not masked and "computed all" in masked.message
    no_bias = ex.check_structured_mlp(lambda *a: right_structured(*a) - a[4])
    assert not no_bias and "bias" in no_bias.message
    dense = ex.check_structured_mlp(lambda x, w1, b1, w2, b2, idx: F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2))
    assert not dense and "dense" in dense.message
    wrong_cols = ex.check_structured_mlp(lambda x, w1, b1, w2, b2, idx: F.linear(
        F.gelu(F.linear(x, w1[idx], b1[idx])), w2[:, : len(idx)], b2))
    assert not wrong_cols and "W₂[:, idx]" in wrong_cols.message


def test_mlp_flops_checker():
    assert ex.check_mlp_flops(lambda tokens, c, k: 4 * tokens * c * k)
    half = ex.check_mlp_flops(lambda tokens, c, k: 2 * tokens * c * k)
    assert not half and "half" in half.message
    dense = ex.check_mlp_flops(lambda tokens, c, k: 16 * tokens * c * c)
    assert not dense and "dense" in dense.message


def test_dynamics_mean_checker():
    assert ex.check_dynamics_mean(lambda y0, lam, a, b, t: y0 * (lam * a / (a + b)) ** t)
    linear = ex.check_dynamics_mean(lambda y0, lam, a, b, t: y0 * lam * a / (a + b) * t)
    assert not linear and "compounds" in linear.message
    no_lam = ex.check_dynamics_mean(lambda y0, lam, a, b, t: y0 * (a / (a + b)) ** t)
    assert not no_lam and "λ" in no_lam.message
