"""Every checker accepts a right answer and refuses a wrong one with a hint."""
import torch

from ragteach.exercises import gan_basics as ex


def test_d_loss_checker():
    assert ex.check_d_loss(lambda r, f: -(r.log().mean() + (1 - f).log().mean()))
    flipped = ex.check_d_loss(lambda r, f: r.log().mean() + (1 - f).log().mean())
    assert not flipped and "sign" in flipped.message
    one_term = ex.check_d_loss(lambda r, f: -r.log().mean())
    assert not one_term and "one of the two terms" in one_term.message


def test_d_loss_checker_reports_exceptions_and_todo():
    def todo(r, f):
        raise NotImplementedError

    assert "NotImplementedError" in ex.check_d_loss(todo).message
    assert "raised" in ex.check_d_loss(lambda r, f: r @ torch.ones(3)).message


def test_g_loss_checker():
    assert ex.check_g_loss(lambda f: -f.log().mean())
    minimax = ex.check_g_loss(lambda f: (1 - f).log().mean())
    assert not minimax and "saturates" in minimax.message


def test_count_modes_checker():
    def right(samples, centers, std):
        d, k = torch.cdist(samples, centers).min(dim=1)
        return len(set(k[d <= 3 * std].tolist()))

    def no_threshold(samples, centers, std):
        return len(set(torch.cdist(samples, centers).argmin(dim=1).tolist()))

    assert ex.check_count_modes(right)
    wrong = ex.check_count_modes(no_threshold)
    assert not wrong and "3·std" in wrong.message


def test_relative_augmentation_checkers():
    from ragteach.exercises import relative_augmentation as rx
    import torch.nn.functional as F

    assert rx.check_distance_term(lambda f, r: (f - r).pow(2).sum(1).mean())
    per_pixel = rx.check_distance_term(lambda f, r: (f - r).pow(2).mean())
    assert not per_pixel and "pixels" in per_pixel.message
    assert rx.check_limit_point(lambda x: x.mean(0))
    median = rx.check_limit_point(lambda x: x.median(0).values)
    assert not median and "median" in median.message
    assert rx.check_rasgan_d_loss(lambda r, f: -F.logsigmoid(r - f.mean()).mean() - F.logsigmoid(-(f - r.mean())).mean())
    standard = rx.check_rasgan_d_loss(lambda r, f: -F.logsigmoid(r).mean() - F.logsigmoid(-f).mean())
    assert not standard and "standard" in standard.message


def test_generative_models_checkers():
    import torch.nn.functional as F
    from ragteach.exercises import generative_models as gx

    assert gx.check_reparameterize(lambda m, lv, e: m + torch.exp(0.5 * lv) * e)
    var = gx.check_reparameterize(lambda m, lv, e: m + lv.exp() * e)
    assert not var and "standard deviation" in var.message
    assert gx.check_kl(lambda m, lv: -0.5 * (1 + lv - m ** 2 - lv.exp()).sum(1))
    flipped = gx.check_kl(lambda m, lv: 0.5 * (1 + lv - m ** 2 - lv.exp()).sum(1))
    assert not flipped and "never negative" in flipped.message
    assert gx.check_conditional_input(lambda z, y, n: torch.cat([z, F.one_hot(y, n).float()], 1))
    swapped = gx.check_conditional_input(lambda z, y, n: torch.cat([F.one_hot(y, n).float(), z], 1))
    assert not swapped and "order" in swapped.message
