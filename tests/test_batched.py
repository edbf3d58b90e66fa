"""K GAN runs in one vectorised step equal the same runs trained one by one."""
import pytest
import torch

from ragteach.data.toy2d import grid, ring
from ragteach.gan.batched import BatchedGANTrainer
from ragteach.gan.models import toy_config
from ragteach.gan.train import GANTrainer

KNOBS = dict(lr_g=1e-3, lr_d=1e-3, d_steps=1, instance_noise=0.0, noise_anneal_steps=0, label_smoothing=0.0,
             label_flip=0.0)


def double(mix):
    return lambda n, g: mix.sample(n, g).double()


@pytest.mark.parametrize("pack, knobs", [(1, {}), (2, dict(instance_noise=0.3, noise_anneal_steps=20,
                                                              label_smoothing=0.1, label_flip=0.1, d_steps=2))])
@pytest.mark.usefixtures("float64")
def test_each_batched_run_equals_the_same_run_trained_alone(pack, knobs):
    k = {**KNOBS, **knobs}
    seeds, mixes = [3, 0, 7], [ring(), grid(), ring()]
    batched = BatchedGANTrainer(toy_config(pack), [double(m) for m in mixes], seeds, batch_size=32)
    alone = [GANTrainer(toy_config(pack), double(m), batch_size=32, seed=s) for m, s in zip(mixes, seeds)]
    # identical initial weights, drawn exactly as GANTrainer draws them
    for i, t in enumerate(alone):
        assert torch.equal(batched.generator(i).net[0].weight, t.G.net[0].weight)
    for _ in range(25):
        m = batched(k)
        singles = [t(k) for t in alone]
    for i, t in enumerate(alone):
        assert torch.allclose(batched.sample(200)[i], t.sample(200), atol=1e-9), i
        assert batched.run_metrics["loss_d"][i].item() == pytest.approx(singles[i]["loss_d"], abs=1e-9)
        assert batched.run_metrics["loss_g"][i].item() == pytest.approx(singles[i]["loss_g"], abs=1e-9)
        d = batched.discriminator(i)
        assert all(torch.allclose(a, b, atol=1e-9) for a, b in zip(d.parameters(), t.D.parameters()))
    assert m["loss_d"] == pytest.approx(sum(s["loss_d"] for s in singles) / 3, abs=1e-9)
    # D's accuracy on fresh samples, packed as in training, is each run's own
    real = torch.stack([mix.sample(64, torch.Generator().manual_seed(1)).double() for mix in mixes])
    fake = batched.sample(64)
    accuracy = batched.d_accuracy(real, fake)
    assert accuracy.tolist() == [t.d_accuracy(real[i], fake[i]) for i, t in enumerate(alone)]


@pytest.mark.usefixtures("float64")
def test_a_run_does_not_depend_on_its_neighbours():
    """Run 'seed 5' is the same whether it trains alone (K = 1) or beside others (K = 3)."""
    one = BatchedGANTrainer(toy_config(), double(ring()), [5], batch_size=32)
    three = BatchedGANTrainer(toy_config(), double(ring()), [1, 5, 9], batch_size=32)
    for _ in range(20):
        one(KNOBS)
        three(KNOBS)
    assert torch.allclose(one.sample(100)[0], three.sample(100)[1], atol=1e-9)
    assert not torch.allclose(three.sample(100)[0], three.sample(100)[1], atol=1e-3)  # other seeds differ


def test_a_checkpoint_brings_its_runs_seeds_and_needs_as_many_runs():
    """Resume, NaN undo and damaged checkpoints are the contract suite's (tests/test_trainer_contract.py)."""
    t = BatchedGANTrainer(toy_config(), ring().sample, [0, 1], batch_size=32)
    other = BatchedGANTrainer(toy_config(), ring().sample, [4, 5], batch_size=32)
    other.load_state_dict(t.state_dict())
    assert other.seeds == [0, 1] and torch.equal(other.sample(20), t.sample(20))
    three = BatchedGANTrainer(toy_config(), ring().sample, [0, 1, 2], batch_size=32)
    with pytest.raises(ValueError, match=r"shape \(2, 2, 128\) in the checkpoint but \(3, 2, 128\)"):
        three.load_state_dict(t.state_dict())


def test_clear_errors():
    with pytest.raises(ValueError, match="seeds"):
        BatchedGANTrainer(toy_config(), ring().sample, [], batch_size=32)
    with pytest.raises(ValueError, match="multiple of pack"):
        BatchedGANTrainer(toy_config(4), ring().sample, [0], batch_size=30)
    with pytest.raises(ValueError, match="one per run"):
        BatchedGANTrainer(toy_config(), [ring().sample] * 2, [0, 1, 2], batch_size=32)
    with pytest.raises(ValueError, match="g_loss must be one of .*got 'hinge'"):
        BatchedGANTrainer(toy_config(), ring().sample, [0], batch_size=32, g_loss="hinge")
    one = BatchedGANTrainer(toy_config(), ring().sample, [0], batch_size=32)
    with pytest.raises(IndexError, match=r"run index must be in 0 \.\. 0, got 1"):
        one.generator(1)
    with pytest.raises(IndexError, match=r"run index must be in 0 \.\. 0, got -1"):
        one.discriminator(-1)
    packed = BatchedGANTrainer(toy_config(4), ring().sample, [0], batch_size=32)
    with pytest.raises(ValueError, match="multiple of pack=4 samples per run, got 6"):
        packed.d_accuracy(torch.zeros(1, 6, 2), torch.zeros(1, 8, 2))
