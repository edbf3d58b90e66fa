"""Random activation: validation, the two implementations agree, and the structured one really computes less."""
import numpy as np
import pytest
import torch

from ragteach.lessons.random_activations import count_flops
from ragteach.gpt.dynamics import simulate_dynamics
from ragteach.gpt.random_activation import ActivationPolicy, ActivationSettings, activation_knob_list
from ragteach.gpt.sparse_mlp import RandomActivationMLP, masked_mlp, structured_mlp, topk_mlp
from ragteach.knobs import Knobs


def _weights(C=16, H=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(2, 5, C, generator=g), torch.randn(H, C, generator=g), torch.randn(H, generator=g),
            torch.randn(C, H, generator=g), torch.randn(C, generator=g))


def test_bad_settings_are_refused_with_what_to_change():
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 1.5"):
        ActivationSettings(p=1.5)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 20\], got 0"):
        ActivationSettings(alpha=0)
    with pytest.raises(ValueError, match=r"beta must be in \(0, 20\], got -1"):
        ActivationSettings(beta=-1)
    with pytest.raises(ValueError, match=r"lam must be in \(0, 1\], got 1.2.*refused, not clipped"):
        ActivationSettings(lam=1.2)
    with pytest.raises(ValueError, match="impl must be one of"):
        ActivationSettings(impl="sparse")
    knobs = Knobs.of(*activation_knob_list())
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 1.5"):
        knobs["p"] = 1.5
    assert knobs["p"] == 1.0


def test_update_is_all_or_nothing():
    s = ActivationSettings(p=0.5)
    with pytest.raises(ValueError):
        s.update({"p": 0.25, "alpha": -3})
    assert s.p == 0.5
    s.update({"p": 0.25, "lr": 1e-3})  # unknown keys (the learning rate) are ignored
    assert s.p == 0.25


@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_masked_and_structured_agree_on_the_same_units(scale):
    x, w1, b1, w2, b2 = _weights()
    idx = torch.tensor([0, 3, 7, 8, 20, 41, 63])
    a = masked_mlp(x, w1, b1, w2, b2, idx, scale)
    b = structured_mlp(x, w1, b1, w2, b2, idx, scale)
    assert torch.allclose(a, b, atol=1e-5)
    # and they differ from the dense output, so the test would notice units being ignored
    assert not torch.allclose(a, masked_mlp(x, w1, b1, w2, b2, None), atol=1e-3)


def test_masked_and_structured_gradients_agree():
    x, w1, b1, w2, b2 = _weights()
    idx = torch.tensor([1, 2, 30, 50])
    grads = []
    for fn in (masked_mlp, structured_mlp):
        ws = [w.clone().requires_grad_() for w in (w1, b1, w2, b2)]
        fn(x, *ws, idx, 2.0).square().sum().backward()
        grads.append([w.grad for w in ws])
    for ga, gb in zip(*grads):
        assert torch.allclose(ga, gb, atol=1e-4)
    inactive = torch.ones(64, dtype=torch.bool)
    inactive[idx] = False
    assert grads[1][0][inactive].abs().sum() == 0  # inactive units get no gradient


def test_structured_computes_only_k_units_by_flop_count():
    x, w1, b1, w2, b2 = _weights(C=32, H=128)
    tokens, C, H = 10, 32, 128
    idx = torch.arange(0, 128, 4)  # k = 32 of 128
    dense = count_flops(lambda: masked_mlp(x, w1, b1, w2, b2, None))
    assert dense == 2 * 2 * tokens * C * H
    assert count_flops(lambda: masked_mlp(x, w1, b1, w2, b2, idx)) == dense          # the article's way: no saving
    assert count_flops(lambda: structured_mlp(x, w1, b1, w2, b2, idx)) == dense // 4  # k/H of the work


def test_module_uses_gathered_weights_and_both_impls_draw_the_same_units():
    torch.manual_seed(0)
    outs, shapes = [], []
    for impl in ("masked", "structured"):
        pol = ActivationPolicy(ActivationSettings(p=0.25, impl=impl), seed=3)
        torch.manual_seed(0)
        mlp = RandomActivationMLP(16, 64, pol)
        pol.begin(training=True)
        outs.append(mlp(torch.ones(2, 3, 16)))
        shapes.append(mlp.last_weight_shapes)
        k = pol.units_active
    assert torch.allclose(outs[0], outs[1], atol=1e-5)
    assert shapes[0] == ((64, 16), (16, 64))
    assert shapes[1] == ((k, 16), (16, k)) and 0 < k < 40


def test_active_in_controls_when_units_are_dropped():
    pol = ActivationPolicy(ActivationSettings(p=0.5, active_in="train"))
    assert pol.begin(training=True) == 0.5 and pol.begin(training=False) == 1.0
    pol.settings.update({"active_in": "generate"})
    assert pol.begin(training=True) == 1.0 and pol.begin(training=False) == 0.5
    assert pol.draw_units(100)[0] is not None


def test_p_zero_and_p_one():
    pol = ActivationPolicy(ActivationSettings(p=0.0))
    pol.begin(True)
    idx, scale = pol.draw_units(64)
    assert idx.numel() == 0 and scale == 1.0  # no unit, no division by zero
    x, w1, b1, w2, b2 = _weights()
    assert torch.allclose(structured_mlp(x, w1, b1, w2, b2, idx), b2.expand(2, 5, 16))
    pol.settings.update({"p": 1.0})
    pol.begin(True)
    assert pol.draw_units(64) == (None, 1.0)


