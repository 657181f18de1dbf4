"""Words that say what is computed (issue 15, item 9): PLS rows in bootstrap terms, a
mediation type that names its ROPE and never contradicts the interval beside it, and the
comparison's 'same verdict' column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from connective.report.run import mediation_table


def draws(indirect_mean: float, direct_mean: float, n=4000, seed=0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    ind = indirect_mean + 0.005 * rng.standard_normal(n)
    c = direct_mean + 0.02 * rng.standard_normal(n)
    return xr.DataArray(np.stack([ind, c, ind, ind + c], axis=1), dims=("replicate", "effect"),
                        coords={"effect": ["X -> M -> Y", "X -> Y", "total indirect X -> Y",
                                           "total X -> Y"],
                                "kind": ("effect", ["indirect", "direct", "total_indirect",
                                                    "total"]),
                                "source": ("effect", ["X"] * 4),
                                "target": ("effect", ["Y"] * 4)})


def test_a_direct_only_label_says_its_rope_beside_an_interval_excluding_zero():
    table, _ = mediation_table(draws(0.03, 0.3), bayes=True)
    row = table.set_index("Effect").loc["X -> M -> Y"]
    assert row["Type"].startswith("direct-only at ±.05 (")
    assert "indirect within ROPE (interval excludes 0, |e| ≤ .05)" in row["Type"]
    clear, _ = mediation_table(draws(0.2, 0.3), bayes=True)
    assert "within ROPE" not in clear.set_index("Effect").loc["X -> M -> Y", "Type"]


def test_pls_rows_use_bootstrap_terms_and_the_runs_interval():
    d = draws(0.2, 0.3)
    effects = pd.DataFrame({"effect": d["effect"].values, "ci.lower": [0.11, 0.2, 0.11, 0.4],
                            "ci.upper": [0.29, 0.4, 0.29, 0.6]})
    table, caption = mediation_table(d, bayes=False, effects=effects, ci="bca")
    assert "95% BCa interval" in table.columns and "Share > 0" in table.columns
    assert not any("HDI" in c or "P(dir" in c for c in table.columns)
    assert table.set_index("Effect").loc["X -> M -> Y", "95% BCa interval"] == "[0.11, 0.29]"
    from connective.report.run import mediation_note

    note = mediation_note(False, "bca")
    assert "bootstrap BCa interval" in note and "HDI" not in note
    assert "probability of direction" in mediation_note(True).lower() or "P(dir.)" in \
        mediation_note(True)
