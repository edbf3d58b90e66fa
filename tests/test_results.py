"""Class mode: a result computed and recorded in full mode is the one class mode loads, trainers included."""
import json

import pytest
import torch

from ragteach import Results, by_mode, class_mode, mode_line, use_class_mode
from ragteach.data.toy2d import ring
from ragteach.gan.models import toy_config
from ragteach.gan.train import GANTrainer, gan_knobs
from ragteach.live.session import TrainingSession


@pytest.fixture
def modes(monkeypatch, tmp_path):
    """No class mode to start with; records go to a fresh folder."""
    monkeypatch.setenv("RAGTEACH_CLASS", "0")   # restored (unset) afterwards, even when use_class_mode set it
    monkeypatch.setenv("RAGTEACH_RECORD", str(tmp_path))
    return monkeypatch, tmp_path


def test_class_mode_loads_what_full_mode_recorded_and_says_where_it_came_from(modes, capsys):
    monkeypatch, folder = modes
    calls = []
    value = Results("00_test").stored("a table", lambda: calls.append(1) or {"modes": [8, 7]})
    assert value == {"modes": [8, 7]} and calls == [1]
    record = json.loads((folder / "00_test" / "a-table.json").read_text())
    assert set(record) == {"machine", "date", "versions", "command", "seconds"}

    monkeypatch.setenv("RAGTEACH_CLASS", "1")
    loaded = Results("00_test", folder).stored("a table", lambda: calls.append(1))
    assert loaded == value and calls == [1]                  # nothing computed in class mode
    assert f"computed in full mode on {record['date']}" in capsys.readouterr().out


def test_class_mode_without_a_stored_result_says_how_to_get_one(modes):
    monkeypatch, folder = modes
    monkeypatch.setenv("RAGTEACH_CLASS", "1")
    with pytest.raises(FileNotFoundError, match="CLASS_MODE = False.*make results"):
        Results("00_test", folder).stored("never stored", lambda: 1)
    with pytest.raises(ValueError, match="letters, digits"):
        Results("00_test", folder).stored("../escape", lambda: 1)


def test_class_mode_takes_the_full_values_and_the_switch_only_turns_it_on(modes):
    monkeypatch, _ = modes
    monkeypatch.setenv("RAGTEACH_QUICK", "1")
    assert not class_mode() and by_mode(1000, 10) == 10
    use_class_mode(False)
    assert not class_mode()
    use_class_mode(True)
    assert class_mode() and by_mode(1000, 10) == 1000 and mode_line().startswith("class mode")
    use_class_mode(False)                                   # the environment (a hub, a test) wins
    assert class_mode()
    with pytest.raises(TypeError, match="True or False"):
        use_class_mode("yes")


def test_a_stored_session_samples_as_the_original_and_trains_on_with_fresh_adam(modes):
    """A trainer loaded in class mode has the stored weights and draws; only Adam's moments were left out."""
    monkeypatch, folder = modes
    mix = ring()

    def trained():
        gan = GANTrainer(toy_config(), mix.sample, batch_size=32, seed=0)
        session = TrainingSession(gan, gan_knobs())
        session.run(5)
        return session

    original = Results("00_test").stored("session", trained)
    monkeypatch.setenv("RAGTEACH_CLASS", "1")
    copy = Results("00_test", folder).stored("session", trained)
    assert copy is not original and copy.step == 5 and not copy.running
    assert all(not opt.state for opt in copy.step_fn.optimizers.values())        # no moments stored
    assert all(opt.state for opt in original.step_fn.optimizers.values())
    assert torch.equal(copy.step_fn.sample(64), original.step_fn.sample(64))
    copy.set_knob("lr_d", 3e-4)                             # knobs and training work after loading
    copy.run(5)
    assert copy.step == 10 and copy.history[-1]["lr_d"] == 3e-4


def test_a_session_run_in_class_mode_ends_where_the_stored_run_ended(modes):
    monkeypatch, folder = modes

    def session():
        gan = GANTrainer(toy_config(), ring().sample, batch_size=32, seed=0)
        return TrainingSession(gan, gan_knobs())

    trained = session()
    Results("00_test").run("run", trained, 6)
    monkeypatch.setenv("RAGTEACH_CLASS", "1")
    restored = session()
    Results("00_test", folder).run("run", restored, 6)
    assert restored.step == 6 and restored.history == trained.history
    assert restored.steps_per_second == trained.steps_per_second
    assert torch.equal(restored.step_fn.sample(64), trained.step_fn.sample(64))


@pytest.mark.parametrize("make", [lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.5, 0.9)),
                                  lambda p: torch.optim.AdamW(p, lr=3e-3, weight_decay=0.1),
                                  lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)])
def test_an_optimiser_is_stored_with_its_settings_and_without_its_moments(modes, make):
    monkeypatch, folder = modes
    layer = torch.nn.Linear(3, 2)
    opt = make(layer.parameters())
    layer(torch.ones(1, 3)).sum().backward()
    opt.step()
    Results("00_test").stored("optimiser", lambda: (layer, opt))
    monkeypatch.setenv("RAGTEACH_CLASS", "1")
    layer2, opt2 = Results("00_test", folder).stored("optimiser", lambda: None)
    assert type(opt2) is type(opt) and not opt2.state and opt.state
    assert opt2.param_groups[0]["params"][0] is layer2.weight           # it still drives the stored layer
    assert {k: v for k, v in opt2.param_groups[0].items() if k != "params"} == \
           {k: v for k, v in opt.param_groups[0].items() if k != "params"}


def test_every_result_a_notebook_names_is_stored_and_loads(monkeypatch):
    """Class mode of every notebook: each RESULTS.stored / RESULTS.run name has a stored file that unpickles with
    the current code (a renamed class would break it: then `make results`)."""
    import re
    from pathlib import Path

    import nbformat

    from ragteach.results import STORE

    monkeypatch.delenv("RAGTEACH_STORED", raising=False)
    monkeypatch.setenv("RAGTEACH_CLASS", "1")
    names = {}
    for path in sorted(Path(__file__).resolve().parents[1].glob("notebooks/*.ipynb")):
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        names[path.stem] = re.findall(r'RESULTS\.(?:stored|run)\(\s*"([^"]+)"', code)
    assert all(names.values()), f"notebooks without stored results: {[n for n, v in names.items() if not v]}"
    for notebook, found in names.items():
        results = Results(notebook)
        for name in found:
            assert results.path(name).exists(), f"{notebook}: {name!r} is not stored in {STORE}: run `make results`"
            results.load(name)
        assert (STORE / notebook / "tables.json").exists()


def test_a_stored_batched_trainer_trains_on():
    """Class mode promises a learner can train a stored trainer further: notebook 06's stored toy runs hold
    BatchedGANTrainers pickled before they shared GANTrainer's step."""
    from ragteach.results import Results

    runs = Results("06_packing_and_mode_collapse").load("toy runs")
    trainer = (next(iter(runs.values())) if isinstance(runs, dict) else runs)[0].trainer
    step = trainer.steps
    TrainingSession(trainer).run(2, progress=False)
    assert trainer.steps == step + 2
