"""run_jobs: the same results in worker processes as here, and finished jobs are kept across an interrupt."""
import pytest

from ragteach.parallel import run_jobs

JOBS = {"b": {"x": 2}, "a": {"x": 1, "y": "one"}}


def test_processes_give_the_results_of_running_here_in_the_order_given():
    here = run_jobs(dict, JOBS, workers=1)
    there = run_jobs(dict, JOBS, workers=2)
    assert here == there == {"b": {"x": 2}, "a": {"x": 1, "y": "one"}}
    assert list(there) == ["b", "a"]


def test_an_interrupted_call_keeps_finished_jobs_and_the_next_call_runs_only_the_rest():
    calls = []

    def job(x):
        calls.append(x)
        if x == 2 and len(calls) == 2:
            raise KeyboardInterrupt
        return x * 10

    done = {}
    with pytest.raises(KeyboardInterrupt):
        run_jobs(job, {"one": {"x": 1}, "two": {"x": 2}}, done=done)
    assert done == {"one": 10}
    assert run_jobs(job, {"one": {"x": 1}, "two": {"x": 2}}, done=done) == {"one": 10, "two": 20}
    assert calls == [1, 2, 2]


def test_bad_input_says_what_to_give():
    with pytest.raises(ValueError, match="at least one job"):
        run_jobs(dict, {})
    with pytest.raises(ValueError, match="workers"):
        run_jobs(dict, JOBS, workers=0)
