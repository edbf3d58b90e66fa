"""Random attention heads (masked = structured on the same draw, fewer FLOPs, no draws at p_head = 1), the learning-rate
schedule, and notebook 03's verdicts: computed from the measurement, so two measurements that disagree read differently."""
import math

import pytest
import torch

from ragteach.data.text import load_text
from ragteach.lessons.random_activations import count_flops
from ragteach.stats import Difference, cost_verdict, paired_difference, which_is_lower
from ragteach.gpt.model import GPT, CausalSelfAttention, GPTConfig
from ragteach.gpt.random_activation import ActivationPolicy, ActivationSettings
from ragteach.gpt.random_heads import head_rows, masked_attention, structured_attention
from ragteach.gpt.train import GPTTrainer

CFG = GPTConfig(vocab_size=40, n_layer=2, n_head=4, n_embd=32, block_size=16)


def _attention(seed=0):
    torch.manual_seed(seed)
    attn = CausalSelfAttention(CFG)
    x = torch.randn(3, CFG.block_size, CFG.n_embd, generator=torch.Generator().manual_seed(seed + 1))
    return attn, x, (attn.c_attn.weight, attn.c_attn.bias, attn.c_proj.weight, attn.c_proj.bias, CFG.n_head)


@pytest.mark.parametrize("idx", [[0, 2], [3], [1, 2, 3]])
def test_structured_heads_equal_masked_and_cost_k_over_h(idx):
    attn, x, w = _attention()
    idx = torch.tensor(idx)
    a, b = masked_attention(x, *w, idx, 2.0), structured_attention(x, *w, idx, 2.0)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, attn(x), atol=1e-3)  # dropping heads changes the output
    dense = count_flops(lambda: masked_attention(x, *w, None))
    assert count_flops(lambda: masked_attention(x, *w, idx)) == dense
    assert count_flops(lambda: structured_attention(x, *w, idx)) == pytest.approx(dense * len(idx) / CFG.n_head, rel=0.01)


def test_a_kept_head_equals_that_head_of_the_dense_layer():
    attn, x, w = _attention()
    d = CFG.n_embd // CFG.n_head
    rows = head_rows(torch.tensor([2]), CFG.n_head, CFG.n_embd)
    assert rows.tolist() == [*range(2 * d, 3 * d), *range(CFG.n_embd + 2 * d, CFG.n_embd + 3 * d),
                             *range(2 * CFG.n_embd + 2 * d, 2 * CFG.n_embd + 3 * d)]
    only = structured_attention(x, *w, torch.tensor([2])) - attn.c_proj.bias
    torch.testing.assert_close(only, attn.heads(x)[:, 2] @ attn.c_proj.weight[:, 2 * d:3 * d].T)


def test_no_head_kept_leaves_the_bias_and_p_head_one_draws_nothing():
    attn, x, w = _attention()
    out = structured_attention(x, *w, torch.tensor([], dtype=torch.long))
    torch.testing.assert_close(out, attn.c_proj.bias.expand_as(out))
    pol = ActivationPolicy(ActivationSettings(p=0.5), seed=0)
    before = pol.gen.get_state()
    pol.begin(training=True)
    assert pol.draw_heads(4) == (None, 1.0) and torch.equal(pol.gen.get_state(), before)


def test_model_heads_masked_equals_structured_and_counts_heads():
    idx = torch.randint(0, CFG.vocab_size, (2, CFG.block_size), generator=torch.Generator().manual_seed(0))
    masked = GPT(CFG, ActivationSettings(p_head=0.5, impl="masked"), seed=3)
    structured = GPT(CFG, ActivationSettings(p_head=0.5, impl="structured"), seed=3)
    structured.load_state_dict(masked.state_dict())
    torch.testing.assert_close(masked(idx)[0], structured(idx)[0])
    pol = structured.policy
    assert pol.heads_seen == CFG.n_layer * CFG.n_head
    assert pol.heads_active == sum(b.attn.last_heads for b in structured.blocks) < pol.heads_seen
    dense = GPT(CFG, ActivationSettings(), seed=3)
    dense.load_state_dict(masked.state_dict())
    assert not torch.allclose(dense(idx)[0], masked(idx)[0], atol=1e-4)


