"""The trainer contract (ragteach/training.py), checked for every trainer the way scikit-learn's
``check_estimator`` checks every estimator: one suite, parametrised over the six trainers.

Each check would fail on a defect found by probing the trainers from outside (issue 11):
- same seed → same losses; building a trainer leaves torch's global generator alone;
- a checkpoint round trip, and a resumed run equal to an uninterrupted one (RNG state included);
- a NaN at step n leaves the step n−1 state (weights, optimiser, RNG, step count) — also when only the
  *last* update of a step (the GAN's G) is NaN and an earlier one (D) was already applied — and the run
  continues exactly after the cause is fixed;
- a checkpoint of another architecture, or a damaged one, is refused and changes nothing.
"""
from __future__ import annotations

import io
import math
from typing import Any, Callable

import pytest
import torch

from ragteach.data.digits import load_digits
from ragteach.data.text import load_text
from ragteach.data.toy2d import ring
from ragteach.gan.batched import BatchedGANTrainer
from ragteach.gan.conditional import CGANTrainer, cgan_knobs
from ragteach.gan.models import GANConfig, toy_config
from ragteach.gan.train import GANTrainer, gan_knobs
from ragteach.gpt.model import GPTConfig
from ragteach.gpt.train import GPTTrainer, gpt_knobs
from ragteach.live import TrainingSession
from ragteach.lessons.retrieval_generation import make_setup, new_rag
from ragteach.retrieval.generator import CopyGenerator
from ragteach.retrieval.rag import RAG
from ragteach.retrieval.text import tokenize
from ragteach.retrieval.train import RAGTrainer, rag_knobs
from ragteach.training import CheckpointMismatchError, NonFiniteLossError, Trainer, eval_mode, without_undo
from ragteach.vae.model import VAEConfig
from ragteach.vae.train import VAETrainer, vae_knobs

torch.set_num_threads(1)


# ---------------------------------------------------------------------------- the six trainers, small
def _gan(seed: int = 0, pack: int = 1) -> tuple[Trainer, Any]:
    return GANTrainer(toy_config(pack=pack), ring().sample, batch_size=32, seed=seed), gan_knobs()


def _batched(seed: int = 0, pack: int = 1) -> tuple[Trainer, Any]:
    # two runs side by side; its runs' seeds are part of its checkpoint
    return BatchedGANTrainer(toy_config(pack=pack), ring().sample, [seed, seed + 10], batch_size=32), gan_knobs()


def _digits():
    d = load_digits()
    return d.x_train[:300], d.y_train[:300]


def _cgan(seed: int = 0, hidden: int = 32) -> tuple[Trainer, Any]:
    x, y = _digits()
    cfg = GANConfig(z_dim=8, data_dim=64, g_hidden=(hidden,), d_hidden=(hidden,), g_out="tanh")
    return CGANTrainer(cfg, x, y, batch_size=16, seed=seed), cgan_knobs()


def _vae(seed: int = 0, hidden: int = 32) -> tuple[Trainer, Any]:
    x, _ = _digits()
    return VAETrainer(VAEConfig(hidden=(hidden,)), x, batch_size=16, seed=seed), vae_knobs()


_TEXT = None


def _gpt(seed: int = 0, n_embd: int = 16) -> tuple[Trainer, Any]:
    global _TEXT
    _TEXT = _TEXT or load_text()
    cfg = GPTConfig(block_size=16, vocab_size=len(_TEXT.vocab), n_layer=1, n_head=2, n_embd=n_embd)
    # p = 0.5 with random activation in training: the policy's own generators are part of the state
    return GPTTrainer(cfg, _TEXT, batch_size=4, seed=seed, eval_batches=1), gpt_knobs(p=0.5)


_SETUP = None


