"""Every exercise's checker: the reference passes; a constant, the flipped sign and each typical mistake fail
with their hint; learners' number types are accepted; no hint shows the expected value; ``check`` falls back
to the reference (saying so); strict mode catches a checker that would accept a wrong answer."""
import math

import numpy as np
import pytest
import torch

from ragteach.exercises import CheckerError, Exercise, Mistake, all_exercises, grade
from ragteach.exercises import gan_basics as gx

EXERCISES = all_exercises()
NAMES = sorted(EXERCISES)


def test_every_notebook_has_its_exercises():
    from importlib import import_module

    from ragteach.exercises import MODULES

    assert len(EXERCISES) >= 17
    assert all(len(import_module(m).EXERCISES) >= 3 for m in MODULES.values())


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_and_known_wrong_answers_fail(name):
    ex = EXERCISES[name]
    assert ex.grade(ex.reference), ex.grade(ex.reference).message
    labels = [label for label, _ in ex.known_wrong()]
    assert labels[:2] == ["constant", "sign flip"] and len(labels) >= 4
    for label, wrong in ex.known_wrong():
        result = ex.grade(wrong)
        assert not result, f"{name} accepts a known-wrong answer: {label}"
    for mistake in ex.mistakes:  # each typical mistake gets its own hint
        assert ex.grade(mistake.answer).message == mistake.hint
    ex.self_test()


@pytest.mark.parametrize("name", NAMES)
def test_at_least_three_different_random_inputs_with_a_fixed_seed(name):
    ex = EXERCISES[name]
    cases = ex.cases()
    assert len(cases) >= 3
    outs = [torch.as_tensor(np.asarray(ex.reference(*c), dtype=np.float64)) for c in cases]
    assert any(o.shape != outs[0].shape or not torch.allclose(o, outs[0]) for o in outs[1:])
    again = Exercise(ex.name, ex.reference, ex.draw, "").cases()  # same name → same seed → same inputs
    assert repr(again) == repr(cases)


@pytest.mark.parametrize("name", NAMES)
def test_stubs_fail_with_a_hint_and_no_expected_value(name):
    ex = EXERCISES[name]

    def todo(*args):
        raise NotImplementedError

    assert "NotImplementedError" in ex.grade(todo).message
    assert "returns nothing" in ex.grade(lambda *a: ...).message
    want = np.asarray(ex.reference(*ex.cases()[0]), dtype=np.float64)
    for _, wrong in ex.known_wrong():
        message = ex.grade(wrong).message
        if want.size == 1 and abs(float(want)) >= 0.01:  # the expected number, as a hint would format it
            for digits in (2, 3, 4):
                assert f"{float(want):.{digits}f}" not in message, message


@pytest.mark.parametrize("name", NAMES)
def test_numpy_scalars_and_zero_d_tensors_are_accepted(name):
    ex = EXERCISES[name]
    out = ex.reference(*ex.cases()[0])
    if np.asarray(out).size != 1:
        pytest.skip("not a single number")
    assert ex.grade(lambda *a: np.float64(np.asarray(ex.reference(*a), dtype=np.float64)))
    assert ex.grade(lambda *a: torch.tensor(float(np.asarray(ex.reference(*a), dtype=np.float64))))
    assert ex.grade(lambda *a: float(np.asarray(ex.reference(*a), dtype=np.float64)))


def test_count_modes_accepts_numpy_int64_and_a_tensor():
    assert gx.COUNT_MODES.grade(lambda s, c, std: np.int64(gx.count_modes(s, c, std)))
    assert gx.COUNT_MODES.grade(lambda s, c, std: torch.tensor(gx.count_modes(s, c, std)))


def test_the_constant_from_the_issue_fails():
    result = gx.D_LOSS.grade(lambda r, f: 0.5243)
    assert not result and "same value whatever its inputs" in result.message


def test_check_returns_the_learners_function_or_the_reference(capsys):
    def mine(r, f):
        return -(torch.log(r).mean() + torch.log(1 - f).mean())

    assert gx.check_d_loss(mine) is mine
    assert "pass" in capsys.readouterr().out

    def todo(r, f):
        raise NotImplementedError

    assert gx.check_d_loss(todo) is gx.discriminator_loss
    out = capsys.readouterr().out
    assert "NotImplementedError" in out and "reference solution" in out


def test_grade_raises_with_the_hint_for_autograders():
    assert grade("g_loss", gx.generator_loss)
    with pytest.raises(AssertionError, match="saturates"):
        grade("g_loss", lambda f: torch.log(1 - f).mean())
    with pytest.raises(KeyError):
        grade("no_such_exercise", gx.generator_loss)


def test_strict_mode_catches_a_checker_that_accepts_a_constant(monkeypatch):
    lax = Exercise("lax", lambda x: x.sum(), lambda g: (torch.rand(3, generator=g),), "ok", tol=10.0)
    with pytest.raises(CheckerError, match="constant"):
        lax.self_test()
    monkeypatch.setenv("RAGTEACH_STRICT", "1")
    with pytest.raises(CheckerError):
        lax.check(lambda x: x.sum())
    monkeypatch.setenv("RAGTEACH_STRICT", "0")
    assert lax.check(lambda x: 0.0) is not None  # not strict: no self-test


def test_strict_mode_catches_a_checker_that_accepts_a_typical_mistake():
    blind = Exercise("blind", lambda x: x.abs().sum(), lambda g: (torch.randn(4, generator=g),), "ok",
                     mistakes=(Mistake(lambda x: x.abs().sum(), "same as the reference"),))
    with pytest.raises(CheckerError, match="known-wrong"):
        blind.self_test()