def test_heads_kept_with_probability_p_head():
    pol = ActivationPolicy(ActivationSettings(p_head=0.25, rescale=True), seed=0)
    kept = []
    for _ in range(2000):
        pol.begin(training=True)
        idx, scale = pol.draw_heads(4)
        kept.append(idx.numel())
    assert scale == 4.0
    assert sum(kept) / (4 * len(kept)) == pytest.approx(0.25, abs=0.02)


def test_lr_schedule_warms_up_then_decays_to_the_floor():
    data = load_text()
    cfg = GPTConfig(vocab_size=len(data.vocab), n_layer=1, n_head=2, n_embd=16, block_size=8)
    tr = GPTTrainer(cfg, data, batch_size=2, lr=1e-2, warmup=4, total_steps=14, min_lr_ratio=0.1)
    used = [tr({})["lr_used"] for _ in range(16)]
    assert used[:4] == pytest.approx([2.5e-3, 5e-3, 7.5e-3, 1e-2])
    assert used[9] == pytest.approx(1e-2 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 5 / 10))))
    assert used[14:] == pytest.approx([1e-3, 1e-3])
    assert all(a >= b for a, b in zip(used[3:], used[4:]))
    with pytest.raises(ValueError, match="total_steps .* must exceed warmup"):
        GPTTrainer(cfg, data, warmup=10, total_steps=10)


def test_paired_difference_is_a_t_interval_over_batches():
    d = paired_difference([1.0, 2.0, 3.0, 4.0], [1.5, 2.4, 3.6, 4.5])
    diffs = [0.5, 0.4, 0.6, 0.5]
    sd = math.sqrt(sum((v - 0.5) ** 2 for v in diffs) / 3)
    assert d.mean == pytest.approx(0.5) and d.half == pytest.approx(3.182446 * sd / 2, rel=1e-5)
    with pytest.raises(ValueError, match="paired"):
        paired_difference([1.0, 2.0], [1.0])


def test_verdicts_follow_the_measurement():
    small, large, unsure = Difference(0.01, 0.01, 3), Difference(0.30, 0.02, 3), Difference(0.05, 0.04, 3)
    texts = {cost_verdict(m, 0.05) for m in (small, large, unsure)}
    assert len(texts) == 3
    assert cost_verdict(small, 0.05).startswith("holds")
    assert cost_verdict(large, 0.05).startswith("does not hold")
    assert cost_verdict(unsure, 0.05).startswith("inconclusive")
    assert which_is_lower(Difference(0.2, 0.05, 3), "a", "b").startswith("a loses less")
    assert which_is_lower(Difference(-0.2, 0.05, 3), "a", "b").startswith("b loses less")
    assert which_is_lower(Difference(0.02, 0.05, 3), "a", "b").startswith("no difference")


def test_runs_trained_in_worker_processes_equal_runs_trained_here():
    from ragteach.lessons.random_activations import train_quality_runs

    data = load_text()
    cfg = GPTConfig(vocab_size=len(data.vocab), n_layer=1, n_head=2, n_embd=16, block_size=8)
    settings = [{"p": 1.0}, {"p": 0.5}, {"p": 1.0, "p_head": 0.5}]
    common = dict(batch_size=4, eval_batches=3, curve_batches=1, eval_every=3)
    here = train_quality_runs(data, cfg, settings, 6, workers=1, **common)
    there = train_quality_runs(data, cfg, settings, 6, workers=2, **common)
    for a, b in zip(here, there):
        assert a.settings == b.settings and a.scores == b.scores
        assert [r["val_loss"] for r in a.history] == [r["val_loss"] for r in b.history]
        assert a.trainer.sample("def ", 12, seed=3) == b.trainer.sample("def ", 12, seed=3)
    assert here[0].scores["dense_batches"] != here[1].scores["dense_batches"]
    with pytest.raises(ValueError, match="unknown"):
        train_quality_runs(data, cfg, [{"p": 1.0, "q": 2}], 2)
