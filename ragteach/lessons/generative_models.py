"""GAN, conditional GAN and VAE on the 8x8 digits, compared over several seeds (notebook 05).

Each model is trained with one fixed recipe per seed; its samples are judged by a classifier trained on
real digits (:class:`~ragteach.metrics.samples.DigitJudge`). Per seed we record

- confident %: share of 1,000 samples whose top class probability p(y|x) is ≥ 0.9;
- classes: how many of the 10 classes the confident samples cover;
- diversity / real: mean pairwise distance of the samples over that of real held-out digits;
- conditional accuracy % (conditional GAN): share of samples the judge labels as the class asked for;
- reconstruction mse and test ELBO (VAE).

Over n seeds a metric is reported as  x̄ ± t_{n−1, 0.975} · s/√n  (the 95 % t-interval), and a comparison
of two models uses Welch's interval for the difference of their means. A verdict is only stated when the
whole interval lies on one side; otherwise the text says "inconclusive". With one seed every interval is
infinite, so every verdict is inconclusive: one run says nothing about the spread.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch

from ragteach.data.digits import Digits
from ragteach.gan.conditional import CGANTrainer, cgan_knobs
from ragteach.gan.models import article_mnist_config
from ragteach.gan.train import GANTrainer, gan_knobs, tensor_sampler
from ragteach import stats
from ragteach.metrics.samples import DigitJudge, diversity, score_samples
from ragteach.runs import train_runs
from ragteach.stats import format_interval, interval
from ragteach.training import Trainer, check_positive_int
from ragteach.vae.model import VAEConfig
from ragteach.vae.train import VAETrainer, vae_knobs

GAN, CGAN, VAE16 = "GAN", "conditional GAN", "VAE (16-d latent)"
N_SAMPLES = 1000


# ----------------------------------------------------------------------------- recipes
@dataclass(frozen=True)
class Budget:
    """Training steps per model (one recipe for every seed, so seeds are comparable)."""

    gan: int = 3000
    cgan: int = 2000
    vae: int = 4000

    def __post_init__(self) -> None:
        for name in ("gan", "cgan", "vae"):
            check_positive_int(name, getattr(self, name))


def make_trainers(digits: Digits, seed: int) -> dict[str, tuple[Trainer, Any]]:
    """The three models of the comparison for one seed: name → (trainer, its knobs)."""
    return {
        GAN: (GANTrainer(article_mnist_config(), tensor_sampler(digits.x_train), batch_size=64, seed=seed),
              gan_knobs(lr_g=1e-3, lr_d=1e-3)),
        CGAN: (CGANTrainer(article_mnist_config(), digits.x_train, digits.y_train, seed=seed), cgan_knobs()),
        VAE16: (VAETrainer(VAEConfig(latent_dim=16), digits.x_train, seed=seed), vae_knobs(lr=1e-3, beta=1.0)),
    }


def steps_for(name: str, budget: Budget) -> int:
    return {GAN: budget.gan, CGAN: budget.cgan, VAE16: budget.vae}[name]


def train_seed(digits: Digits, seed: int, budget: Budget, progress: bool = True
               ) -> tuple[dict[str, Trainer], dict[str, float]]:
    """Train the three models for one seed; returns the trainers and each one's training seconds."""
    trainers, seconds = {}, {}
    for name, (trainer, knobs) in make_trainers(digits, seed).items():
        steps = steps_for(name, budget)
        run, = train_runs(trainer, [dict(model=name, seed=seed)], steps, steps, knobs=knobs, progress=progress,
                          desc=f"{name}, seed {seed}")
        trainers[name], seconds[name] = trainer, run.seconds
    return trainers, seconds


