import pytest
import torch

from ragteach.data.toy2d import grid, ring
from ragteach.gan.experiments import final, train_toy, train_toy_runs
from ragteach.lessons.gan_basics import (discriminator_verdict, little_data_verdict, miss_rows, miss_verdict,
                                   noise_verdict, real_ceiling_rows, realtime_verdict,
                                   stability_rows, stability_verdict, summary_rows, target_verdict, wobble)
from ragteach.lessons.packing import packing_verdict
from ragteach.metrics.modes import mode_stats
from ragteach.report import TAKEAWAY_WORDS, markdown_table, words
from ragteach.runs import Run

from conftest import toy_run


def test_train_toy_scores_every_eval_and_sharpens_the_learning_rate():
    run = train_toy(ring(), steps=40, eval_every=10, batch_size=32, sharpen_lr=1e-4, lr_g=1e-3, lr_d=1e-3)
    assert run.curve("step") == [10, 20, 30, 40] and len(run.curve("modes")) == 4
    assert run.trainer.optimizers["G"].param_groups[0]["lr"] == 1e-4   # the schedule's steps: tests/test_runs.py


def test_packing_keeps_the_number_of_examples_D_judges():
    """As in the PacGAN code: D sees batch_size packed examples, so G makes batch_size * pack samples."""
    run = train_toy(ring(), pack=4, steps=2, eval_every=2, batch_size=16)
    assert run.trainer.batch_size == 64
    runs = train_toy_runs(ring(), pack=4, seeds=[0], steps=2, eval_every=2, batch_size=16)
    assert runs[0].trainer.batch_size == 64


