"""Notebook 05's comparison over seeds: intervals, verdicts computed from them, and its plotly explorers."""
from __future__ import annotations

import base64
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
import torch

from ragteach.lessons import generative_models as C
from ragteach.vae.explore import SHADES, cgan_latent_explorer, digit_text, grid_codes, grid_png, vae_latent_explorer
from ragteach.vae.model import VAE, VAEConfig

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- verdicts
def _runs(gan_conf, vae_conf, acc, gan_classes=(10, 10, 10), vae_classes=(10, 10, 10)):
    runs = []
    for g, v, a, gc, vc in zip(gan_conf, vae_conf, acc, gan_classes, vae_classes):
        runs.append({C.GAN: {"confident %": g, "classes": gc, "diversity / real": 0.9},
                     C.CGAN: {"confident %": 95.0, "classes": 10, "diversity / real": 0.9, "conditional accuracy %": a},
                     C.VAE16: {"confident %": v, "classes": vc, "diversity / real": 0.7}})
    return runs


REAL = {"confident %": 95.0, "classes": 10.0, "diversity / real": 1.0, "conditional accuracy %": 97.0}


def test_verdicts_follow_the_measurements():
    gan_better = C.trade_off_verdicts(_runs([90, 91, 92], [60, 61, 59], [98, 99, 97]), REAL)
    vae_better = C.trade_off_verdicts(_runs([60, 61, 59], [90, 91, 92], [10, 11, 9]), REAL)
    assert gan_better != vae_better
    assert "GAN is higher than VAE (16-d latent)" in gan_better[0]
    assert "GAN is lower than VAE (16-d latent)" in vae_better[0]
    assert "above chance" in gan_better[3] and "mostly pass the classifier" in gan_better[-1]
    assert "no evidence" in vae_better[-1]
    assert "equal in every seed" in gan_better[1]


def test_overlapping_or_single_seed_measurements_are_inconclusive():
    overlapping = C.trade_off_verdicts(_runs([70, 90, 80], [75, 85, 81], [10, 60, 35]), REAL)
    assert "inconclusive" in overlapping[0]
    assert "inconclusive" in overlapping[3]
    one_seed = C.trade_off_verdicts(_runs([90], [60], [99]), REAL)
    assert "inconclusive" in one_seed[0] and "no interval" in one_seed[0]
    assert "inconclusive" in one_seed[3]


def _lruns(real, mirrored, noise):
    return [{"real digits": {"judge: mean top class probability": 0.95, "judge: share ≥ 0.9": 0.9, "VAE: ELBO (nats)": r},
             "mirrored digits": {"judge: mean top class probability": 0.7, "judge: share ≥ 0.9": 0.4, "VAE: ELBO (nats)": m},
             "uniform noise": {"judge: mean top class probability": 0.6, "judge: share ≥ 0.9": 0.5, "VAE: ELBO (nats)": n}}
            for r, m, n in zip(real, mirrored, noise)]


def test_likelihood_verdicts_follow_the_measurements():
    close_runs = _lruns([-30, -31, -29], [-33, -34, -32], [-300, -310, -290])
    close = C.likelihood_verdicts(close_runs)
    far = C.likelihood_verdicts(_lruns([-30, -31, -29], [-250, -260, -240], [-300, -310, -290]))
    assert close != far
    assert "closer to real digits than to noise" in close[-1]
    assert "closer to noise than to real digits" in far[-1]
    assert "uniform noise scores lower than real digits" in close[1]
    assert "mirrored digits score lower than real digits" in close[2]
    assert "50 %" in close[0] and "0.60" in close[0]
    from ragteach.report import TAKEAWAY_WORDS, words
    assert max(words(v) for v in close + far) <= TAKEAWAY_WORDS
    rows = C.likelihood_rows(close_runs)
    assert [r["images"] for r in rows] == ["real digits", "mirrored digits", "uniform noise"]
    assert rows[0]["VAE: ELBO (nats)"].startswith("-30.0 ± ")


def test_summary_rows_show_intervals_and_na():
    rows = C.summary_rows(_runs([90, 91, 92], [60, 61, 59], [98, 99, 97]), REAL)
    gan = next(r for r in rows if r["model"] == C.GAN)
    assert gan["confident %"].startswith("91.0 ± ") and gan["conditional accuracy %"] == "n/a"
    assert rows[-1]["model"] == "real held-out digits"
    with pytest.raises(ValueError):
        C.summary_rows([])


