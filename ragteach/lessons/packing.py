"""Notebook 06's lesson: packed discriminators against the plain GAN, from notebook 01's toy runs and tables
(:mod:`ragteach.lessons.gan_basics`)."""
from __future__ import annotations

from typing import Sequence

from ragteach.lessons.gan_basics import finals, side_word
from ragteach.runs import Run
from ragteach.stats import difference, format_interval


def packing_verdict(gan: Sequence[Run], pac: Sequence[Run], pac_name: str = "PacGAN4",
                    base_name: str = "the GAN") -> str:
    """One sentence comparing packed runs (``pac``) with the runs ``base_name`` names (``gan``, plain by default)
    on one mixture: final modes and high-quality share, each "more"/"fewer" (or "higher"/"lower") only when the
    95 % interval of the difference excludes 0."""
    (gm, gh), (pm, ph) = finals(gan), finals(pac)
    d_modes, d_hq = difference(gm, pm), difference(gh, ph)
    mixture = gan[0]["mixture"] if gan else "?"
    return (f"{pac_name} vs {base_name} ({mixture}, {len(pac)} and {len(gan)} seeds): modes {format_interval(pm)} vs "
            f"{format_interval(gm)}, {side_word(d_modes.sign, 'more', 'fewer')}; high quality {format_interval(ph)} vs "
            f"{format_interval(gh)} %, {side_word(d_hq.sign, 'higher', 'lower')}.")