def _rag(seed: int = 0, variant: int = 0) -> tuple[Trainer, Any]:
    global _SETUP
    _SETUP = _SETUP or make_setup(dense_steps=5)
    model = new_rag(_SETUP, seed=seed)
    if variant:  # another architecture: a wider reader
        words = sorted({w for q in _SETUP.train for w in tokenize(q.answer)})
        model = RAG(_SETUP.vocab, model.query_encoder, CopyGenerator(_SETUP.vocab, words, hidden=32, seed=seed))
    trainer = RAGTrainer(model, _SETUP.index(query_encoder=model.query_encoder), _SETUP.train[:64],
                         batch_size=8, seed=seed)
    return trainer, rag_knobs(k=3)


# name → (build(seed), build another architecture)
TRAINERS: dict[str, tuple[Callable[..., tuple[Trainer, Any]], Callable[[], tuple[Trainer, Any]]]] = {
    "gan": (_gan, lambda: _gan(pack=2)),
    "batched gan": (_batched, lambda: _batched(pack=2)),
    "cgan": (_cgan, lambda: _cgan(hidden=48)),
    "vae": (_vae, lambda: _vae(hidden=48)),
    "gpt": (_gpt, lambda: _gpt(n_embd=24)),
    "rag": (_rag, lambda: _rag(variant=1)),
}
NAMES = list(TRAINERS)


def _held_out_digits():
    d = load_digits()
    return d.x_test[:64], d.y_test[:64]


# name → the held-out data its evaluate(...) takes
EVAL_DATA: dict[str, Callable[[], tuple]] = {
    "gan": lambda: (ring().sample(64, torch.Generator().manual_seed(9)),),
    "batched gan": lambda: (torch.stack([ring().sample(64, torch.Generator().manual_seed(s)) for s in (9, 10)]),),
    "cgan": _held_out_digits,
    "vae": lambda: _held_out_digits()[:1],
    "gpt": lambda: ("val", 2),
    "rag": lambda: (_SETUP.test[:8], 3),
}


def build(name: str, seed: int = 0) -> tuple[Trainer, dict[str, Any]]:
    trainer, knobs = TRAINERS[name][0](seed)
    return trainer, knobs.snapshot()


def losses(trainer: Trainer, knobs: dict, n: int) -> list[dict[str, float]]:
    return [trainer(dict(knobs)) for _ in range(n)]


