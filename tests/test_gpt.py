"""The character corpus and the small GPT: data split, vocabulary errors, shapes, a step that learns."""
import pytest
import torch

from ragteach.data.text import CharVocab, load_text
from ragteach.gpt.model import GPT, GPTConfig
from ragteach.lessons.random_activations import count_flops
from ragteach.gpt.random_activation import ActivationSettings
from ragteach.gpt.train import GPTTrainer, gpt_knobs
from ragteach.live.session import TrainingSession
from ragteach.training import with_periodic_metrics


@pytest.fixture(scope="module")
def data():
    return load_text()


def tiny(data, **kw):
    return GPTConfig(vocab_size=len(data.vocab), block_size=16, n_layer=2, n_head=2, n_embd=32, **kw)


def test_corpus_split_and_vocab(data):
    n = len(data.train) + len(data.val)
    assert n > 400_000 and abs(len(data.val) / n - 0.1) < 0.001
    assert len(data.vocab) == 103
    assert data.vocab.decode(data.vocab.encode("def f(x):\n    return x")) == "def f(x):\n    return x"
    x, y = data.batch("val", 4, 16, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 16) and torch.equal(x[:, 1:], y[:, :-1])


def test_unknown_characters_are_named(data):
    with pytest.raises(ValueError, match=r"not in the vocabulary: '€' \(U\+20AC\)"):
        data.vocab.encode("price: 5€")
    with pytest.raises(ValueError, match="split must be"):
        data.batch("test", 2, 8)
    with pytest.raises(ValueError, match="too short"):
        load_text("abc")
    with pytest.raises(ValueError, match="unique"):
        CharVocab("aa")


def test_model_shapes_params_and_input_checks(data):
    cfg = GPTConfig(vocab_size=len(data.vocab))
    model = GPT(cfg)
    assert 200_000 < model.n_params() < 600_000
    logits, loss = model(torch.zeros(2, 10, dtype=torch.long), torch.zeros(2, 10, dtype=torch.long))
    assert logits.shape == (2, 10, len(data.vocab)) and loss.ndim == 0
    with pytest.raises(TypeError, match="integer character ids"):
        model(torch.zeros(2, 10))  # the article fed floats to its embedding
    with pytest.raises(ValueError, match="exceeds block_size"):
        model(torch.zeros(1, 65, dtype=torch.long))
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(n_embd=30, n_head=4)


def test_causality(data):
    torch.manual_seed(0)
    model = GPT(tiny(data)).eval()
    x = torch.randint(0, len(data.vocab), (1, 12))
    y = x.clone()
    y[0, 8] = (y[0, 8] + 1) % len(data.vocab)
    assert torch.allclose(model(x)[0][0, :8], model(y)[0][0, :8], atol=1e-6)
    assert not torch.allclose(model(x)[0][0, 8:], model(y)[0][0, 8:], atol=1e-6)


def test_structured_model_flops_scale_with_p(data):
    cfg = tiny(data)
    x = torch.zeros(4, 16, dtype=torch.long)
    flops = {}
    for impl in ("masked", "structured"):
        for p in (1.0, 0.25):
            model = GPT(cfg, ActivationSettings(p=p, impl=impl), seed=0)
            flops[impl, p] = count_flops(lambda: model(x))
            active = model.policy.units_active / model.policy.units_seen
    mlp_dense = cfg.n_layer * 2 * 2 * 4 * 16 * cfg.n_embd * 4 * cfg.n_embd
    assert flops["masked", 0.25] == flops["masked", 1.0] == flops["structured", 1.0]
    saved = flops["structured", 1.0] - flops["structured", 0.25]
    assert saved == pytest.approx(mlp_dense * (1 - active), rel=1e-6)


def test_training_step_learns_and_is_deterministic(data):
    def run():
        tr = GPTTrainer(tiny(data), data, batch_size=8, seed=0, eval_batches=2)
        s = TrainingSession(tr, gpt_knobs(lr=3e-3, p=0.5, active_in="train"))
        s.step_fn = with_periodic_metrics(tr, 20, lambda: {"val_loss": tr.evaluate("val")["loss"]})
        s.run(60, progress=False)
        return tr, s

    tr, s = run()
    losses = s.metric("loss")
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10 - 0.5
    assert len(s.metric("val_loss")) == 3 and all(r["p_drawn"] == 0.5 for r in s.history)
    assert 0.3 < s.history[-1]["active"] < 0.7
    tr2, s2 = run()
    assert s2.metric("loss") == losses


def test_knob_change_reaches_the_model_and_checkpoint_roundtrip(data, tmp_path):
    tr = GPTTrainer(tiny(data), data, batch_size=4, seed=0)
    s = TrainingSession(tr, gpt_knobs(source="beta", lam=0.5, alpha=2, beta=2))
    s.run(3, progress=False)
    s.set_knob("impl", "masked")
    s.run(2, progress=False)
    assert tr.settings.impl == "masked" and all(0 <= r["p_drawn"] <= 0.5 for r in s.history)
    path = s.save(tmp_path / "gpt.pt")
    s.run(3, progress=False)
    after = s.history[-3:]
    s.load(path)
    s.run(3, progress=False)
    assert [r["loss"] for r in s.history[-3:]] == [r["loss"] for r in after]


def test_sample_refuses_unknown_prompt_and_does_not_disturb_training(data):
    tr = GPTTrainer(tiny(data), data, batch_size=4, seed=0, settings=ActivationSettings(p=0.5))
    text = tr.sample("def ", 20)
    assert text.startswith("def ") and len(text) == 24
    state = tr.model.policy.state_dict()
    tr.sample("x", 5)
    assert torch.equal(state["gen"], tr.model.policy.state_dict()["gen"])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tr.sample("naïve ✓", 5)
    with pytest.raises(ValueError, match="vocab_size"):
        GPTTrainer(GPTConfig(vocab_size=10), data)
