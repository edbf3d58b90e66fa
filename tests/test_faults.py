"""Faults found by probing the public API from outside, as a learner, a teacher and a careless script would:
each case here failed (a thread left training, silent training on bad data, a grading run one file could stop,
or an error that did not say what to change) before it was fixed."""
import _thread
import threading
import time

import numpy as np
import pytest
import torch

from ragteach.knobs import Knob, Knobs
from ragteach.live.session import TrainingError, TrainingSession
from tests.test_session import ctrl_c_raises, make  # noqa: F401  (ctrl_c_raises is a fixture)


# ---------------------------------------------------------------------------- 1. Ctrl-C in the first milliseconds
def test_ctrl_c_at_any_point_of_run_leaves_no_thread_and_the_next_run_takes_exactly_its_steps(ctrl_c_raises):
    """The interrupt lands 2 ms into run(): often inside Thread.start(). 40 tries, each must end with no
    thread training, and run(3) afterwards must take exactly 3 steps."""
    s, rec = make(delay=0.002)
    for _ in range(40):
        timer = threading.Timer(0.002, _thread.interrupt_main)
        try:
            timer.start()
            s.run(200, progress=False)
        except KeyboardInterrupt:  # it may land before run() began (even in timer.start()): nothing started
            pass
        timer.join()
        assert not s.running
        stopped_at = s.step
        time.sleep(0.01)
        assert s.step == stopped_at == len(rec.seen)  # nothing trains unattended
        s.run(3, progress=False)
        assert s.step == stopped_at + 3 == len(rec.seen) and s.status == "finished"
    assert [r["step"] for r in s.history] == list(range(s.step))
    assert not [t for t in threading.enumerate() if t.name == "ragteach-training" and t.is_alive()
                and t is not s._thread]


# ---------------------------------------------------------------------------- 2. one throttled path for every setter
@pytest.mark.parametrize("setter", ["knobs.set", "knobs[name]", "knobs.update", "session.set_knob"])
def test_every_knob_setter_waits_while_training_runs(monkeypatch, setter):
    """A loop hammering any setter must leave the training thread the interpreter lock: each change made
    while the session runs waits (1 ms); none waits while it does not run."""
    import ragteach.knobs as K

    s, _ = make(delay=0.001)
    waits = []
    monkeypatch.setattr(K, "_yield_to_training", lambda: waits.append(1))
    set_it = {"knobs.set": lambda v: s.knobs.set("p", v),
              "knobs[name]": lambda v: s.knobs.__setitem__("p", v),
              "knobs.update": lambda v: s.knobs.update(p=v),
              "session.set_knob": lambda v: s.set_knob("p", v)}[setter]
    set_it(0.1)
    assert waits == []
    s.start(None)
    s.pause()
    try:
        for v in (0.2, 0.3, 0.4):
            set_it(v)
    finally:
        s.stop()
    assert waits == [1] * 3


# ---------------------------------------------------------------------------- unclear errors: session and knobs
def test_knobs_take_numpy_scalars_and_refuse_huge_ints_with_a_value_error():
    knobs = Knobs.of(Knob("lam", 0.5, low=0.0, high=10.0), Knob("d_steps", 1, low=1, high=10, kind="int"),
                     Knob("lr_g", 1e-3, low=0.0, high=1.0, low_open=True), Knob("ema", True, kind="bool"))
    knobs.set("lam", np.float32(3))
    knobs.set("d_steps", np.int64(4))
    knobs.set("ema", np.bool_(False))
    assert knobs["lam"] == 3.0 and knobs["d_steps"] == 4 and knobs["ema"] is False
    for name, value in (("lam", 10**400), ("d_steps", 10**400), ("lr_g", -10**400)):
        with pytest.raises(ValueError, match=f"{name} must be a finite number"):
            knobs.set(name, value)
    with pytest.raises(ValueError, match="lam must be a number"):
        knobs.set("lam", np.bool_(True))  # a bool is never a number of a numeric knob


