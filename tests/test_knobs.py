import math

import pytest

from ragteach.knobs import Knob, Knobs


def test_probability_outside_unit_interval_is_refused_with_a_clear_message():
    p = Knob("p", 0.5, low=0.0, high=1.0)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 1.5"):
        p.validate(1.5)
    with pytest.raises(ValueError, match="p must be"):
        p.validate(-0.1)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "abc", None])
def test_non_finite_and_non_numbers_are_refused(bad):
    with pytest.raises(ValueError, match="lam"):
        Knob("lam", 0.1, low=0.0, high=10.0).validate(bad)


def test_open_lower_bound_refuses_zero_learning_rate():
    lr = Knob("lr", 1e-3, low=0.0, high=1.0, low_open=True)
    with pytest.raises(ValueError, match=r"lr must be in \(0, 1\], got 0"):
        lr.validate(0.0)
    assert lr.validate(1e-8) == 1e-8


def test_int_choice_and_bool_kinds():
    k = Knob("d_steps", 1, low=1, high=5, kind="int")
    assert k.validate(3.0) == 3 and isinstance(k.validate(3.0), int)
    with pytest.raises(ValueError, match="whole number"):
        k.validate(2.5)
    c = Knob("pairing", "random", kind="choice", choices=("random", "nearest"))
    with pytest.raises(ValueError, match="one of 'random', 'nearest'"):
        c.validate("closest")
    assert Knob("on", True, kind="bool").validate(0) is False


def test_initial_value_is_validated():
    with pytest.raises(ValueError, match="p must be"):
        Knob("p", 2.0, low=0.0, high=1.0)


def test_refused_value_keeps_old_one_and_records_no_change():
    knobs = Knobs.of(Knob("p", 0.8, low=0.0, high=1.0))
    with pytest.raises(ValueError):
        knobs["p"] = 1.5
    assert knobs["p"] == 0.8
    assert list(knobs.changes) == []
    knobs["p"] = 0.3
    assert knobs["p"] == 0.3 and [(c.old, c.new) for c in knobs.changes] == [(0.8, 0.3)]


def test_update_is_all_or_nothing():
    knobs = Knobs.of(Knob("a", 1.0, low=0, high=2), Knob("b", 1.0, low=0, high=2))
    with pytest.raises(ValueError, match="b must be"):
        knobs.update(a=0.5, b=5.0)
    assert knobs["a"] == 1.0


def test_unknown_knob_names_the_existing_ones():
    knobs = Knobs.of(Knob("a", 1.0, low=0, high=2))
    with pytest.raises(KeyError, match=r"\['a'\]"):
        knobs["lamda"] = 1.0


def test_duplicate_names_refused():
    with pytest.raises(ValueError, match="unique"):
        Knobs.of(Knob("a", 1.0), Knob("a", 2.0))


@pytest.mark.parametrize("bad", [True, False, "0.01", None, [0.1]])
def test_numeric_knobs_refuse_bools_and_strings(bad):
    knob = Knob("lr", 1e-3, low=0.0, high=1.0, low_open=True)
    with pytest.raises(ValueError, match="lr must be a number"):
        knob.validate(bad)


def test_numeric_knobs_accept_numpy_numbers():
    import numpy as np

    assert Knob("p", 0.5, low=0.0, high=1.0).validate(np.float32(0.25)) == 0.25
    assert Knob("n", 2, low=1, high=10, kind="int").validate(np.int64(3)) == 3


def test_change_records_stay_bounded():
    from ragteach.knobs import MAX_CHANGES

    knobs = Knobs.of(Knob("p", 0.5, low=0.0, high=1.0))
    for step in range(MAX_CHANGES + 500):
        knobs.snapshot(next_step=step)  # one change per step: nothing coalesces
        knobs["p"] = 0.25 if step % 2 else 0.75
    assert len(knobs.changes) == MAX_CHANGES
    assert knobs.changes[-1].step == MAX_CHANGES + 500


def test_visible_if_names_another_knob():
    knobs = Knobs.of(Knob("source", "fixed", kind="choice", choices=("fixed", "beta")),
                     Knob("alpha", 2.0, low=0.0, high=20.0, visible_if=("source", ("beta",))))
    assert not knobs.visible("alpha")
    knobs["source"] = "beta"
    assert knobs.visible("alpha")
    with pytest.raises(ValueError, match="not a knob"):
        Knobs.of(Knob("alpha", 2.0, low=0.0, high=20.0, visible_if=("source", ("beta",))))


def test_load_values_is_all_or_nothing():
    knobs = Knobs.of(Knob("p", 0.5, low=0.0, high=1.0), Knob("lam", 1.0, low=0.0, high=10.0))
    with pytest.raises(ValueError, match="lam must be in"):
        knobs.load_values({"p": 0.1, "lam": 99.0})
    assert knobs.snapshot() == {"p": 0.5, "lam": 1.0}