def test_runs_trained_together_follow_the_same_recipe_and_score_each_run():
    runs = train_toy_runs([ring(), grid()], "GAN", seeds=[0, 1], steps=40, eval_every=10, batch_size=32,
                          sharpen_lr=1e-4, lr_g=1e-3, lr_d=1e-3)
    assert [(r["mixture"], r["seed"]) for r in runs] == [("ring", 0), ("ring", 1), ("grid", 0), ("grid", 1)]
    assert all(r.curve("step") == [10, 20, 30, 40] for r in runs)
    assert runs[0].trainer.optimizers["G"].param_groups[0]["lr"] == 1e-4
    assert runs[2].sample(100).shape == (100, 2)
    assert not torch.equal(runs[0].sample(100), runs[1].sample(100))
    # each run is scored against its own mixture: re-scoring its final samples gives its final score,
    # and scoring them against the other mixture gives another (so a mix-up would show)
    mixtures = [ring(), grid()]
    for i, r in enumerate(runs):
        x = r.sample(2500)
        own, other = mode_stats(x, mixtures[i // 2]), mode_stats(x, mixtures[1 - i // 2])
        assert final(r) == (own.modes_captured, own.high_quality), r["mixture"]
        assert (own.modes_captured, own.high_quality) != (other.modes_captured, other.high_quality)


def test_wobble_counts_lost_coverage_not_learning_progress():
    assert wobble(toy_run("a", "ring", 0, modes=[6, 7, 8])) == 0.0
    assert wobble(toy_run("a", "ring", 0, modes=[3, 8, 2, 8])) == pytest.approx(2.0)
    assert wobble(toy_run("a", "ring", 0, modes=[8, 6, 4])) == pytest.approx(2.0)
    assert wobble(toy_run("a", "ring", 0, modes=[5])) == 0.0


def _runs(method, finals, hq=0.9, curve_drop=0):
    return [toy_run(method, "grid", s, steps=[1, 2, 3], modes=[m, m - curve_drop, m], high_quality=[hq] * 3)
            for s, m in enumerate(finals)]


def test_summary_rows_give_mean_and_interval():
    rows = {r["method"]: r for r in summary_rows(_runs("a", [20, 22, 24]) + _runs("b", [25]))}
    assert rows["a"]["modes"] == "22.0 ± 5.0" and rows["a"]["runs"] == 3
    assert rows["b"]["modes"] == "25.0 (1 run)"
    assert "wobble" in stability_rows(_runs("a", [20, 22]))[0]
    ceiling = real_ceiling_rows([ring()], seeds=[0, 1])
    assert ceiling[0]["modes_mean"] == 8 and 95 < ceiling[0]["hq_mean"] < 100


def test_verdicts_follow_the_measurements():
    """Verdict text is computed: opposite measurements give opposite verdicts."""
    steady, wobbly = _runs("r", [24, 25, 24, 25]), _runs("p", [20, 21, 19, 20], curve_drop=5)
    good, bad = stability_verdict(wobbly, steady), stability_verdict(steady, wobbly)
    assert good.word == "holds" and bad.word == "does not hold" and str(good) != str(bad)
    flat = stability_verdict(steady, steady)
    assert flat.word == "inconclusive" and "cannot be told apart" in flat.reason and "cannot" not in str(good)
    # notebook 01 prints it after "randomized training makes training more stable:" (6 words)
    assert max(words(str(v)) for v in (good, bad, flat)) + 6 <= TAKEAWAY_WORDS
    assert ", more;" in packing_verdict(wobbly, steady) and ", fewer;" in packing_verdict(steady, wobbly)
    assert packing_verdict(steady, steady).count("no clear difference") == 2
    longest = packing_verdict(wobbly, steady, "PacGAN4, 2 D steps", base_name="PacGAN4 with one D step")
    assert longest.startswith("PacGAN4, 2 D steps vs PacGAN4 with one D step (grid, 4 and 4 seeds): modes 24.5")
    assert words(longest) <= TAKEAWAY_WORDS
    assert "does not reach" in target_verdict(wobbly, 24, 90) and " reaches" in target_verdict(steady, 24, 90)
    g = torch.Generator().manual_seed(0)
    from ragteach.data.toy2d import ring
    assert "imitates the noise" in noise_verdict(torch.randn(4000, 2, generator=g), ring()).word
    assert "nearer the ring" in noise_verdict(ring().sample(4000, g), ring()).word
    assert realtime_verdict(2.0, 30, 100).word != realtime_verdict(200.0, 30, 100).word
    assert little_data_verdict(100, 0.9, 0.95).word != little_data_verdict(100, 0.3, 0.95).word


def test_markdown_table():
    text = markdown_table([{"a": 1.23456, "b": "x|y"}])
    assert text.splitlines() == ["| a | b |", "|---|---|", "| 1.23 | x\\|y |"]
    with pytest.raises(ValueError):
        markdown_table([])


def test_schedule_lowers_each_rate_from_its_own_start():
    from ragteach.gan.experiments import Schedule

    s = Schedule(1e-5, 0.5, "exp", updates=4)
    chunks = s.chunks(40, 10)
    assert [c[1] for c in chunks] == [10, 10, 5, 5, 5, 5] and [c[2] for c in chunks] == [True, True, False, True, False, True]
    assert s.rate(1e-3, 19, 40) == 1e-3 and s.rate(1e-3, 30, 40) == pytest.approx(1e-4)
    assert s.rate(4e-3, 20, 40) == 4e-3 and Schedule(1e-4).rate(2e-3, 35, 40) == 1e-4
    run = train_toy(ring(), steps=20, eval_every=10, batch_size=16, sharpen_lr=1e-5, sharpen_fraction=0.5,
                    lr_decay="exp", lr_g=2e-3, lr_d=1e-3)
    lr_g, lr_d = (run.trainer.optimizers[n].param_groups[0]["lr"] for n in ("G", "D"))
    assert lr_g < 2e-3 and lr_d < 1e-3 and lr_g > lr_d > 1e-5     # each falls from its own value
    with pytest.raises(ValueError, match="lr_decay"):
        Schedule(1e-4, decay="cosine")


def test_jobs_side_by_side_in_processes_equal_the_jobs_run_here():
    from ragteach.gan.experiments import train_toy_runs_side_by_side

    recipe = dict(steps=30, eval_every=15, batch_size=32, sharpen_lr=1e-5, sharpen_fraction=0.4, lr_decay="exp")
    jobs = {"GAN": dict(mixtures=[ring(), grid()], seeds=[0, 1], **recipe),
            "PacGAN2": dict(mixtures=grid(), method="PacGAN2", pack=2, seeds=[3], label_smoothing=0.1,
                            betas=(0.5, 0.9), **recipe)}
    here = train_toy_runs_side_by_side(jobs, workers=1)
    there = train_toy_runs_side_by_side(jobs, workers=2)
    assert list(there) == ["GAN", "PacGAN2"]
    for name in jobs:
        assert [r.settings["method"] for r in there[name]] == [r.settings["method"] for r in here[name]]
        for a, b in zip(here[name], there[name]):
            assert a["mixture"] == b["mixture"] and a["seed"] == b["seed"]
            assert [{k: v for k, v in row.items() if k != "s/step"} for row in a.history] == \
                   [{k: v for k, v in row.items() if k != "s/step"} for row in b.history]
            assert torch.equal(a.sample(200), b.sample(200))      # the rebuilt trainer is the trained one
    assert there["PacGAN2"][0].trainer.steps == 30
    for runs in (here, there):     # Adam's betas reach both optimisers, also in the rebuilt trainer
        assert {o.param_groups[0]["betas"] for o in runs["PacGAN2"][0].trainer.optimizers.values()} == {(0.5, 0.9)}
        assert runs["GAN"][0].trainer.optimizers["D"].param_groups[0]["betas"] == (0.5, 0.999)


def test_side_by_side_refuses_bad_jobs():
    from ragteach.gan.experiments import train_toy_runs_side_by_side

    with pytest.raises(ValueError, match="at least one job"):
        train_toy_runs_side_by_side({})
    with pytest.raises(ValueError, match="'GAN' does not fit"):
        train_toy_runs_side_by_side({"GAN": dict(seeds=[0])})           # no mixtures
    with pytest.raises(ValueError, match="workers"):
        train_toy_runs_side_by_side({"GAN": dict(mixtures=ring())}, workers=0)


def test_an_interrupt_stops_jobs_side_by_side_at_once(tmp_path):
    """The notebook's stop button sends SIGINT: the cell must return at once, not after the workers' jobs."""
    import subprocess
    import sys

    script = tmp_path / "interrupt.py"
    script.write_text(
        "import os, signal, threading, time\n"
        "from ragteach.data.toy2d import grid, ring\n"
        "from ragteach.gan.experiments import train_toy_runs_side_by_side\n"
        "if __name__ == '__main__':\n"
        "    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in Jupyter, even if started with SIGINT ignored\n"
        "    jobs = {k: dict(mixtures=m, seeds=[0], steps=10**6, eval_every=10**6, batch_size=32)\n"
        "            for k, m in (('ring', ring()), ('grid', grid()))}\n"
        "    threading.Timer(6, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
        "    start = time.perf_counter()\n"
        "    try:\n"
        "        train_toy_runs_side_by_side(jobs, workers=2)\n"
        "    except KeyboardInterrupt:\n"
        "        print(f'interrupted after {time.perf_counter() - start:.1f} s')\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    lines = out.stdout.splitlines()
    assert lines[-1].startswith("interrupted after"), out.stdout + out.stderr
    assert float(lines[-1].split()[2]) < 20          # a million steps would take hours
    assert "no job had finished" in lines[0]


def test_runs_trained_together_skip_the_per_step_undo_copy(monkeypatch):
    """train_toy_runs' failed step ends the call, so its trainer does not copy its state before every step
    (up to a sixth of a toy step); the trainer it returns undoes failed steps again."""
    from ragteach.gan.batched import BatchedGANTrainer

    def refuse(self):
        raise AssertionError("the undo copy ran")

    monkeypatch.setattr(BatchedGANTrainer, "_save_before_step", refuse)
    runs = train_toy_runs(ring(), seeds=[0], steps=4, eval_every=2, batch_size=16)
    assert runs[0].trainer.transactional


def test_side_by_side_keeps_finished_jobs_across_an_interrupt(monkeypatch, capsys):
    """Interrupting a long cell loses only the jobs still training: called again with the same ``done`` dict,
    the finished ones are taken from it and only the others train."""
    from ragteach.gan import experiments as E

    calls = []
    real_train = E.train_toy_runs

    def interrupt_the_second_job(**kwargs):
        calls.append(kwargs["method"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_train(**kwargs)

    monkeypatch.setattr(E, "train_toy_runs", interrupt_the_second_job)
    jobs = {"a": dict(mixtures=ring(), method="a", seeds=[0], steps=4, eval_every=2, batch_size=16),
            "b": dict(mixtures=grid(), method="b", seeds=[0], steps=4, eval_every=2, batch_size=16)}
    done = {}
    with pytest.raises(KeyboardInterrupt):
        E.train_toy_runs_side_by_side(jobs, done=done)
    assert "the finished jobs are kept" in capsys.readouterr().out and list(done) == ["a"]
    runs = E.train_toy_runs_side_by_side(jobs, done=done)
    assert calls == ["a", "b", "b"]                       # a was not trained again
    assert "reusing 1 finished job(s): a" in capsys.readouterr().out
    assert list(runs) == ["a", "b"] and runs["a"][0].curve("step") == [2, 4] and runs["b"][0]["mixture"] == "grid"
    E.train_toy_runs_side_by_side(jobs)                    # without done: every job trains
    assert calls == ["a", "b", "b", "a", "b"]


def test_toy_runs_interrupted_stop_instead_of_reporting_a_shorter_run(monkeypatch):
    """Ctrl-C / the stop button inside train_toy_runs ends the call: it must not score and return runs that
    trained fewer steps than asked. session.run on its own stops cleanly between two steps and returns
    (tests/test_session.py checks that with a real Ctrl-C); here run() stops halfway as an interrupt would."""
    from ragteach.live.session import TrainingSession

    real_run = TrainingSession.run

    def interrupted_halfway(self, n_steps, progress=True, desc="training", reraise_interrupt=False):
        real_run(self, n_steps // 2, progress=False)
        if reraise_interrupt:
            raise KeyboardInterrupt
        return []

    monkeypatch.setattr(TrainingSession, "run", interrupted_halfway)
    with pytest.raises(KeyboardInterrupt):
        train_toy_runs(ring(), seeds=[0], steps=8, eval_every=4, batch_size=16)


def test_runs_record_the_discriminators_accuracy_at_every_evaluation():
    one = train_toy(grid(), pack=4, steps=20, eval_every=10, batch_size=16)
    together = train_toy_runs([ring(), grid()], pack=2, seeds=[0], steps=20, eval_every=10, batch_size=16)
    for run in [one, *together]:
        assert len(run.curve("d_accuracy")) == len(run.curve("step")) == 2
        assert all(0.0 <= a <= 1.0 for a in run.curve("d_accuracy"))


def _d_runs(accuracies, hq=0.05):
    return [toy_run("PacGAN4", "grid", s, steps=[1, 2, 3, 4], modes=[20] * 4, high_quality=[hq] * 4,
                   d_accuracy=[0.9, 0.8, a, a]) for s, a in enumerate(accuracies)]


def test_discriminator_verdict_reads_the_late_accuracy_against_chance():
    """The verdict text follows the measurement: at chance, above chance, or inconclusive."""
    at_chance = discriminator_verdict(_d_runs([0.50, 0.505, 0.495, 0.50]))
    above = discriminator_verdict(_d_runs([0.70, 0.72, 0.68, 0.71]))
    unclear = discriminator_verdict(_d_runs([0.45, 0.60, 0.50, 0.58]))
    # notebook 06's PacGAN4 reading, 51.3 ± 2.6 %: inside the band, so at chance (a 2-point band said inconclusive)
    assert "at chance" in discriminator_verdict(_d_runs([0.49, 0.515, 0.53, 0.50, 0.53]))
    assert "at chance" in at_chance and "50.0 ± 0.6 %" in at_chance and "5.0 ± 0.0 %" in at_chance
    assert "above chance" in above and "at chance" not in above
    assert "inconclusive" in unclear
    assert len({at_chance, above, unclear}) == 3
    assert max(words(v) for v in (at_chance, above, unclear)) <= TAKEAWAY_WORDS
    with pytest.raises(ValueError, match="no D accuracy"):
        discriminator_verdict([Run({"method": "a", "mixture": "grid", "seed": 0}, [{"step": 1, "modes": 1}])])
    with pytest.raises(ValueError):
        discriminator_verdict([])


def test_curves_draw_each_group_only_where_it_has_runs_and_samples_one_panel_per_run():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ragteach.gan.experiments import train_toy_runs
    from ragteach.lessons.gan_basics import real_ceiling_rows
    from ragteach.gan.plots import toy_run_curves, toy_run_samples

    both = train_toy_runs([ring(), grid()], "GAN", seeds=[0, 1], steps=20, eval_every=10, batch_size=16)
    grid_only = train_toy_runs(grid(), "GAN, 2x steps", seeds=[0], steps=40, eval_every=10, batch_size=16)
    fig = toy_run_curves([(both, "tab:blue"), (grid_only, "tab:purple")], [ring(), grid()],
                         real_ceiling_rows([ring(), grid()], seeds=[0]), sharpen_fraction=0.25)
    labels = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes]
    assert len(fig.axes) == 6 and labels[0][0] == "GAN (mean of 2)"          # rows x columns: modes, HQ, D accuracy
    assert not any("2x steps" in t for col in labels[0::2] for t in col)      # the ring column: no grid-only group
    assert all("GAN, 2x steps (mean of 1)" in col for col in labels[1::2])
    # where the learning rate starts to fall, per group: 3/4 of 20 steps, and of 40 for the longer runs
    dashed = [sorted(line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--") for ax in fig.axes]
    assert dashed[0] == [15] and dashed[1] == [15, 30]
    panels = toy_run_samples(both[:1] + both[2:3])
    assert [ax.get_title().split("\n")[0] for ax in panels.axes] == ["GAN, ring, seed 0", "GAN, grid, seed 0"]
    plt.close("all")


class _FixedRun(Run):
    """A run whose samples are given (no trainer): the mixture's real samples moved by ``shift`` σ."""

    def __init__(self, mixture, seed: int, shift: float) -> None:
        super().__init__({"method": "G", "mixture": mixture.name, "seed": seed, "data": mixture})
        self.shift = shift

    def sample(self, n: int = 2500) -> torch.Tensor:
        x = self["data"].sample(n, torch.Generator().manual_seed(self["seed"]))
        return x + torch.tensor([self.shift * self["data"].std, 0.0])


def _fixed_runs(shift: float) -> list[Run]:
    return [_FixedRun(grid(), s, shift if s % 2 else shift + 0.1) for s in range(4)]


def test_miss_verdict_tells_wide_modes_from_samples_between_modes():
    wide = miss_rows(_fixed_runs(3.5))        # every mode drawn 3.5σ off centre: misses just outside the modes
    bridges = miss_rows(_fixed_runs(20.0))    # 20σ off: halfway to the next grid point (40σ away)
    assert [r["method"] for r in wide] == ["G", "real data"]
    assert wide[1]["beyond 6σ %"].startswith("0.00")
    said_wide, said_bridges = miss_verdict(wide, "G", "grid"), miss_verdict(bridges, "G", "grid")
    assert "just outside a mode than between" in said_wide
    assert "between the modes than just outside" in said_bridges
    assert said_wide != said_bridges
    assert "(real data 1.03 ± 0.30 %: more than real data" in said_wide
    assert "(real data 1.03 ± 0.30 %: fewer than real data" in said_bridges    # nothing left at 3σ to 6σ
    with pytest.raises(ValueError, match="no 'GAN'"):
        miss_verdict(wide, "GAN", "grid")


def test_miss_distance_figure_draws_one_panel_per_mixture_with_both_histograms():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ragteach.gan.plots import miss_distance_figure

    ring_run = _FixedRun(ring(), 0, 0.0)
    fig = miss_distance_figure(_fixed_runs(20.0) + [ring_run], n=500)
    assert [ax.get_title() for ax in fig.axes] == ["grid: where the samples lie", "ring: where the samples lie"]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["real data (2,000 samples)", "generated (2,000 samples)"]   # 4 runs pooled, as many real
    plt.close("all")


def test_small_d_with_dcgan_betas_collapses_where_the_recipe_covers_the_ring():
    from ragteach.gan.experiments import COLLAPSE_D_HIDDEN, COLLAPSE_RECIPE, TOY_D_HIDDEN, TOY_RECIPE
    from ragteach.lessons.gan_basics import collapse_verdict
    from ragteach.gan.models import toy_config
    budget = dict(steps=1500, eval_every=1500, seeds=(0, 1, 2))
    collapsing = train_toy_runs(ring(), "collapsing GAN", cfg=toy_config(1, COLLAPSE_D_HIDDEN),
                                **{**COLLAPSE_RECIPE, **budget})
    cured = train_toy_runs(ring(), "recipe", cfg=toy_config(1, TOY_D_HIDDEN), **{**TOY_RECIPE, **budget})
    assert max(final(r)[0] for r in collapsing) <= 2 and min(final(r)[0] for r in cured) >= 5
    words = collapse_verdict(collapsing, cured, 8)
    assert "(mode collapse)" in words and len(words.split()) <= 25
