"""The interactive coverage figure of notebook 01 (plotly, no kernel needed)."""
import pytest

from ragteach.gan.explore import coverage_figure

from conftest import toy_run


def _run(method, mixture, seed):
    return toy_run(method, mixture, seed, modes=[1, 5, 8], high_quality=[0.1, 0.5, 0.9], steps=[0, 10, 20])


def test_one_line_per_run_and_score_and_buttons_switch_mixtures():
    runs = [_run(m, mix, s) for m in ("GAN", "PacGAN4") for mix in ("ring", "grid") for s in (0, 1)]
    ceilings = [{"mixture": "ring", "modes_mean": 8, "hq_mean": 99.0}, {"mixture": "grid", "modes_mean": 25, "hq_mean": 98.0}]
    fig = coverage_figure(runs, ceilings)
    lines = [t for t in fig.data if t.name != "real data"]
    assert len(lines) == 2 * len(runs)                       # modes and high quality for each run
    assert sum(t.visible is True for t in fig.data) == (2 * 4 + 2)  # the ring's runs and its ceilings first
    assert "seed 1" in " ".join(t.hovertext[0] for t in lines)
    assert [t.y[-1] for t in lines[:2]] == [8, 90.0]         # high quality is shown in %
    grid_button = next(b for b in fig.layout.updatemenus[0].buttons if b.label == "grid")
    visible = grid_button.args[0]["visible"]
    assert len(visible) == len(fig.data) and sum(visible) == 2 * 4 + 2


def test_no_runs_is_refused():
    with pytest.raises(ValueError, match="at least one run"):
        coverage_figure([])
