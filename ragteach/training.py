"""The trainer contract: what every model's trainer in ragteach promises (no Jupyter here).

A trainer is one training step you can call, plus state you can save::

    metrics = trainer(knob_values)   # one step; knob_values is a plain dict, read once per step
    state = trainer.state_dict()     # everything needed to continue exactly
    trainer.load_state_dict(state)   # validates first; on any problem nothing changes

A subclass of :class:`Trainer` declares where its state lives and writes only the step itself:

- ``self.modules``: the networks, by name; ``self.optimizers``: their optimisers, by name;
- ``self.rng``: its own ``torch.Generator`` (batches, noise). The global generator is never reseeded:
  initial weights are drawn inside :func:`seeded`, which restores the global state afterwards;
- ``self.steps``: steps taken; ``extra_state()`` / ``load_extra_state()``: anything else;
- ``train_step(knob_values) -> metrics``: one step, using :meth:`Trainer.update` for each optimiser step;
- ``default_knobs()``: the knobs its step reads, at their defaults, so ``TrainingSession(trainer)`` needs
  nothing else (the session saves and restores the trainer itself);
- ``evaluate(data...) -> metrics``: named measurements on held-out data, taken without changing the run;
- ``sample(..., *, seed)``: generated samples, the same for the same seed.

What the base class guarantees (``tests/test_trainer_contract.py`` checks it for every trainer):

1. **Same seed, same run.** Two trainers built with one seed produce the same losses.
2. **A step is all or nothing.** A step that raises (a NaN loss, a shape error, Ctrl-C inside a step)
   leaves the weights, optimiser state, random generator and step count as they were before it, so
   after fixing the cause the same step runs again on the same batch.
3. **Loads are transactional.** ``load_state_dict`` checks names, shapes, the trainer type and the
   extra state before it changes anything.
"""
from __future__ import annotations

import contextlib
import copy
from typing import Any, Callable, Iterator, Mapping

import torch
import torch.nn as nn

Metrics = dict[str, float]
STATE_FORMAT = "ragteach-trainer/1"


class NonFiniteLossError(FloatingPointError):
    """A loss or gradient was NaN or infinite; the step's updates were not applied."""


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit this trainer (other model, other sizes); nothing was changed."""


# ---------------------------------------------------------------------------- small helpers
@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with torch's global generator seeded to ``seed``, then restore it as it was.

    Used to draw initial weights reproducibly (``nn.Linear`` draws from the global generator) without
    changing any random stream the learner's own code relies on."""
    check_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    return seed


def check_positive_int(name: str, value: Any) -> int:
    """``value`` if it is a whole number >= 1, else a ValueError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return value


def check_data(name: str, x: Any, width: int, low: float = -1.0, high: float = 1.0) -> torch.Tensor:
    """``x`` if it is a float32 tensor (N, width) of finite values in [low, high], else a ValueError saying how
    to fix it (a model trained on data outside its range trains on, silently wrong, or fails steps later)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor (N, {width}), got {type(x).__name__}: "
                        f"convert it with torch.as_tensor({name}, dtype=torch.float32)")
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"{name} must have shape (N, {width}), got {tuple(x.shape)}")
    if x.dtype != torch.float32:
        hint = "" if x.is_floating_point() else f", then scale it to [{low:g}, {high:g}]"
        raise ValueError(f"{name} has dtype {x.dtype}; the model computes in float32: pass {name}.float(){hint}")
    nan = int(torch.isnan(x).any(dim=1).sum())
    if nan:
        raise ValueError(f"{name} has NaN in {nan} of {len(x)} rows: drop them ({name}[~{name}.isnan().any(1)]) "
                         f"or fill them in")
    lo, hi = x.min().item(), x.max().item()
    if lo < low or hi > high:
        raise ValueError(f"{name} lies in [{lo:g}, {hi:g}] but must lie in [{low:g}, {high:g}]: "
                         f"{_scaling(lo, hi, low, high)}")
    return x


def _scaling(lo: float, hi: float, low: float, high: float) -> str:
    """How to map data seen in [lo, hi] onto [low, high]: for data from 0 to M, divide and subtract."""
    top = next((m for m in (1, 16, 255) if lo >= 0 and hi <= m), None)
    if top is not None and (low, high) == (-1.0, 1.0):
        what = {1: "values in [0, 1]", 16: "the digits (0 to 16)", 255: "the pixels (0 to 255)"}[top]
        return f"scale {what} to [-1, 1]: divide by {top / 2:g} and subtract 1"
    return f"rescale it: (x - {lo:g}) / {hi - lo:g} * {high - low:g} + {low:g}"


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    """Give every parameter group of ``opt`` the learning rate ``lr`` (a knob's value, read each step)."""
    for group in opt.param_groups:
        group["lr"] = lr


