"""SBC's statistics: the band holds uniform ranks and rejects miscalibrated ones."""

from __future__ import annotations

import numpy as np

from connective.studies.sbc import ecdf_band, ecdf_distance, family_band


def test_band_keeps_its_false_alarm_rate():
    band = ecdf_band(100, 101, seed=3)
    rng = np.random.default_rng(4)
    uniform = rng.integers(0, 101, size=(100, 400))
    inside = (ecdf_distance(uniform, 101) <= band).mean()
    assert 0.92 <= inside <= 0.98


def test_overdispersed_and_biased_ranks_leave_the_band():
    band = ecdf_band(100, 101, seed=3)
    rng = np.random.default_rng(5)
    # posterior too narrow: truths fall in the tails; posterior biased: ranks pile up high
    too_narrow = np.where(rng.random(100) < 0.5, rng.integers(0, 15, 100), rng.integers(86, 101, 100))
    biased = rng.integers(40, 101, size=100)
    d = ecdf_distance(np.stack([too_narrow, biased], axis=1), 101)
    assert (d > band).all()


def test_family_band_keeps_the_family_wise_false_alarm_rate():
    """40 calibrated parameters: about 2 leave their own 95% band, but all 40 stay inside the
    family-wise band in about 95% of studies (at least 90% of 200 here)."""
    band = family_band(100, 101, 40, seed=3)
    rng = np.random.default_rng(6)
    studies = rng.integers(0, 101, size=(200, 100, 40))
    worst = np.array([ecdf_distance(ranks, 101).max() for ranks in studies])
    assert (worst <= band).mean() >= 0.9
    per_parameter = ecdf_band(100, 101, seed=3)
    assert (worst <= per_parameter).mean() < 0.5  # the per-parameter band alone would cry wolf