# ----------------------------------------------------------------------------- scores
def sample(trainer: Trainer, n: int = N_SAMPLES, seed: int = 1234) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` samples; for a conditional GAN also the labels asked for (each class n/10 times)."""
    if isinstance(trainer, CGANTrainer):
        labels = torch.arange(trainer.n_classes).repeat(math.ceil(n / trainer.n_classes))[:n]
        return trainer.sample(labels, seed=seed), labels
    return trainer.sample(n, seed=seed), None


def score_models(judge: DigitJudge, digits: Digits, trainers: Mapping[str, Trainer],
                 seconds: Mapping[str, float] | None = None) -> dict[str, dict[str, float]]:
    """Every metric of the comparison for each trained model (one seed): name → metric → value."""
    real_div = diversity(digits.x_test)
    out: dict[str, dict[str, float]] = {}
    for name, trainer in trainers.items():
        x, labels = sample(trainer)
        s = score_samples(judge, x)
        row = {"confident %": 100 * s.confident_rate, "classes": float(s.classes_covered),
               "diversity / real": diversity(x) / real_div}
        if labels is not None:
            row["conditional accuracy %"] = 100 * float((judge.proba(x).argmax(1) == labels.numpy()).mean())
        if isinstance(trainer, VAETrainer):
            ev = trainer.evaluate(digits.x_test)
            row["reconstruction mse"], row["test ELBO (nats)"] = ev["reconstruction mse"], ev["elbo"]
        if seconds is not None and name in seconds:
            row["train s"] = seconds[name]
        out[name] = row
    return out


def real_scores(judge: DigitJudge, digits: Digits) -> dict[str, float]:
    """The same scores for the real held-out digits: the ceiling a generator is compared with."""
    s = score_samples(judge, digits.x_test)
    return {"confident %": 100 * s.confident_rate, "classes": float(s.classes_covered), "diversity / real": 1.0,
            "conditional accuracy %": 100 * judge.accuracy(digits.x_test, digits.y_test)}


@torch.no_grad()
def elbo_per_image(trainer: VAETrainer, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)) for each image (one z sample), in nats: (N,).

    The decoder's Bernoulli likelihood treats grey levels (x+1)/2 ∈ [0, 1] as probabilities, so this is
    not a normalised density over grey-level images: compare ELBOs with each other, not with log p(x)
    of another model."""
    from ragteach.training import eval_mode
    from ragteach.vae.model import bernoulli_nll, kl_to_standard_normal, reparameterize

    vae = trainer.vae
    with eval_mode(vae):
        mu, logvar = vae.encode(x)
        z = reparameterize(mu, logvar, torch.Generator().manual_seed(seed))
        return -(bernoulli_nll(vae.decoder(z), x) + kl_to_standard_normal(mu, logvar)).cpu()


def likelihood_cases(digits: Digits, n: int = 200) -> dict[str, torch.Tensor]:
    """Held-out digits, the same digits mirrored left-right (no training image looks like that), noise."""
    test = digits.x_test[:n]
    return {"real digits": test, "mirrored digits": test.reshape(-1, 8, 8).flip(-1).reshape(-1, 64),
            "uniform noise": torch.rand(len(test), 64, generator=torch.Generator().manual_seed(0)) * 2 - 1}


def likelihood_scores(judge: DigitJudge, trainer: VAETrainer, cases: Mapping[str, torch.Tensor]
                      ) -> dict[str, dict[str, float]]:
    """Per case: the judge's mean top p(y|x), its share ≥ 0.9, and the VAE's mean ELBO per image."""
    out = {}
    for name, x in cases.items():
        p = judge.proba(x).max(1)
        out[name] = {"judge: mean top class probability": float(p.mean()),
                     "judge: share ≥ 0.9": float((p >= 0.9).mean()),
                     "VAE: ELBO (nats)": float(elbo_per_image(trainer, x).mean())}
    return out


# ----------------------------------------------------------------------------- statistics over seeds
def values_of(runs: Sequence[Mapping[str, Mapping[str, float]]], model: str, metric: str) -> list[float]:
    """One metric of one model across the seeds' score dicts."""
    return [run[model][metric] for run in runs if metric in run.get(model, {})]


def summary_rows(runs: Sequence[Mapping[str, Mapping[str, float]]], real: Mapping[str, float] | None = None
                 ) -> list[dict[str, str]]:
    """One table row per model: each metric as mean ± 95 % interval over the seeds."""
    if not runs:
        raise ValueError("give the scores of at least one seed")
    metrics = ["confident %", "classes", "diversity / real", "conditional accuracy %", "reconstruction mse",
               "test ELBO (nats)", "train s"]
    digits = {"diversity / real": 2, "reconstruction mse": 2, "train s": 0}
    rows = []
    for model in runs[0]:
        row = {"model": model, "seeds": str(len(runs))}
        for m in metrics:
            v = values_of(runs, model, m)
            row[m] = format_interval(v, digits.get(m, 1)) if v else "n/a"
        rows.append(row)
    if real is not None:
        rows.append({"model": "real held-out digits", "seeds": "–",
                     **{m: (f"{real[m]:.{digits.get(m, 1)}f}" if m in real else "n/a") for m in metrics}})
    return rows


def likelihood_rows(runs: Sequence[Mapping[str, Mapping[str, float]]]) -> list[dict[str, str]]:
    """One row per kind of image: each score of :func:`likelihood_scores` as mean ± 95 % interval over seeds."""
    if not runs:
        raise ValueError("give the scores of at least one seed")
    rows = []
    for case in runs[0]:
        row = {"images": case}
        for metric in runs[0][case]:
            values = [r[case][metric] for r in runs]
            digits = 1 if "ELBO" in metric else 2
            # the judge is one classifier for every seed: its scores do not vary, so no interval
            row[metric] = f"{values[0]:.{digits}f}" if len(set(values)) == 1 else format_interval(values, digits)
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- verdicts
def compare_sentence(what: str, name_a: str, a: Sequence[float], name_b: str, b: Sequence[float],
                     unit: str = "", higher: str = "is higher", lower: str = "is lower", digits: int = 1) -> str:
    """'<what>: A is higher than B (difference d ± h)' when the Welch interval excludes 0, else inconclusive."""
    gap = stats.difference(b, a)   # mean(a) − mean(b)
    d, h, s = gap.mean, gap.half, gap.sign
    diff = (f"{d:+.{digits}f}{unit} (1 seed each, no interval)" if math.isinf(h)
            else f"{d:+.{digits}f} ± {h:.{digits}f}{unit}")
    if d == 0 and h == 0:
        return f"{what}: {name_a} and {name_b} are equal in every seed ({statistics.fmean(a):.{digits}f}{unit})."
    if s == 0:
        return (f"{what}: no clear difference between {name_a} and {name_b} at {min(len(a), len(b))} seeds "
                f"(difference {diff}) — inconclusive.")
    return f"{what}: {name_a} {higher if s > 0 else lower} than {name_b} (difference {diff})."


def against_sentence(what: str, values: Sequence[float], reference: float, ref_name: str, unit: str = "",
                     above: str = "is above", below: str = "is below") -> str:
    """'<what> x̄ ± h is above/below <reference>' when the t-interval excludes it, else inconclusive."""
    m, h = interval(values)
    shown = f"{m:.1f}{unit} (1 seed, no interval)" if math.isinf(h) else f"{m:.1f} ± {h:.1f}{unit}"
    s = stats.Difference(m - reference, h).sign
    if s == 0:
        return f"{what} {shown} cannot be told apart from {ref_name} ({reference:.1f}{unit}) — inconclusive."
    return f"{what} {shown} {above if s > 0 else below} {ref_name} ({reference:.1f}{unit})."


def trade_off_verdicts(runs: Sequence[Mapping[str, Mapping[str, float]]], real: Mapping[str, float],
                       chance: float = 10.0) -> list[str]:
    """The comparison's findings as sentences, each computed from the intervals over seeds."""
    v = lambda model, metric: values_of(runs, model, metric)  # noqa: E731
    out = [
        compare_sentence("Sample quality (confident %)", GAN, v(GAN, "confident %"), VAE16,
                         v(VAE16, "confident %"), " points"),
        compare_sentence("Class coverage", GAN, v(GAN, "classes"), VAE16, v(VAE16, "classes"), " classes",
                         "covers more classes", "covers fewer classes"),
        compare_sentence("Diversity / real", GAN, v(GAN, "diversity / real"), VAE16, v(VAE16, "diversity / real"),
                         "", "is more diverse", "is less diverse", digits=2),
    ]
    acc = v(CGAN, "conditional accuracy %")
    if acc:
        out.append(against_sentence("The conditional GAN's conditional accuracy", acc, chance, "chance", " %"))
        out.append(against_sentence("Its conditional accuracy", acc, real["conditional accuracy %"],
                                    "the judge's accuracy on real held-out digits", " %"))
        m, h = interval(acc)
        if stats.Difference(m - chance, h).sign > 0:
            out.append("So its samples mostly pass the classifier as the digit they were asked to be: a judge "
                       "trained on real digits does not flag them.")
        else:
            out.append("So this run gives no evidence that its samples pass the classifier as the digit asked for.")
    return out


def likelihood_verdicts(runs: Sequence[Mapping[str, Mapping[str, float]]]) -> list[str]:
    """Sentences on p(y|x) vs p(x) from :func:`likelihood_scores` of one or more seeds."""
    elbo = lambda case: [r[case]["VAE: ELBO (nats)"] for r in runs]  # noqa: E731
    top = lambda case: [r[case]["judge: mean top class probability"] for r in runs]  # noqa: E731
    real, mirrored, noise = elbo("real digits"), elbo("mirrored digits"), elbo("uniform noise")
    share = lambda case: [r[case]["judge: share ≥ 0.9"] for r in runs]  # noqa: E731
    out = [f"The judge gives uniform noise a mean top class probability of {statistics.fmean(top('uniform noise')):.2f} "
           f"(real digits {statistics.fmean(top('real digits')):.2f}) and p ≥ 0.9 to "
           f"{100 * statistics.fmean(share('uniform noise')):.0f} % ({100 * statistics.fmean(share('real digits')):.0f} %): "
           "it cannot say an image is no digit.",
           compare_sentence("ELBO per image", "uniform noise", noise, "real digits", real, " nats",
                            "scores higher", "scores lower")]
    gap = statistics.fmean(real) - statistics.fmean(noise)
    d = stats.difference(real, mirrored).mean   # mean(mirrored) − mean(real)
    share = (-d / gap) if gap > 0 else math.nan
    out.append(compare_sentence("ELBO per image", "mirrored digits", mirrored, "real digits", real, " nats",
                                "score higher", "score lower"))
    if gap > 0 and math.isfinite(share):
        out.append(f"Mirrored digits lie {100 * share:.0f} % of the way from real digits down to noise: "
                   + ("closer to real digits than to noise, though the model never saw one."
                      if share < 0.5 else "closer to noise than to real digits."))
    return out