def through_file(state: dict) -> dict:
    """What a checkpoint file gives back: torch.save, then torch.load(weights_only=True)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def full_state(trainer: Trainer) -> dict:
    return through_file(trainer.state_dict())


def assert_same_state(a: dict, b: dict, path: str = "") -> None:
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            assert_same_state(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{path}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    else:
        assert a == b, path


# ---------------------------------------------------------------------------- the checks
@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_losses_and_global_rng_untouched(name):
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a, knobs = build(name, seed=3)
    b, _ = build(name, seed=3)
    assert torch.equal(torch.rand(3), expected_next), "building a trainer reseeded torch's global generator"
    assert losses(a, knobs, 3) == losses(b, knobs, 3)
    c, _ = build(name, seed=4)
    assert losses(c, knobs, 3) != losses(build(name, seed=3)[0], knobs, 3)


@pytest.mark.parametrize("name", NAMES)
def test_resume_from_checkpoint_equals_uninterrupted_run(name):
    whole, knobs = build(name)
    expected = losses(whole, knobs, 4)
    first, _ = build(name)
    losses(first, knobs, 2)
    saved = full_state(first)
    resumed, _ = build(name, seed=7)  # another seed: everything must come from the checkpoint
    resumed.load_state_dict(saved)
    assert resumed.steps == 2
    assert losses(resumed, knobs, 2) == expected[2:]
    assert_same_state(full_state(resumed), full_state(whole))


def _poison_last_update(trainer: Trainer) -> Callable[[], None]:
    """Make the last optimiser update of each step see a NaN loss (earlier ones, e.g. the GAN's D, are
    applied first); returns the fix."""
    last = list(trainer.optimizers)[0] if len(trainer.optimizers) == 1 else "G"
    original = trainer.update

    def update(name: str, loss: torch.Tensor) -> None:
        original(name, loss * float("nan") if name == last else loss)

    trainer.update = update
    return lambda: delattr(trainer, "update")


@pytest.mark.parametrize("name", NAMES)
def test_nan_at_step_n_keeps_step_n_minus_1_and_resumes_after_the_fix(name):
    twin, knobs = build(name)
    expected = losses(twin, knobs, 3)
    trainer, _ = build(name)
    losses(trainer, knobs, 2)
    before = full_state(trainer)
    fix = _poison_last_update(trainer)
    with pytest.raises(NonFiniteLossError, match="no update of this step was applied"):
        trainer(dict(knobs))
    assert_same_state(full_state(trainer), before)  # weights, optimisers, RNG, step count
    fix()
    assert trainer(dict(knobs)) == expected[2]       # the same batch as the twin's third step


def test_without_undo_skips_the_copy_keeps_earlier_updates_and_says_so():
    """A batch experiment's trainer (transactional off) does not copy its state before each step; a failed
    step then keeps the updates made before the error, and the message says to start a new trainer."""
    trainer, knobs = build("gan")
    losses(trainer, knobs, 2)
    before = full_state(trainer)
    fix = _poison_last_update(trainer)
    with without_undo(trainer):
        assert not trainer.transactional
        with pytest.raises(NonFiniteLossError, match="does not undo a failed step"):
            trainer(dict(knobs))
    assert trainer.transactional                       # back on after the block
    after = full_state(trainer)
    assert not torch.equal(after["modules"]["D"]["net.0.weight"], before["modules"]["D"]["net.0.weight"])
    fix()


@pytest.mark.parametrize("name", NAMES)
def test_nan_in_a_session_is_shown_and_the_run_resumes(name):
    trainer, knobs = TRAINERS[name][0](0)
    session = TrainingSession(trainer, knobs)
    session.run(2, progress=False)
    before = full_state(trainer)
    fix = _poison_last_update(trainer)
    with pytest.raises(Exception, match="not finite|is nan"):
        session.run(3, progress=False)
    assert session.step == 2 and len(session.history) == 2
    assert_same_state(full_state(trainer), before)
    fix()
    session.run(1, progress=False)
    assert session.step == 3


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_of_another_architecture_changes_nothing(name):
    trainer, knobs = build(name)
    losses(trainer, knobs, 1)
    before = full_state(trainer)
    other, other_knobs = TRAINERS[name][1]()
    other(other_knobs.snapshot())
    with pytest.raises(CheckpointMismatchError):
        trainer.load_state_dict(full_state(other))
    assert_same_state(full_state(trainer), before)


@pytest.mark.parametrize("name", NAMES)
def test_damaged_checkpoints_are_refused_and_change_nothing(name):
    trainer, knobs = build(name)
    losses(trainer, knobs, 1)
    before = full_state(trainer)
    good = full_state(trainer)
    damaged = [
        {"weights": 1},                                           # not a checkpoint at all
        {**good, "trainer": "SomethingElse"},                     # another trainer type
        {**good, "modules": {}},                                  # no modules
        {**good, "rng": torch.zeros(3, dtype=torch.uint8)},       # a truncated RNG state
        {**good, "steps": -1},
    ]
    first_module = next(iter(good["modules"]))
    key = next(iter(good["modules"][first_module]))
    shrunk = {**good["modules"][first_module], key: good["modules"][first_module][key][..., :1]}
    damaged.append({**good, "modules": {**good["modules"], first_module: shrunk}})
    for state in damaged:
        with pytest.raises(CheckpointMismatchError):
            trainer.load_state_dict(state)
        assert_same_state(full_state(trainer), before)


@pytest.mark.parametrize("name", NAMES)
def test_session_load_checks_everything_before_changing_anything(name, tmp_path):
    trainer, knobs = TRAINERS[name][0](0)
    session = TrainingSession(trainer, knobs)
    session.run(2, progress=False)
    path = session.save(tmp_path / "ckpt.pt")
    session.run(1, progress=False)
    before, history, knob_values = full_state(trainer), list(session.history), session.knobs.snapshot()

    bad_knob = torch.load(path, weights_only=True)
    first_numeric = next(k.name for k in session.knobs if k.kind in ("float", "int") and k.high is not None)
    bad_knob["knobs"][first_numeric] = session.knobs.knobs[first_numeric].high * 10 + 1
    other, other_knobs = TRAINERS[name][1]()
    other_session = TrainingSession(other, other_knobs)
    other_path = other_session.save(tmp_path / "other.pt")
    for bad in (bad_knob, torch.load(other_path, weights_only=True)):
        with pytest.raises(ValueError):
            session.restore(bad)
        assert session.step == 3 and session.history == history and session.knobs.snapshot() == knob_values
        assert_same_state(full_state(trainer), before)
    session.load(path)
    assert session.step == 2 and trainer.steps == 2


def test_eval_mode_restores_each_module_s_own_mode():
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    b.eval()
    with eval_mode(a, b):
        assert not a.training and not b.training
    assert a.training and not b.training
    with pytest.raises(RuntimeError):
        with eval_mode(a):
            raise RuntimeError("inside")
    assert a.training


def test_flush_denormals_zeroes_denormal_floats_only_inside_the_block():
    from ragteach.training import flush_denormals

    tiny = torch.tensor([1e-39], dtype=torch.float32)          # denormal in float32
    assert (tiny * 1.0).item() != 0.0
    with flush_denormals():
        assert (tiny * 1.0).item() == 0.0
        assert (torch.tensor([1e-30]) * 1.0).item() != 0.0    # a small normal number is kept
    assert (tiny * 1.0).item() != 0.0                          # PyTorch's default again afterwards


@pytest.mark.parametrize("name", list(TRAINERS))
def test_a_session_needs_only_the_trainer(name, tmp_path):
    """``TrainingSession(trainer)``: the knobs come from ``default_knobs()``, the checkpoint holds the trainer."""
    trainer, knobs = TRAINERS[name][0]()
    session = TrainingSession(trainer)
    assert set(session.knobs.snapshot()) == set(knobs.snapshot())
    session.run(2, progress=False)
    path = session.save(tmp_path / "s.pt")
    session.run(1, progress=False)
    session.load(path)
    assert trainer.steps == 2 and session.state == {"trainer": trainer}


@pytest.mark.parametrize("name", [n for n in TRAINERS if n != "rag"])
def test_sampling_takes_its_seed_by_keyword(name):
    """``sample(n, *, seed=...)``: the same seed gives the same samples, another seed others, and a seed
    passed by position is refused (it would read as the sample count or the next option)."""
    trainer, _ = TRAINERS[name][0]()
    first = {"cgan": [0, 1, 2], "gpt": "def "}.get(name, 3)
    a, b, c = (trainer.sample(first, seed=s) for s in (5, 5, 6))
    same = a == b if isinstance(a, str) else torch.equal(a, b)
    other = a != c if isinstance(a, str) else not torch.equal(a, c)
    assert same and other
    with pytest.raises(TypeError):
        trainer.sample(first, 12, 5) if name == "gpt" else trainer.sample(first, 5)


@pytest.mark.parametrize("name", NAMES)
def test_evaluate_returns_named_floats_and_leaves_the_run_alone(name):
    """``evaluate(held-out data) -> {name: float}``, repeatable, and the run continues as if it never happened."""
    trainer, knobs = build(name)
    twin, _ = build(name)
    losses(trainer, knobs, 1)
    losses(twin, knobs, 1)
    before = full_state(trainer)
    result = trainer.evaluate(*EVAL_DATA[name]())
    assert result and all(isinstance(v, float) and math.isfinite(v) for v in result.values()), result
    assert trainer.evaluate(*EVAL_DATA[name]()) == result
    assert_same_state(full_state(trainer), before)
    assert losses(trainer, knobs, 2) == losses(twin, knobs, 2)
