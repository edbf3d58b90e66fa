"""Notebook 01's lesson: the tables and verdicts of the toy GAN runs (notebook 06 reuses them) and of the digits.

Every verdict is computed from the runs it is given, never written in advance: intervals over seeds
(:mod:`ragteach.stats`), and words that say "inconclusive" when the seeds cannot tell.
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Sequence

import torch

from ragteach.data.toy2d import GaussianMixture2D
from ragteach.gan.experiments import final, networks
from ragteach.metrics.modes import miss_shares, mode_stats
from ragteach.runs import Run
from ragteach.stats import Difference, Verdict, difference, format_interval, interval


def side_word(sign: int, higher: str, lower: str, same: str = "no clear difference") -> str:
    """The word for a difference's side: ``higher`` (+1), ``lower`` (−1) or ``same`` (0, its interval spans 0)."""
    return higher if sign > 0 else lower if sign < 0 else same


# ----------------------------------------------------------------------------- tables
def _by_method_and_mixture(runs: Sequence[Run]) -> dict[tuple[str, str], list[Run]]:
    groups: dict[tuple[str, str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r["method"], r["mixture"]), []).append(r)
    return groups


def summary_rows(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per (method, mixture): final modes and high-quality %, mean ± 95 % t-interval over seeds."""
    groups = _by_method_and_mixture(runs)
    rows = []
    for (method, mixture), rs in groups.items():
        modes = [final(r)[0] for r in rs]
        hq = [100 * final(r)[1] for r in rs]
        rows.append({"method": method, "mixture": mixture, "runs": len(rs), "modes": format_interval(modes),
                     "high quality %": format_interval(hq), "modes_mean": interval(modes)[0],
                     "modes_ci": interval(modes)[1], "hq_mean": interval(hq)[0], "hq_ci": interval(hq)[1],
                     "seconds/run": f"{statistics.fmean(r.seconds for r in rs):.1f}"})
    return rows


def real_ceiling_rows(mixtures: Sequence[GaussianMixture2D], seeds: Sequence[int] = (0, 1, 2, 3, 4),
                      n: int = 2500) -> list[dict[str, Any]]:
    """The same score for ``n`` *real* samples: the best any generator can expect. With σ-wide Gaussians,
    a real point lies within 3σ of its centre with probability 1 − e^{−9/2} ≈ 98.9 % (2-d)."""
    rows = []
    for mix in mixtures:
        stats = [mode_stats(mix.sample(n, torch.Generator().manual_seed(s)), mix) for s in seeds]
        modes, hq = [s.modes_captured for s in stats], [100 * s.high_quality for s in stats]
        rows.append({"method": "real data (ceiling)", "mixture": mix.name, "runs": len(stats),
                     "modes": format_interval(modes), "high quality %": format_interval(hq),
                     "modes_mean": interval(modes)[0], "hq_mean": interval(hq)[0]})
    return rows


MISS_COLUMNS = ["method", "mixture", "runs", "within 3σ %", "3σ to 6σ %", "beyond 6σ %"]


def _miss_values(samples: Sequence[torch.Tensor], mixture: GaussianMixture2D) -> dict[str, list[float]]:
    shares = [miss_shares(x, mixture) for x in samples]
    return {"within 3σ %": [100 * m.near for m in shares], "3σ to 6σ %": [100 * m.loose for m in shares],
            "beyond 6σ %": [100 * m.between for m in shares]}


def miss_rows(runs: Sequence[Run], seeds: Sequence[int] = (0, 1, 2, 3, 4), n: int = 2500,
              digits: int = 2) -> list[dict[str, Any]]:
    """Where the samples lie (see :func:`ragteach.metrics.modes.miss_shares`), one row per (method, mixture)
    of ``runs`` and one for ``n`` real samples per seed of each mixture: mean ± 95 % t-interval in %.
    Each row also keeps the per-run values under ``"values"`` for :func:`miss_verdict`."""
    groups = _by_method_and_mixture(runs)
    mixtures = {r["mixture"]: r["data"] for r in runs}
    rows = []
    for (method, mixture), rs in groups.items():
        rows.append((method, mixture, _miss_values([r.sample(n) for r in rs], mixtures[mixture])))
    for name, mix in mixtures.items():
        real = [mix.sample(n, torch.Generator().manual_seed(s)) for s in seeds]
        rows.append(("real data", name, _miss_values(real, mix)))
    return [{"method": method, "mixture": mixture, "runs": len(values["beyond 6σ %"]), "values": values,
             **{col: format_interval(v, digits) for col, v in values.items()}} for method, mixture, values in rows]


def miss_verdict(rows: Sequence[dict[str, Any]], method: str, mixture: str) -> str:
    """Do ``method``'s misses on ``mixture`` lie mostly between modes or just outside them? Read from the
    intervals of :func:`miss_rows`: Welch's interval for the difference of the two shares."""
    row = next((r for r in rows if r["method"] == method and r["mixture"] == mixture), None)
    real = next((r for r in rows if r["method"] == "real data" and r["mixture"] == mixture), None)
    if row is None or real is None:
        raise ValueError(f"rows hold no {method!r} or real-data row for the {mixture}; pass miss_rows(...) of "
                         f"runs that include {method} on the {mixture}")
    v = row["values"]
    d = difference(v["3σ to 6σ %"], v["beyond 6σ %"])
    reading = side_word(d.sign, "more of its misses lie between the modes than just outside them",
                    "more of its misses lie just outside a mode than between the modes",
                    "inconclusive: as many misses lie between the modes as just outside them")
    wide = difference(real["values"]["3σ to 6σ %"], v["3σ to 6σ %"])
    modes = side_word(wide.sign, "more than real data", "fewer than real data", "no clear difference from real data")
    return (f"{method} on the {mixture}: {format_interval([100 - x for x in v['within 3σ %']], 2)} % of the samples "
            f"miss (real data {format_interval([100 - x for x in real['values']['within 3σ %']], 2)} %); "
            f"{row['3σ to 6σ %']} % lie 3σ to 6σ from a mode (real data {real['3σ to 6σ %']} %: {modes}, "
            f"difference {wide.mean:+.2f} ± {wide.half:.2f} points), {row['beyond 6σ %']} % beyond 6σ (real data "
            f"{real['beyond 6σ %']} %): {reading} (difference {d.mean:+.2f} ± {d.half:.2f} points)")


def rejection_runs(runs: Sequence[Run], n: int = 2500, bound_quantile: float = 1.0,
                   seed: int = 0) -> list[Run]:
    """Each run's final G and D with discriminator rejection sampling (:mod:`ragteach.gan.rejection`): ``n``
    kept samples scored like the run's own, as a new run named ``"<method> + D rejection"``."""
    from ragteach.gan.rejection import rejection_sample

    out = []
    for run in runs:
        started = time.perf_counter()
        result = rejection_sample(*networks(run), n=n, bound_quantile=bound_quantile, seed=seed)
        stats = mode_stats(result.samples, run["data"])
        out.append(Run({**run.settings, "method": f"{run['method']} + D rejection"},
                       [{"step": run.history[-1]["step"], "modes": stats.modes_captured,
                         "high_quality": stats.high_quality}],
                       {"kept": result.kept}, seconds=time.perf_counter() - started))
    return out


def rejection_rows(plain: Sequence[Run], cleaned: Sequence[Run]) -> list[dict[str, Any]]:
    """:func:`summary_rows` of the plain runs and their :func:`rejection_runs`, with the share D kept."""
    rows = summary_rows(list(plain) + list(cleaned))
    for row in rows:
        kept = [100 * r.scores["kept"] for r in cleaned if r["method"] == row["method"] and r["mixture"] == row["mixture"]]
        row["D kept %"] = format_interval(kept) if kept else ""
    return rows


def rejection_verdict(plain: Sequence[Run], cleaned: Sequence[Run]) -> str:
    """Per mixture, what rejecting with D changed: the interval of the change in modes and high-quality share."""
    parts = []
    missing = "no plain run on the {} to compare the rejection runs with"
    for mixture, p, c in _paired_by_mixture(plain, cleaned, missing):
        (pm, ph), (cm, ch) = finals(p), finals(c)
        dm, dh = difference(pm, cm), difference(ph, ch)
        parts.append(f"{mixture}: D kept {format_interval([100 * r.scores['kept'] for r in c])} % of G's draws; modes "
                     f"{_moved(dm)} ({format_interval(pm)} → {format_interval(cm)}), high-quality share "
                     f"{_moved(dh)} ({format_interval(ph)} → {format_interval(ch)} %, "
                     f"difference {dh.mean:+.2f} ± {dh.half:.2f} points)")
    return "; ".join(parts) + "."


def _paired_by_mixture(before: Sequence[Run], after: Sequence[Run],
                       missing: str) -> list[tuple[str, list[Run], list[Run]]]:
    """(mixture, its ``before`` runs, its ``after`` runs) for every mixture of ``after``, in order; a mixture
    without ``before`` runs raises ValueError(``missing`` formatted with the mixture's name)."""
    pairs = []
    for mixture in dict.fromkeys(r["mixture"] for r in after):
        b = [r for r in before if r["mixture"] == mixture]
        if not b:
            raise ValueError(missing.format(mixture))
        pairs.append((mixture, b, [r for r in after if r["mixture"] == mixture]))
    return pairs


def _moved(d: Difference) -> str:
    return side_word(d.sign, "rose", "fell", "did not change clearly")


def wobble(run: Run) -> float:
    """Coverage lost during training: the mean over consecutive evaluations of max(0, m_{i−1} − m_i),
    the modes lost between two evaluations. Gains are learning, not instability, so they count 0:
    [6, 7, 8] → 0; [3, 8, 2, 8] → (0 + 6 + 0) / 3 = 2."""
    m = run.curve("modes")
    return statistics.fmean(max(0, a - b) for a, b in zip(m[:-1], m[1:])) if len(m) > 1 else 0.0


def stability_rows(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Per method: final modes and HQ and the wobble, each mean ± 95 % t-interval over seeds."""
    rows = summary_rows(runs)
    for row in rows:
        rs = [r for r in runs if r["method"] == row["method"] and r["mixture"] == row["mixture"]]
        row["wobble"] = format_interval([wobble(r) for r in rs], digits=2)
        row["wobble_mean"] = interval([wobble(r) for r in rs])[0]
    return rows


# ----------------------------------------------------------------------------- verdicts, computed
def finals(runs: Sequence[Run]) -> tuple[list[float], list[float]]:
    """Every run's final modes, and its final high-quality share in %."""
    return [final(r)[0] for r in runs], [100 * final(r)[1] for r in runs]


def stability_verdict(plain: Sequence[Run], randomized: Sequence[Run]) -> Verdict:
    """Is randomized training more stable? Three measures, each judged by the 95 % interval of its
    difference (randomized − plain): wobble (lower is better), final modes and final high-quality share
    (higher is better). 'holds' if some measure is clearly better and none clearly worse; 'does not
    hold' if some is clearly worse and none clearly better; 'mixed' if both; else 'inconclusive'."""
    (pm, ph), (rm, rh) = finals(plain), finals(randomized)
    d_wob = difference([wobble(r) for r in plain], [wobble(r) for r in randomized])
    d_modes, d_hq = difference(pm, rm), difference(ph, rh)
    signs = [-d_wob.sign, d_modes.sign, d_hq.sign]            # +1 = better for randomized training
    word = ("mixed" if 1 in signs and -1 in signs else "holds" if 1 in signs
            else "does not hold" if -1 in signs else "inconclusive")
    reason = (f"randomized − plain, {len(randomized)} vs {len(plain)} seeds: wobble {d_wob}, modes {d_modes}, "
              f"high quality {d_hq} points")
    if word == "inconclusive":
        reason += "; smaller differences than these ± cannot be told apart"
    return Verdict(word, reason)


def collapse_verdict(collapsing: Sequence[Run], cured: Sequence[Run], n_modes: int) -> str:
    """At most 25 words: did ``collapsing`` cover at most 3/8 of the ``n_modes`` modes (mode collapse), and did
    ``cured`` cover clearly more (the Welch interval of the difference excludes 0), within one mode of all
    (cured)? From the modes' intervals over seeds."""
    (cm, _), (um, _) = finals(collapsing), finals(cured)
    d = difference(cm, um)
    collapsed = statistics.fmean(cm) <= 3 * n_modes / 8
    word = (": cured" if collapsed and d.sign > 0 and statistics.fmean(um) >= n_modes - 1 else
            side_word(d.sign, ": clearly more", ": clearly fewer", ": not clearly more"))
    return (f"{collapsing[0]['mixture']}: {collapsing[0]['method']} covers {format_interval(cm)} of {n_modes} modes"
            f"{' (mode collapse)' if collapsed else ''}; {cured[0]['method']} covers {format_interval(um)}{word}.")


def late_d_accuracy(run: Run) -> float:
    """D's mean accuracy (in %) over the second half of a run's evaluations: where it settled."""
    accuracy = run.curve("d_accuracy")
    if not accuracy:
        raise ValueError(f"run {run['method']}/{run['mixture']}/seed {run['seed']} recorded no D accuracy")
    late = accuracy[len(accuracy) // 2:]
    return 100 * statistics.fmean(late)


#: The chance band, defined once: a D whose accuracy lies within 50 ± 5 % tells real from generated no better than
#: a coin that is right 55 % of the time, too little to give G a direction (each evaluation's own sampling error on
#: 2 x 2,500 samples is about 0.7 points, so the band is about learning, not noise).
CHANCE_BAND = 5.0


def discriminator_verdict(runs: Sequence[Run], margin: float = CHANCE_BAND) -> str:
    """Whether D stayed at chance over the second half of training, from the interval over seeds, beside the
    generator's final high-quality share. "at chance": the interval lies within 50 ± ``margin`` %; "above
    chance": it lies above 50 + ``margin``; otherwise "inconclusive". A D at chance while G's samples are
    plainly wrong (low high-quality share) is a D that cannot see the difference, so G gets no direction."""
    if not runs:
        raise ValueError("need at least one run")
    acc = [late_d_accuracy(r) for r in runs]
    mean, half = interval(acc)
    if 50 - margin <= mean - half and mean + half <= 50 + margin:
        word = "at chance"
    elif mean - half > 50 + margin:
        word = "above chance"
    else:
        word = f"inconclusive (crosses 50 ± {margin:g} %)"
    _, hq = finals(runs)
    return (f"{runs[0]['method']} on the {runs[0]['mixture']}: D's late accuracy {format_interval(acc)} % is {word}; "
            f"G's high-quality share {format_interval(hq)} %.")


def target_verdict(runs: Sequence[Run], min_modes: float, min_hq: float) -> str:
    """Whether the mean final modes and high-quality % reach the given targets, said with the numbers."""
    modes, hq = finals(runs)
    m, h = statistics.fmean(modes), statistics.fmean(hq)
    reached = "reaches" if m >= min_modes and h >= min_hq else "does not reach"
    return (f"{runs[0]['method']} on the {runs[0]['mixture']}: mean {m:.1f} modes and {h:.1f} % high quality over "
            f"{len(runs)} seeds {reached} the target of {min_modes:g} modes and {min_hq:g} %.")


def noise_verdict(samples: torch.Tensor, mixture: GaussianMixture2D, seed: int = 0) -> Verdict:
    """Did a GAN trained on N(0, I) 'data' learn the noise or the ``mixture`` it was never shown? Scores the
    samples' high-quality share on the mixture beside that of as many randn points and real mixture points:
    it imitates noise if its share is nearer randn's than the real points'."""
    g = torch.Generator().manual_seed(seed)
    hq = {name: mode_stats(x, mixture).high_quality
          for name, x in [("G", samples), ("randn", torch.randn(len(samples), 2, generator=g)),
                          ("real", mixture.sample(len(samples), g))]}
    mean, std = samples.mean(0), samples.std(0)
    reason = (f"high quality on the {mixture.name}: G {100 * hq['G']:.1f} %, randn {100 * hq['randn']:.1f} %, "
              f"real points {100 * hq['real']:.1f} %; G's mean {[round(v, 2) for v in mean.tolist()]}, "
              f"std {[round(v, 2) for v in std.tolist()]} (randn: 0, 1)")
    if abs(hq["G"] - hq["randn"]) < abs(hq["G"] - hq["real"]):
        return Verdict(f"it imitates the noise it was fed, not the {mixture.name}", reason)
    return Verdict(f"its samples score nearer the {mixture.name}'s points than noise does", reason)


def realtime_verdict(ms_per_1000: float, train_seconds: float, steps: int, frame_ms: float = 1000 / 30) -> Verdict:
    """Sampling counts as real time if 1,000 samples take less than one video frame (``frame_ms``)."""
    fast = ms_per_1000 < frame_ms
    return Verdict(f"sampling: {'real time' if fast else 'slower than real time'}; training: {train_seconds:.0f} s",
                   f"1,000 samples in {ms_per_1000:.1f} ms ({'under' if fast else 'over'} one {frame_ms:.0f} ms "
                   f"frame); {steps} training steps took {train_seconds:.0f} s")


def little_data_verdict(n_train: int, fake_confident: float, real_confident: float, margin: float = 0.1) -> Verdict:
    """Confident rate of generated vs held-out real digits: 'close to real' within ``margin``."""
    gap = real_confident - fake_confident
    word = "close to real digits" if gap <= margin else "below real digits"
    return Verdict(f"with {n_train:,} images: {word}",
                   f"{100 * fake_confident:.0f} % of samples judged confidently vs {100 * real_confident:.0f} % of "
                   f"real digits ({'within' if gap <= margin else 'more than'} {100 * margin:.0f} points); "
                   f"less data is tested in notebook 02")



# PacGAN paper (Lin et al. 2018), Table 1: mean over 10 runs, 400 epochs of 100,000 points each.
PUBLISHED = [
    {"method": "GAN (PacGAN paper)", "mixture": "ring", "modes": "6.3", "high quality %": "98.2"},
    {"method": "PacGAN4 (PacGAN paper)", "mixture": "ring", "modes": "7.8", "high quality %": "95.9"},
    {"method": "GAN (PacGAN paper)", "mixture": "grid", "modes": "17.3", "high quality %": "94.8"},
    {"method": "PacGAN4 (PacGAN paper)", "mixture": "grid", "modes": "24.8", "high quality %": "93.6"},
]
