import pytest

from ragteach.data.toy2d import ring
from ragteach.gan.experiments import ToyRun, stability_verdict, summary_rows, train_toy, wobble
from ragteach.report import markdown_table


def test_train_toy_scores_every_eval_and_sharpens_the_learning_rate():
    run = train_toy(ring(), steps=40, eval_every=10, batch_size=32, sharpen_lr=1e-4, lr_g=1e-3, lr_d=1e-3)
    assert run.steps == [10, 20, 30, 40] and len(run.modes) == 4
    lrs = run.session.metric("lr_g")
    assert lrs[:30] == [1e-3] * 30 and lrs[30:] == [1e-4] * 10


def test_summary_and_verdict():
    a = ToyRun("plain", "ring", 0, modes=[3, 8, 2, 8], high_quality=[0.1] * 4)
    b = ToyRun("plain", "ring", 1, modes=[4, 6], high_quality=[0.2] * 2)
    c = ToyRun("rand", "ring", 0, modes=[6, 7, 8], high_quality=[0.3] * 3)
    assert wobble(a) == pytest.approx(17 / 3)
    rows = {r["method"]: r for r in summary_rows([a, b, c])}
    assert rows["plain"]["modes"] == "7.0 ± 1.4" and rows["rand"]["modes"] == "8.0"
    plain = dict(rows["plain"], wobble=4.0)
    rand = dict(rows["rand"], wobble=1.0)
    assert stability_verdict(plain, rand) == "holds"
    assert stability_verdict(rand, plain) == "does not hold"


def test_markdown_table():
    text = markdown_table([{"a": 1.23456, "b": "x|y"}])
    assert text.splitlines() == ["| a | b |", "|---|---|", "| 1.23 | x\\|y |"]
    with pytest.raises(ValueError):
        markdown_table([])