@contextlib.contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` in eval mode for the block, then give each back the mode it had (train or eval)."""
    was = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, training in zip(modules, was):
            m.train(training)


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Inside the block, the CPU treats denormal floats (|x| < 1.2e-38 in float32) as zero; afterwards it
    handles them again (PyTorch's default). CPUs compute with denormals in slow microcode, and a GAN late in
    training, its learning rate near 1e-5, makes many of them; flushing changes only those tiny values.
    ``benchmarks/denormals.py`` measures the time and checks that the scores stay the same."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


@contextlib.contextmanager
def without_undo(trainer: "Trainer") -> Iterator[None]:
    """Inside the block, ``trainer`` skips the copy that lets it undo a failed step (``transactional=False``).
    For batch experiments: their failed step raises, the error ends the experiment and no run is returned, so
    the undo would buy nothing. Afterwards the trainer undoes failed steps again."""
    was, trainer.transactional = trainer.transactional, False
    try:
        yield
    finally:
        trainer.transactional = was


def check_finite(name: str, loss: torch.Tensor, step: int, fix: str, undone: bool = True) -> None:
    """Raise :class:`NonFiniteLossError` if ``loss`` is NaN or infinite, saying what to change.
    undone: whether the trainer undoes the failed step (see ``Trainer.transactional``)."""
    if not bool(torch.isfinite(loss).all()):
        raise NonFiniteLossError(f"{name} is {loss.detach().float().mean().item()} at step {step}; "
                                 f"{_after_failure(undone, step)}. {fix}")


def _after_failure(undone: bool, step: int) -> str:
    if undone:
        return f"no update of this step was applied (the model is as it was after step {step - 1})"
    return "this trainer does not undo a failed step (transactional=False): start a new one"


def with_periodic_metrics(step_fn: Callable[[dict[str, Any]], Metrics], every: int,
                          metrics_fn: Callable[[], Metrics]) -> Callable[[dict[str, Any]], Metrics]:
    """Wrap a step function so that after every ``every``-th call, ``metrics_fn()`` (an evaluation:
    sample quality, diversity, ...) is merged into that step's metrics. Those history rows then carry
    the evaluation; ``session.metric(name)`` picks them out."""
    if every < 1:
        raise ValueError(f"every must be a whole number >= 1, got {every}")
    calls = 0

    def step(knob_values: dict[str, Any]) -> Metrics:
        nonlocal calls
        metrics = step_fn(knob_values)
        calls += 1
        return {**metrics, **metrics_fn()} if calls % every == 0 else metrics

    return step


# ---------------------------------------------------------------------------- the base class
class Trainer:
    """Base class of every trainer. Subclasses fill ``modules`` and ``optimizers`` and write ``train_step``.

    seed: seeds ``self.rng`` (batches, noise) and, through :func:`seeded`, the initial weights.
    fix: what the error message of a non-finite loss tells the learner to change.
    """

    fix = "Lower the learning rate and run again."
    #: None for a trainer of one run; K for one that trains K runs side by side (its samples gain a run dimension)
    n_runs: int | None = None
    #: A step is a transaction: if it raises, the trainer returns to its state before the step. That costs one
    #: copy of every weight and optimiser moment per step (up to a sixth of a toy GAN step). A batch experiment
    #: that throws away a trainer whose step failed (its error ends the experiment) sets this to False.
    transactional: bool = True

    def __init__(self, seed: int = 0, device: str | torch.device = "cpu") -> None:
        self.seed = check_seed(seed)
        self.device = torch.device(device)
        self.rng = torch.Generator().manual_seed(seed)   # on the CPU: the same draws on every device
        self.steps = 0
        self.modules: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    def __getstate__(self) -> dict[str, Any]:
        """A stored trainer (ragteach.results) leaves out the last step's undo record: scratch, rebuilt next step."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_undo_")}

    # -------------------------------------------------------------- the step
    def train_step(self, knob_values: dict[str, Any]) -> Metrics:
        raise NotImplementedError

    def default_knobs(self) -> Any:
        """The knobs (a :class:`ragteach.knobs.Knobs`) ``train_step`` reads, at their default values."""
        raise NotImplementedError(f"{type(self).__name__} declares no default knobs: give TrainingSession "
                                  f"its knobs, TrainingSession(trainer, knobs)")

    def evaluate(self, *data: Any, **options: Any) -> Metrics:
        """Named measurements on held-out ``data`` (a dict of floats); never shifts the run's draws."""
        raise NotImplementedError

    def __call__(self, knob_values: dict[str, Any]) -> Metrics:
        """One step as a transaction: if it raises, the trainer is restored to its state before the step
        (unless ``transactional`` is False: then the updates the step made before the error stay)."""
        if self.transactional:
            self._save_before_step()
        try:
            metrics = self.train_step(knob_values)
        except BaseException:
            if self.transactional:
                self._undo_step()
            raise
        self.steps += 1
        return metrics

    # A step's undo record: every tensor a step may change (weights, buffers, optimiser moments), copied into
    # buffers allocated once, plus the generator state, the step count and ``step_extra_state()``.
    def _step_tensors(self) -> list[torch.Tensor]:
        tensors = [t for m in self.modules.values() for t in m.state_dict(keep_vars=True).values()]
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                for p in group["params"]:
                    tensors += [v for v in opt.state.get(p, {}).values() if isinstance(v, torch.Tensor)]
        return tensors

    def _save_before_step(self) -> None:
        live = self._step_tensors()
        saved = getattr(self, "_undo_buffers", None)
        if saved is None or len(saved) != len(live) or any(a.shape != b.shape for a, b in zip(saved, live)):
            self._undo_buffers = [t.detach().clone() for t in live]
        else:
            with torch.no_grad():
                for buf, t in zip(saved, live):
                    buf.copy_(t)
        self._undo_had_state = {n: set(map(id, o.state)) for n, o in self.optimizers.items()}
        self._undo_rest = (self.rng.get_state(), self.steps, copy.deepcopy(self.step_extra_state()))

    def _undo_step(self) -> None:
        for name, opt in self.optimizers.items():  # moments created by the failed step (the first step) go
            for p in [p for p in opt.state if id(p) not in self._undo_had_state[name]]:
                del opt.state[p]
        live = self._step_tensors()
        with torch.no_grad():
            for buf, t in zip(self._undo_buffers, live):
                t.copy_(buf)
        rng, self.steps, extra = self._undo_rest
        self.rng.set_state(rng)
        self.load_extra_state({**self.extra_state(), **extra})

    def update(self, name: str, loss: torch.Tensor) -> None:
        """One optimiser step of ``self.optimizers[name]`` on ``loss``, refused if the loss or any
        gradient is not finite (the caller's transaction then undoes the step's earlier updates)."""
        opt = self.optimizers[name]
        check_finite(f"the loss of {name}", loss, self.steps, self.fix, self.transactional)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
        if grads and not bool(torch.isfinite(torch.stack([g.norm() for g in grads])).all()):
            raise NonFiniteLossError(f"a gradient of {name} is not finite at step {self.steps}; "
                                     f"{_after_failure(self.transactional, self.steps)}. {self.fix}")
        opt.step()

    def _snapshot(self) -> dict[str, Any]:
        """A copy of the mutable state (weights, optimiser moments, generator, steps)."""
        return {"modules": {n: {k: v.detach().clone() for k, v in m.state_dict().items()}
                            for n, m in self.modules.items()},
                "optimizers": {n: copy.deepcopy(o.state_dict()) for n, o in self.optimizers.items()},
                "rng": self.rng.get_state(), "steps": self.steps, "extra": copy.deepcopy(self.extra_state())}

    def _restore(self, snap: dict[str, Any]) -> None:
        with torch.no_grad():
            for n, m in self.modules.items():
                m.load_state_dict(snap["modules"][n])
        for n, o in self.optimizers.items():
            o.load_state_dict(snap["optimizers"][n])
        self.rng.set_state(snap["rng"])
        self.steps = snap["steps"]
        self.load_extra_state(snap["extra"])

    # -------------------------------------------------------------- checkpoints
    def extra_state(self) -> dict[str, Any]:
        """State beyond modules, optimisers, generator and step count (override in subclasses)."""
        return {}

    def step_extra_state(self) -> dict[str, Any]:
        """The part of ``extra_state()`` a training step can change (default: all of it); a failed step
        restores it. Override when some extra state is fixed at construction (e.g. a GAN's fixed codes)."""
        return self.extra_state()

    def check_extra_state(self, extra: Mapping[str, Any]) -> None:
        """Raise :class:`CheckpointMismatchError` if ``extra`` does not fit (override with ``extra_state``)."""

    def load_extra_state(self, extra: Mapping[str, Any]) -> None:
        """The inverse of ``extra_state`` (override in subclasses)."""

    def state_dict(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "trainer": type(self).__name__,
                "modules": {n: m.state_dict() for n, m in self.modules.items()},
                "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
                "rng": self.rng.get_state(), "steps": self.steps, "extra": self.extra_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Load a checkpoint of this trainer; everything is checked first, so a bad one changes nothing."""
        self.check_state(state)
        before = self._snapshot()
        try:
            self._restore({"modules": state["modules"], "optimizers": state["optimizers"], "rng": state["rng"],
                           "steps": int(state["steps"]), "extra": state["extra"]})
        except BaseException:
            self._restore(before)
            raise

    def check_state(self, state: Mapping[str, Any]) -> None:
        """Raise :class:`CheckpointMismatchError` naming the first thing in ``state`` that does not fit."""
        mine = type(self).__name__
        if not isinstance(state, Mapping) or state.get("format") != STATE_FORMAT:
            raise CheckpointMismatchError(f"this is not a ragteach trainer checkpoint (format {STATE_FORMAT}); "
                                          f"save one with session.save(path) or trainer.state_dict()")
        if state.get("trainer") != mine:
            raise CheckpointMismatchError(f"the checkpoint is of a {state.get('trainer')}, this trainer is a {mine}")
        for part in ("modules", "optimizers"):
            have, got = set(getattr(self, part)), set(state[part])
            if have != got:
                raise CheckpointMismatchError(f"the checkpoint's {part} are {sorted(got)}, this trainer has {sorted(have)}")
        for n, m in self.modules.items():
            check_module_state(n, m, state["modules"][n])
        for n, o in self.optimizers.items():
            check_optimizer_state(n, o, state["optimizers"][n])
        rng = state["rng"]
        if not isinstance(rng, torch.Tensor) or rng.shape != self.rng.get_state().shape:
            raise CheckpointMismatchError("the checkpoint's random generator state has the wrong size")
        steps = state["steps"]
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise CheckpointMismatchError(f"the checkpoint's step count must be a whole number >= 0, got {steps!r}")
        self.check_extra_state(state["extra"])


def check_module_state(name: str, module: nn.Module, state: Mapping[str, Any]) -> None:
    """Same tensor names and shapes as ``module``'s own, or a :class:`CheckpointMismatchError`."""
    own = module.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise CheckpointMismatchError(f"{name}: the checkpoint lacks {missing[:3]} and has extra {unexpected[:3]}: "
                                      f"it was saved from another architecture")
    for key, tensor in own.items():
        other = state[key]
        if not isinstance(other, torch.Tensor) or other.shape != tensor.shape:
            shape = tuple(other.shape) if isinstance(other, torch.Tensor) else type(other).__name__
            raise CheckpointMismatchError(f"{name}.{key} has shape {shape} in the checkpoint but "
                                          f"{tuple(tensor.shape)} here: it was saved from another architecture")


def check_optimizer_state(name: str, opt: torch.optim.Optimizer, state: Mapping[str, Any]) -> None:
    """Same parameter groups, and moment tensors shaped like the parameters, or a mismatch error."""
    groups = state.get("param_groups") if isinstance(state, Mapping) else None
    if groups is None or len(groups) != len(opt.param_groups):
        raise CheckpointMismatchError(f"optimiser {name}: the checkpoint has other parameter groups")
    params = [p for g in opt.param_groups for p in g["params"]]
    ids = [i for g in groups for i in g["params"]]
    if len(ids) != len(params):
        raise CheckpointMismatchError(f"optimiser {name}: {len(ids)} parameters in the checkpoint, {len(params)} here")
    for i, p in zip(ids, params):
        for key, value in state.get("state", {}).get(i, {}).items():
            if isinstance(value, torch.Tensor) and value.ndim > 0 and value.shape != p.shape:
                raise CheckpointMismatchError(f"optimiser {name}: moment {key!r} has shape {tuple(value.shape)} in "
                                              f"the checkpoint but the parameter has {tuple(p.shape)}")