def test_a_knob_whose_low_is_above_its_high_says_so():
    with pytest.raises(ValueError, match="low=1 is above high=0; swap them"):
        Knob("x", 0.5, low=1, high=0)


def test_run_takes_a_numpy_whole_number():
    s, _ = make()
    s.run(np.int64(3), progress=False)
    assert s.step == 3


def test_a_session_needs_a_step_function_and_a_dict_of_numbers_from_it():
    with pytest.raises(TypeError, match="step_fn must be a function"):
        TrainingSession(None)
    with pytest.raises(TrainingError, match="returned None; it must return a dict of metrics"):
        TrainingSession(lambda k: None).run(1, progress=False)
    for value in ("abc", torch.ones(2)):
        s = TrainingSession(lambda k, v=value: {"loss": v})
        with pytest.raises(TrainingError, match="the metric 'loss' is .* not a number"):
            s.run(1, progress=False)
        assert s.step == 0 and s.history == []


def test_loading_a_file_that_is_not_a_checkpoint_says_so(tmp_path):
    s, _ = make()
    empty, text = tmp_path / "empty.pt", tmp_path / "notes.txt"
    empty.write_bytes(b"")
    text.write_text("experiment notes\n")
    for path in (empty, text):
        with pytest.raises(ValueError, match="is not a session checkpoint"):
            s.load(path)


def test_saving_to_a_folder_names_the_fix(tmp_path):
    s, _ = make()
    with pytest.raises(IsADirectoryError, match="is a folder; give a file name"):
        s.save(tmp_path)


def test_a_checkpoint_with_a_bad_history_or_step_changes_nothing():
    from ragteach.data.toy2d import ring
    from ragteach.gan.models import toy_config
    from ragteach.gan.train import GANTrainer, gan_knobs

    trainer = GANTrainer(toy_config(), ring().sample, seed=0)
    s = TrainingSession(trainer, gan_knobs())
    s.run(5, progress=False)
    ckpt = s.checkpoint()
    with pytest.raises(ValueError, match="history must be a list of rows"):
        s.restore({**ckpt, "history": [1, 2, 3]})
    with pytest.raises(ValueError, match="step is 1000000000 but its 'trainer' state has taken 5 steps"):
        s.restore({**ckpt, "step": 10**9})
    assert s.step == trainer.steps == 5 and len(s.history) == 5


# ---------------------------------------------------------------------------- 3. trainers check their data when built
def test_the_vae_refuses_data_outside_its_range_with_the_scaling_that_fixes_it():
    from ragteach.vae.model import VAEConfig
    from ragteach.vae.train import VAETrainer

    g = torch.Generator().manual_seed(0)
    digits = torch.randint(0, 17, (200, 64), generator=g).float()  # unscaled 8x8 digits, 0 to 16
    cases = [(torch.rand(200, 64, generator=g) * 255, "scale the pixels .* divide by 127.5 and subtract 1"),
             (digits, r"scale the digits \(0 to 16\) to \[-1, 1\]: divide by 8 and subtract 1"),
             (digits / 8 - 1 - 0.5, r"rescale it"),
             (digits.double() / 8 - 1, r"dtype torch.float64.*pass x_train.float\(\)"),
             (digits.to(torch.uint8), r"dtype torch.uint8.*then scale it to \[-1, 1\]"),
             (digits[:, :10] / 8 - 1, r"shape \(N, 64\), got \(200, 10\)"),
             (np.zeros((200, 64), np.float32), "must be a torch tensor")]
    one_nan = digits / 8 - 1
    one_nan[3, 5] = float("nan")
    cases.append((one_nan, r"NaN in 1 of 200 rows"))
    for x, message in cases:
        with pytest.raises((ValueError, TypeError), match=message):
            VAETrainer(VAEConfig(), x)
    VAETrainer(VAEConfig(), digits / 8 - 1)  # the scaled digits are fine