def test_budget_refuses_bad_steps():
    with pytest.raises(ValueError, match="cgan"):
        C.Budget(cgan=0)


# ----------------------------------------------------------------------------- plotly explorers
def test_digit_text_draws_the_pixels():
    img = -torch.ones(64)
    img[0], img[63] = 1.0, 0.0  # top-left black, bottom-right mid grey
    rows = digit_text(img).split("<br>")
    assert len(rows) == 8 and all(len(r) == 16 for r in rows)
    assert rows[0][:2] == SHADES[-1] * 2 and rows[0][2:] == SHADES[0] * 14
    assert rows[7][-2:] == SHADES[2] * 2
    with pytest.raises(ValueError, match="64 pixels"):
        digit_text(torch.zeros(10))


def test_grid_png_places_each_tile():
    from PIL import Image

    images = -torch.ones(4, 64)
    images[1] = 1.0  # row 0, column 1 all black
    uri = grid_png(images, 2, scale=1)
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    assert img.shape == (19, 19)
    assert (img[1:9, 10:18] == 0).all() and (img[1:9, 1:9] == 255).all() and (img[10:18, :] == 255).all()


def test_grid_codes_cover_the_plane():
    xs, ys = grid_codes((-1.0, 1.0), (-2.0, 2.0), 4)
    assert np.allclose(xs, [-0.75, -0.25, 0.25, 0.75]) and np.allclose(ys, [1.5, 0.5, -0.5, -1.5])
    with pytest.raises(ValueError):
        grid_codes((1.0, -1.0), (0.0, 1.0), 4)


def test_vae_explorer_hover_shows_the_decoded_digit():
    torch.manual_seed(0)
    vae = VAE(VAEConfig(latent_dim=2))
    x, y = torch.rand(30, 64) * 2 - 1, torch.arange(30) % 10
    fig = vae_latent_explorer(vae, x, y, n_grid=5)
    assert len(fig.data) == 11 and len(fig.layout.images) == 1
    assert fig.layout.images[0].source.startswith("data:image/png;base64,")
    three = next(t for t in fig.data if t.name == "3")
    mu = vae.encode(x[y == 3])[0]
    assert np.allclose(three.x, mu[:, 0].detach().numpy())
    assert list(three.text) == [digit_text(d) for d in vae.decode(mu).detach()]
    assert len(fig.data[0].x) == 25  # the hover grid
    with pytest.raises(ValueError, match="latent_dim=16"):
        vae_latent_explorer(VAE(VAEConfig(latent_dim=16)), x, y)


def test_cgan_explorer_buttons_switch_class():
    from ragteach.gan.conditional import CondGenerator
    from ragteach.gan.models import article_mnist_config

    torch.manual_seed(0)
    g = CondGenerator(article_mnist_config())
    fig = cgan_latent_explorer(g, torch.zeros(1, 100), n_grid=3, start=2)
    assert [t.visible for t in fig.data] == [k == 2 for k in range(10)]
    buttons = fig.layout.updatemenus[0].buttons
    assert len(buttons) == 10 and buttons[7].args[0]["visible"][7] is True
    assert buttons[7].args[1]["images"][0]["source"] != buttons[2].args[1]["images"][0]["source"]
    with pytest.raises(ValueError, match="z_base"):
        cgan_latent_explorer(g, torch.zeros(100))