def test_too_few_random_inputs_are_refused():
    with pytest.raises(ValueError, match="at least 3"):
        Exercise("few", lambda x: x, lambda g: (1.0,), "ok", n_cases=2)


# ---- the references agree with the package's own implementations -----------------------------------------------
def test_references_agree_with_the_package():
    import torch.nn.functional as F

    from ragteach.data.toy2d import ring
    from ragteach.exercises import generative_models as vx, relative_augmentation as rx, retrieval as qx
    from ragteach.gan.losses import rasgan_d_loss
    from ragteach.metrics.modes import mode_stats
    from ragteach.retrieval.marginals import rag_sequence_logp, rag_token_logp
    from ragteach.vae.model import kl_to_standard_normal

    for r, f in (c for c in rx.RASGAN_D_LOSS.cases()):
        assert torch.allclose(rx.rasgan_d_loss(r, f), rasgan_d_loss(r, f))
    for mu, logvar in vx.KL_TERM.cases():
        assert torch.allclose(vx.kl_term(mu, logvar), kl_to_standard_normal(mu, logvar), atol=1e-6)
    for d, t in qx.RAG_TOKEN.cases():
        assert torch.allclose(qx.rag_token(d, t), rag_token_logp(d, t))
        assert torch.allclose(qx.rag_sequence(d, t), rag_sequence_logp(d, t))
    for samples, centers, std in gx.COUNT_MODES.cases():
        mix = ring(n_modes=len(centers), std=std)
        assert torch.allclose(mix.centers, centers)
        assert gx.count_modes(samples, centers, std) == mode_stats(samples, mix).modes_captured
    assert F.one_hot(torch.tensor([1]), 3).tolist() == [[0, 1, 0]]


def test_mlp_flops_reference_matches_torchs_counter():
    from ragteach.exercises import random_activations as ax

    for tokens, c, k in ax.MLP_FLOPS.cases():
        g = torch.Generator().manual_seed(0)
        w = (torch.randn(4 * c, c, generator=g), torch.zeros(4 * c), torch.randn(c, 4 * c, generator=g), torch.zeros(c))
        counted = ax.count_flops(lambda: ax.my_structured_mlp(torch.randn(tokens, c), *w, torch.arange(k)))
        assert ax.mlp_flops(tokens, c, k) == counted


def test_structured_mlp_that_masks_after_computing_everything_fails_on_flops():
    from ragteach.exercises import random_activations as ax

    result = ax.STRUCTURED_MLP.grade(ax.masked_mlp)
    assert not result and "computed all" in result.message


# ---- predict, then run --------------------------------------------------------------------------------------------
def test_predictions_are_checked_against_the_run(capsys):
    from ragteach.exercises import generative_models as vx, random_activations as ax
    from ragteach.exercises import relative_augmentation as rx, retrieval as qx

    assert gx.predict_saturation("non-saturating") and not gx.predict_saturation("minimax")
    assert rx.predict_pull("centre") and not rx.predict_pull("mode")
    assert ax.predict_masking_flops(1.0) and not ax.predict_masking_flops(0.25)
    assert qx.predict_marginals("token") and not qx.predict_marginals("sequence")
    assert vx.predict_kl_width("wide") and not vx.predict_kl_width("narrow")
    assert not gx.predict_saturation(...)
    assert "No prediction written" in capsys.readouterr().out
    with pytest.raises(ValueError, match="one of"):
        gx.predict_saturation("maybe")
    grads = gx.saturation_gradients(0.01)
    assert math.isclose(grads["minimax"], 0.01, rel_tol=1e-6) and math.isclose(grads["non-saturating"], 0.99)


# ---- the notebooks ship stubs, not solutions ----------------------------------------------------------------------
def _notebook_cells():
    import json
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            yield path.name, cell


def test_no_exercise_cell_contains_its_solution():
    seen = []
    for notebook, cell in _notebook_cells():
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or "ex.check_" not in source:
            continue
        name = cell["metadata"].get("ragteach", {}).get("exercise")
        assert name in EXERCISES, f"{notebook}: an exercise cell without ragteach.exercise metadata"
        assert "YOUR CODE HERE" in source, f"{notebook}: {name}"
        seen.append(name)
        if cell["metadata"]["ragteach"].get("kind") == "fix":  # the stub is buggy code to repair: it must fail
            stub: dict = {}
            exec(source.split(f"{name} = ex.check_")[0], stub)  # noqa: S102 - the notebook's own cell
            fn = next(v for k, v in stub.items() if callable(v) and k == name)
            assert not EXERCISES[name].grade(fn), f"{notebook}: the {name} stub already passes"
            continue
        assert "raise NotImplementedError" in source, f"{notebook}: {name}"
        body = EXERCISES[name].solution_code().split("\n")[1:]
        leaked = [line.strip() for line in body if len(line.strip()) > 8 and line.strip() in source]
        assert not leaked, f"{notebook}: the {name} cell contains its solution: {leaked}"
    assert sorted(seen) == sorted(set(seen)), "an exercise appears in two cells"


def test_each_notebook_has_a_predict_then_run_cell():
    found = {nb for nb, c in _notebook_cells()
             if c["cell_type"] == "code" and "my_prediction = ..." in "".join(c["source"])
             and c["metadata"].get("ragteach", {}).get("predict")}
    assert found == {nb for nb, _ in _notebook_cells()}