def test_vae_encode_names_the_expected_shape():
    from ragteach.vae.model import VAE, VAEConfig

    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(B, 64\).*got \(3, 10\)"):
        VAE(VAEConfig()).encode(torch.randn(3, 10))


@pytest.mark.parametrize("returns, message", [
    (lambda n, g: torch.zeros(n, 2, dtype=torch.float64), r"dtype torch.float64; G and D compute in torch.float32: return x.to\(torch.float32\)"),
    (lambda n, g: torch.zeros(n // 2, 2), r"returned shape \(\d+, 2\); it must return \(\d+, 2\)"),
    (lambda n, g: np.zeros((n, 2), np.float32), r"must return a torch tensor, got ndarray")])
def test_a_gan_sample_real_that_returns_the_wrong_thing_is_named(returns, message):
    from ragteach.gan.models import toy_config
    from ragteach.gan.train import GANTrainer, gan_knobs

    trainer = GANTrainer(toy_config(), returns, batch_size=8, seed=0)
    with pytest.raises((TypeError, ValueError), match=message):
        trainer(gan_knobs().snapshot())
    assert trainer.steps == 0


def test_mode_stats_takes_a_numpy_n_std():
    from ragteach.data.toy2d import ring
    from ragteach.metrics.modes import mode_stats

    mix = ring()
    x = mix.sample(200, torch.Generator().manual_seed(0))
    got, want = mode_stats(x, mix, np.float32(3)), mode_stats(x, mix, 3.0)
    assert str(got) == str(want) and torch.equal(got.counts, want.counts)


def test_gpt_sampling_names_a_bad_prompt_or_temperature():
    from tests.test_trainer_contract import _gpt

    gpt, _ = _gpt()
    for prompt in (None, b"def "):
        with pytest.raises(TypeError, match="prompt must be a str"):
            gpt.sample(prompt, n_chars=2)
    for temperature in (float("nan"), "0.8", float("inf"), 0, True):
        with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
            gpt.sample("def ", n_chars=2, temperature=temperature)


# ---------------------------------------------------------------------------- 4. index builds are transactional
def test_a_failed_dense_index_leaves_the_vocabulary_and_the_scores_as_they_were():
    from ragteach.retrieval.dense import BagEncoder, DenseRetriever
    from ragteach.retrieval.text import Vocab

    vocab = Vocab(capacity=24)
    dense = DenseRetriever(BagEncoder(24, dim=8, out=8, seed=0), vocab)
    dense.index(["paris is the capital of france", "rome is the capital of italy"])
    words, before = list(vocab.itos), dense.search("capital of france", 2)
    with pytest.raises(ValueError, match="the vocabulary is full"):
        dense.index(["one two three four five six seven eight nine ten eleven twelve thirteen fourteen"])
    assert vocab.itos == words and set(vocab.stoi) == set(words)
    after = dense.search("capital of france", 2)
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])


def test_a_vocabulary_add_that_does_not_fit_adds_nothing():
    from ragteach.retrieval.text import Vocab

    vocab = Vocab(["a", "b"], capacity=7)
    with pytest.raises(ValueError, match="3 new words do not fit in 1 free places"):
        vocab.add(["c", "d", "e"])
    assert len(vocab) == 6


# ---------------------------------------------------------------------------- query text
@pytest.mark.parametrize("name", ["bm25", "tfidf"])
def test_queries_are_nfkc_normalised_and_an_invisible_query_is_empty(name):
    from ragteach.retrieval import BM25Retriever, TfidfRetriever

    r = {"bm25": BM25Retriever, "tfidf": TfidfRetriever}[name]()
    r.index(["Yamoussoukro is the capital of Côte d'Ivoire", "Paris is the capital of France"])
    ids, scores = r.search("co\u0302te", 1)  # c, o, combining circumflex: the same word, decomposed
    assert ids[0] == 0 and scores[0] > 0
    for query in ("\u200b", " \u200b\ufeff "):
        with pytest.raises(ValueError, match="the query is empty"):
            r.search(query, 1)