# ----------------------------------------------------------------------------- the site check
def _check_site():
    spec = importlib.util.spec_from_file_location("check_site", ROOT / "book" / "check_site.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_site_check_requires_offline_plotly_figures():
    cs = _check_site()
    assert "05_generative_models_compared" in cs.PLOTLY_FIGURES
    div = '<div id="a" class="plotly-graph-div"></div><script>Plotly.newPlot("a", [], {})</script>'
    lib = "<script>/**\n* plotly.js v4.1.1\n*/ ...</script>"
    assert cs.plotly_problems("05.ipynb", lib + div * 2, 2) == []
    assert "has 1" in cs.plotly_problems("05.ipynb", lib + div, 2)[0]
    assert "does not embed plotly.js" in cs.plotly_problems("05.ipynb", div * 2, 2)[0]
    cdn = '<script src="https://cdn.plot.ly/plotly-3.0.1.min.js"></script>'
    assert "CDN" in cs.plotly_problems("05.ipynb", lib + cdn + div * 2, 2)[0]
    assert cs.plotly_problems("01.ipynb", "<p>no figures</p>", 0) == []


def test_site_check_requires_formulas_typeset_by_the_sites_own_mathjax():
    cs = _check_site()
    formula = '<span class="math notranslate nohighlight">\\(x^2\\)</span>'
    local = '<script defer="defer" src="../_static/mathjax/es5/tex-mml-chtml.js"></script>'
    cdn = '<script defer="defer" src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>'
    assert cs.math_problems("01.ipynb", local + formula) == []
    assert "raw TeX offline" in cs.math_problems("01.ipynb", cdn + formula)[0]
    assert cs.math_problems("01.ipynb", cdn + "<p>no formulas</p>") == []


def test_offline_mathjax_extension_points_sphinx_at_the_local_bundle(tmp_path):
    spec = importlib.util.spec_from_file_location("offline_mathjax", ROOT / "book" / "_ext" / "offline_mathjax.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    try:
        es5 = mod.mathjax_es5()
    except RuntimeError as exc:                 # the [book] extra is not installed here
        assert "pip install" in str(exc)
        pytest.skip(str(exc))
    assert (es5 / "tex-mml-chtml.js").is_file() and mod.BUNDLE == "mathjax/es5/tex-mml-chtml.js"


def test_explorers_and_comparison_do_not_import_jupyter():
    import subprocess
    import sys

    code = ("import sys, ragteach.vae.explore, ragteach.lessons.generative_models; "
            "bad = [m for m in ('ipywidgets', 'IPython', 'ipykernel') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bullets_wrap_each_sentence():
    from ragteach.report import bullets

    text = bullets(["a " * 80, "short"], width=40)
    lines = text.split("\n")
    assert all(len(line) <= 40 for line in lines)
    assert lines[0].startswith("• ") and lines[1].startswith("  ") and lines[-1] == "• short"


def test_site_check_finds_tables_left_as_raw_text():
    cs = _check_site()
    assert cs.RAW_TABLE.search("<p>| a | b |\n|—|—|\n| 1 | 2 |</p>")
    assert cs.RAW_TABLE.search("<p>| a | b |\n|---|---|</p>")
    assert not cs.RAW_TABLE.search('<pre><span class="s2">&quot;| a | b |&quot;, &quot;|---|---|&quot;</span></pre>')
    assert not cs.RAW_TABLE.search("<table><tr><th>a</th></tr></table> a --- b")


class CentroidJudge:
    """A cheap stand-in for DigitJudge with the same interface: softmax over negative distances to class means."""

    def __init__(self, x, y):
        self.centres = torch.stack([x[y == k].mean(0) for k in range(10)])

    def proba(self, x):
        logits = -torch.cdist(torch.as_tensor(x).float(), self.centres)
        return torch.softmax(4 * logits, dim=1).numpy()

    def accuracy(self, x, y):
        return float((self.proba(x).argmax(1) == np.asarray(y)).mean())


def test_score_models_measures_each_model():
    from ragteach.data.digits import load_digits
    from ragteach.live.session import TrainingSession

    digits = load_digits()
    judge = CentroidJudge(digits.x_train, digits.y_train)
    trainers = {}
    for name, (trainer, knobs) in C.make_trainers(digits, seed=0).items():
        TrainingSession(trainer, knobs).run(5, progress=False)
        trainers[name] = trainer
    scores = C.score_models(judge, digits, trainers, {C.GAN: 1.5})
    assert set(scores) == {C.GAN, C.CGAN, C.VAE16}
    x, labels = C.sample(trainers[C.CGAN])
    assert len(x) == C.N_SAMPLES and (torch.bincount(labels) == C.N_SAMPLES // 10).all()
    expected = 100 * float((judge.proba(x).argmax(1) == labels.numpy()).mean())
    assert scores[C.CGAN]["conditional accuracy %"] == pytest.approx(expected)
    assert "conditional accuracy %" not in scores[C.GAN] and scores[C.GAN]["train s"] == 1.5
    assert {"reconstruction mse", "test ELBO (nats)"} <= set(scores[C.VAE16])
    assert all(0 <= s["confident %"] <= 100 and 0 <= s["classes"] <= 10 for s in scores.values())
    elbo = C.elbo_per_image(trainers[C.VAE16], digits.x_test[:7])
    assert elbo.shape == (7,) and (elbo < 0).all()
    cases = C.likelihood_cases(digits, n=20)
    assert torch.equal(cases["mirrored digits"].reshape(-1, 8, 8), cases["real digits"].reshape(-1, 8, 8).flip(-1))