def test_beta_p_has_the_formula_mean_and_stays_in_range():
    s = ActivationSettings(source="beta", lam=0.8, alpha=2.0, beta=6.0)
    pol = ActivationPolicy(s, seed=0)
    ps = np.array([pol.begin(True) for _ in range(4000)])
    assert ps.min() >= 0 and ps.max() <= 0.8
    assert abs(ps.mean() - s.mean_p()) < 0.01 and s.mean_p() == pytest.approx(0.2)


def test_bernoulli_units_have_mean_p_and_rescale_keeps_the_expectation():
    pol = ActivationPolicy(ActivationSettings(p=0.3), seed=1)
    pol.begin(True)
    ks = [pol.draw_units(1000)[0].numel() for _ in range(200)]
    assert abs(np.mean(ks) / 1000 - 0.3) < 0.01
    # the masked MLP is linear in its mask m·s, so E[output] = dense output iff E[m_j·s] = 1 for every unit
    for rescale, want in ((True, 1.0), (False, 0.3)):
        pol.settings.update({"rescale": rescale})
        total = torch.zeros(64)
        for _ in range(3000):
            idx, scale = pol.draw_units(64)
            total[idx] += scale
        assert (total / 3000 - want).abs().max() < 0.15 * want


def test_topk_keeps_the_largest_units():
    x, w1, b1, w2, b2 = _weights()
    assert torch.allclose(topk_mlp(x, w1, b1, w2, b2, 64), masked_mlp(x, w1, b1, w2, b2, None), atol=1e-5)
    h = torch.nn.functional.gelu(torch.nn.functional.linear(x, w1, b1))
    top = h.abs().topk(8, dim=-1).indices[0, 0]
    y = topk_mlp(x[:1, :1], w1, b1, w2, b2, 8)
    assert torch.allclose(y, masked_mlp(x[:1, :1], w1, b1, w2, b2, top), atol=1e-5)


def test_policy_state_round_trip():
    a = ActivationPolicy(ActivationSettings(source="beta", p=0.5), seed=5)
    a.begin(True)
    state = a.state_dict()
    first = [a.begin(True) for _ in range(3)] + [a.draw_units(32)[0].tolist()]
    b = ActivationPolicy(ActivationSettings(), seed=99)
    b.load_state_dict(state)
    assert [b.begin(True) for _ in range(3)] + [b.draw_units(32)[0].tolist()] == first


def test_toy_dynamics_follows_its_formula_and_forgets_y0():
    s = ActivationSettings(source="beta", lam=0.9, alpha=2, beta=2)
    y, P = simulate_dynamics(50, s, y0=5.0, noise_std=0.1, seed=0)
    assert y.shape == P.shape == (51,)
    y2, _ = simulate_dynamics(50, s, y0=5.0, noise_std=0.0, seed=0)
    assert np.allclose(y2[1:], y2[:-1] * P[1:])
    assert abs(y2[-1]) < 5.0 * 0.9 ** 50 + 1e-12
    with pytest.raises(ValueError, match="noise_std"):
        simulate_dynamics(10, s, noise_std=-1)


def test_structured_keeps_less_activation_memory_and_masked_does_not():
    from ragteach.lessons.random_activations import saved_for_backward_bytes
    x, w1, b1, w2, b2 = _weights(C=32, H=128)
    w = [t.requires_grad_() for t in (w1, b1, w2, b2)]
    idx = torch.arange(0, 128, 4)
    dense = saved_for_backward_bytes(lambda: masked_mlp(x, *w, None))
    masked = saved_for_backward_bytes(lambda: masked_mlp(x, *w, idx, 4.0))
    structured = saved_for_backward_bytes(lambda: structured_mlp(x, *w, idx, 4.0))
    assert masked >= dense
    assert structured < 0.5 * dense


def test_mlp_flop_share_of_the_notebook_model():
    from ragteach.lessons.random_activations import mlp_flop_share
    from ragteach.gpt.model import GPTConfig
    share = mlp_flop_share(GPTConfig(vocab_size=103))
    assert 0.5 < share < 0.8  # 16·C² of the ~(24·C² + attention + head) per token


def _run(p, dense, random):
    """A quality run with given per-batch validation losses (no trainer needed to compare losses)."""
    from ragteach.runs import Run
    scores = {"dense_batches": list(dense), "random_batches": list(random)} if dense else {}
    return Run({"p": p, "p_head": 1.0, "rescale": True, "steps": 10}, scores=scores)


def test_quality_is_kept_only_against_the_dense_model():
    from ragteach.lessons.random_activations import costs_vs_dense
    from ragteach.stats import cost_verdict
    dense = _run(1.0, [1.40, 1.45, 1.50, 1.46], [1.40, 1.45, 1.50, 1.46])
    # random kept on costs ~0.01 against the sparse model itself, but ~0.75 against the dense model
    sparse = _run(0.25, [2.14, 2.19, 2.24, 2.20], [2.15, 2.20, 2.25, 2.21])
    all_on, random_on = costs_vs_dense(dense, sparse)
    assert all_on.mean == pytest.approx(0.74) and random_on.mean == pytest.approx(0.75)
    assert cost_verdict(random_on, 0.05).startswith("does not hold")
    with pytest.raises(ValueError, match="per-batch"):
        costs_vs_dense(dense, _run(0.5, (), ()))


def test_an_inconclusive_cost_says_what_the_run_can_resolve():
    from ragteach.stats import Difference, cost_verdict
    text = cost_verdict(Difference(0.06, 0.025, 3), 0.05)
    assert text.startswith("inconclusive") and "resolves only costs more than 0.025 from 0.05" in text
