"""Article 001's distance term, RaSGAN and the augmentations."""
import pytest
import torch
import torch.nn.functional as F

from ragteach.data.toy2d import ring
from ragteach.gan import augment
from ragteach.gan.losses import g_loss_article, rasgan_d_loss, rasgan_g_loss
from ragteach.gan.models import GANConfig, toy_config
from ragteach.gan.relative import nearest_targets, squared_distance
from ragteach.gan.train import GANTrainer, gan_knobs, tensor_sampler
from ragteach.live.session import TrainingSession


def test_squared_distance_formula_and_shape_check():
    fake, real = torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([[3.0, 4.0], [1.0, 2.0]])
    assert squared_distance(fake, real).item() == pytest.approx((25 + 1) / 2)
    with pytest.raises(ValueError, match="shape of G's output"):
        squared_distance(fake, torch.zeros(2, 3))


def test_nearest_targets():
    data = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    assert torch.equal(nearest_targets(torch.tensor([[9.0, 1.0], [1.0, 0.0]]), data), data.flip(0))


def test_article_adversarial_term_is_minus_mean_probability():
    logits = torch.tensor([0.0, 2.0])
    assert g_loss_article(logits).item() == pytest.approx(-torch.sigmoid(logits).mean().item())


def test_rasgan_losses_match_the_paper():
    cr, cf = torch.tensor([1.0, 2.0]), torch.tensor([-1.0, 0.5])
    d = -torch.log(torch.sigmoid(cr - cf.mean())).mean() - torch.log(1 - torch.sigmoid(cf - cr.mean())).mean()
    g = -torch.log(torch.sigmoid(cf - cr.mean())).mean() - torch.log(1 - torch.sigmoid(cr - cf.mean())).mean()
    assert rasgan_d_loss(cr, cf).item() == pytest.approx(d.item(), rel=1e-5)
    assert rasgan_g_loss(cr, cf).item() == pytest.approx(g.item(), rel=1e-5)


def _trainer(**kw):
    data = ring().sample(512, torch.Generator().manual_seed(0))
    return GANTrainer(toy_config(), tensor_sampler(data), batch_size=64, seed=0, distance_data=data, **kw), data


def test_lambda_term_is_added_with_the_right_sign_and_weight():
    """loss_g = adversarial term + λ·distance, exactly; λ = 0 leaves only the adversarial term."""
    for lam in (0.5, 3.0):
        trainer, _ = _trainer(g_loss="article")
        s = TrainingSession(trainer, gan_knobs(lam=lam))
        row = s.run(1, progress=False)[0]
        assert row["distance"] > 0
        assert row["loss_g"] == pytest.approx(row["loss_g_adv"] + lam * row["distance"], rel=1e-5)
    trainer, _ = _trainer()
    row = TrainingSession(trainer, gan_knobs(lam=0.0)).run(1, progress=False)[0]
    assert "distance" not in row and row["loss_g"] == row["loss_g_adv"]


def test_large_lambda_random_pairing_pulls_samples_to_the_data_mean():
    """E_x||g − x||² is minimised at the data mean: on the ring, the empty centre (0, 0)."""
    trainer, data = _trainer(g_loss="article")
    TrainingSession(trainer, gan_knobs(lam_max=100.0, lam=50.0, lr_g=1e-3)).run(300, progress=False)
    samples = trainer.sample(1000)
    assert samples.mean(0).norm() < 0.1 and samples.norm(dim=1).mean() < 0.3  # real points sit at radius 1


def test_nearest_pairing_pulls_samples_onto_training_points():
    trainer, data = _trainer()
    before = torch.cdist(trainer.sample(500), data).min(1).values.mean()
    TrainingSession(trainer, gan_knobs(lam_max=100.0, lam=50.0, pairing="nearest", lr_g=1e-3)).run(300, progress=False)
    after = torch.cdist(trainer.sample(500), data).min(1).values.mean()
    assert after < 0.2 * before


def test_fixed_pairing_reconstructs_its_examples():
    """Each of 16 examples has its own latent code; a large λ makes G(z_i) ≈ x_i (a reconstruction)."""
    data = ring().sample(16, torch.Generator().manual_seed(0))
    trainer = GANTrainer(toy_config(), tensor_sampler(data), batch_size=64, seed=0, distance_data=data)
    start = (trainer.G(trainer.fixed_z) - data).norm(dim=1).mean().item()
    TrainingSession(trainer, gan_knobs(lam_max=100.0, lam=50.0, pairing="fixed", lr_g=1e-3)).run(300, progress=False)
    with torch.no_grad():
        recon = (trainer.G(trainer.fixed_z) - data).norm(dim=1).mean().item()
    assert recon < 0.3 * start, (start, recon)


def test_pairing_errors():
    trainer = GANTrainer(toy_config(), ring().sample, batch_size=8)
    s = TrainingSession(trainer, gan_knobs(lam=1.0, pairing="nearest"))
    with pytest.raises(Exception, match="need the training set"):
        s.run(1, progress=False)
    with pytest.raises(ValueError, match="pairing must be one of 'random', 'nearest', 'fixed', got 'closest'"):
        s.set_knob("pairing", "closest")
    with pytest.raises(ValueError, match=r"lam must be in \[0, 10\], got -1"):
        s.set_knob("lam", -1)
    with pytest.raises(ValueError, match="lam must be a finite number"):
        s.set_knob("lam", float("nan"))
    with pytest.raises(ValueError, match=r"distance_data must have shape \(N, 2\)"):
        GANTrainer(toy_config(), ring().sample, distance_data=torch.zeros(5, 64))


def test_relativistic_objective_trains():
    trainer, _ = _trainer(objective="relativistic")
    rows = TrainingSession(trainer, gan_knobs()).run(5, progress=False)
    assert all(torch.isfinite(torch.tensor(r["loss_d"])) for r in rows)
    with pytest.raises(ValueError, match="objective"):
        _trainer(objective="wgan")


def test_translate_and_cutout_are_differentiable_and_keep_shape():
    x = torch.rand(4, 64, requires_grad=True)
    g = torch.Generator().manual_seed(0)
    y = augment.diff_augment(x, generator=g)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and (x.grad != 0).any()
    with pytest.raises(ValueError, match=r"\(B, 64\)"):
        augment.translate(torch.zeros(2, 10))


def test_translate_moves_pixels_and_cutout_blanks_a_square():
    img = torch.full((1, 64), -1.0)
    img[0, 3 * 8 + 3] = 1.0  # one bright pixel at (3, 3)
    moved = [augment.translate(img, generator=torch.Generator().manual_seed(s)) for s in range(20)]
    positions = {int(m.argmax()) for m in moved}
    assert positions <= {r * 8 + c for r in (2, 3, 4) for c in (2, 3, 4)} and len(positions) > 1
    cut = augment.cutout(torch.ones(1, 64), ratio=0.5, generator=torch.Generator().manual_seed(0))
    assert (cut == -1).sum() == 16


def test_article_preparation_flips_some_images():
    x = torch.full((200, 64), -1.0)
    x[:, 0] = 1.0  # a bright pixel at the top-left corner
    y = augment.article_preparation(x, pad=0, generator=torch.Generator().manual_seed(0))
    flipped = (y[:, 7] == 1.0).float().mean()
    assert 0.35 < flipped < 0.65  # about half are mirrored: top-right corner lit
