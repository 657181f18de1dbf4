"""SRMR, VIF and f² of a PLS solution (pls/fit_quality.py) and their place in the run folder."""

from __future__ import annotations

import numpy as np
import pandas as pd

from connective.pls import estimate_pls, example_data
from connective.pls.fit_quality import quality_table, srmr


def test_srmr_is_small_for_the_true_model_and_large_for_a_misplaced_item():
    spec, frame = example_data(n=3000, seed=2)
    right = srmr(estimate_pls(spec, frame, consistent=True))
    blocks = {c: list(spec.indicators[c]) for c in spec.latent}
    a, b = [blocks[c][0] for c in list(blocks)[:2]]
    swapped = frame.rename(columns={a: b, b: a})  # two items in each other's block
    wrong = srmr(estimate_pls(spec, swapped, consistent=True))
    assert right < 0.02 and wrong > 0.06, (right, wrong)
    assert srmr(estimate_pls(spec, frame)) < 0.03  # composites: blocks as observed


def test_quality_table_holds_every_path_and_indicator():
    spec, frame = example_data(n=300, seed=3)
    result = estimate_pls(spec, frame)
    table = quality_table(result)
    f2 = table[table["measure"] == "f2"]
    assert len(f2) == len(spec.paths) and (f2["value"] > 0).all()
    assert len(table[table["measure"] == "outer_vif"]) == len(result.model.columns)
    assert (table.loc[table["measure"].str.endswith("vif"), "value"] >= 1 - 1e-9).all()
    # f² as Cohen's: (R² with the path - R² without) / (1 - R²), for a one-predictor target
    paths = result.paths.reset_index()
    single = paths.groupby("target").filter(lambda g: len(g) == 1).iloc[0]
    r2 = result.r_squared.loc[single["target"], "r2"]
    assert np.isclose(single["f2"], r2 / (1 - r2))
