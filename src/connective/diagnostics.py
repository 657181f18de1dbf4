"""Can this fit be trusted? Convergence and sampler diagnostics as data, with a verdict.

Per parameter: R-hat, bulk and tail ESS, MCSE of the mean (ArviZ). Per fit: divergent
transitions, share of draws that hit the maximum tree depth, E-BFMI of each chain. The
verdict compares them with stated thresholds (:data:`THRESHOLDS`, after Vehtari et al. 2021
and the Stan team's guidance) and lists every failure in words.

Works on InferenceData from nutpie or PyMC's NUTS (their sample-stat names differ).

Example
-------
>>> import numpy as np, arviz as az
>>> rng = np.random.default_rng(0)
>>> idata = az.from_dict(posterior={"b": rng.normal(size=(4, 1000))},
...                      sample_stats={"diverging": np.zeros((4, 1000), bool)})
>>> diagnose(idata).ok
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import arviz as az
import numpy as np
import pandas as pd

from connective.errors import ConnectiveError

#: thresholds of the verdict; a fit passes when every one holds
THRESHOLDS = {
    "r_hat": 1.01,          # at most
    "ess_bulk": 400,        # at least
    "ess_tail": 400,        # at least
    "divergences": 0,       # at most, after tuning
    "treedepth_share": 0.01,  # at most: share of draws that hit the maximum tree depth
    "ebfmi": 0.3,           # at least, every chain
}
_DEPTH_HIT = ("maxdepth_reached", "reached_max_treedepth")


@dataclass
class Diagnostics:
    """Diagnostics of one fit: a table per parameter, sampler figures, a verdict."""

    table: pd.DataFrame
    divergences: int
    n_draws: int
    treedepth_share: float | None
    ebfmi: list[float]
    thresholds: dict
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        worst = self.table
        return {
            "ok": self.ok, "problems": self.problems, "thresholds": self.thresholds,
            "n_draws": self.n_draws, "divergences": self.divergences,
            "treedepth_share": self.treedepth_share, "ebfmi": self.ebfmi,
            "max_r_hat": float(worst["r_hat"].max()) if len(worst) else None,
            "min_ess_bulk": float(worst["ess_bulk"].min()) if len(worst) else None,
            "min_ess_tail": float(worst["ess_tail"].min()) if len(worst) else None,
        }

    def text(self) -> str:
        d = self.to_dict()
        head = (f"Diagnostics: {'OK' if self.ok else 'PROBLEMS'} ({self.n_draws} draws; "
                f"max R-hat {d['max_r_hat']:.3f}, min bulk ESS {d['min_ess_bulk']:.0f}, "
                f"min tail ESS {d['min_ess_tail']:.0f}, {self.divergences} divergences)")
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


def diagnose(idata: az.InferenceData, *, var_names: list[str] | None = None,
             thresholds: dict | None = None) -> Diagnostics:
    """Diagnose a fit against :data:`THRESHOLDS` (or your own, merged over them)."""
    if not hasattr(idata, "posterior"):
        raise ConnectiveError("the fit has no posterior group to diagnose")
    limits = {**THRESHOLDS, **(thresholds or {})}
    post = idata.posterior if var_names is None else idata.posterior[var_names]
    table = az.summary(post, kind="diagnostics", round_to="none")
    table = table[["r_hat", "ess_bulk", "ess_tail", "mcse_mean", "mcse_sd"]]
    n_draws = int(post.sizes["chain"] * post.sizes["draw"])

    stats = getattr(idata, "sample_stats", None)
    divergences, depth_share, ebfmi = 0, None, []
    if stats is not None:
        if "diverging" in stats:
            divergences = int(stats["diverging"].sum())
        hit = next((stats[n] for n in _DEPTH_HIT if n in stats), None)
        if hit is not None:
            depth_share = float(hit.mean())
        if "energy" in stats:
            ebfmi = [float(v) for v in np.atleast_1d(az.bfmi(idata))]

    problems = []
    if post.sizes["chain"] < 2:
        problems.append("only one chain: R-hat cannot detect chains that disagree; run 2 or more")
    bad = table[table["r_hat"] > limits["r_hat"]]
    if len(bad):
        problems.append(f"R-hat above {limits['r_hat']} for {len(bad)} parameter(s), worst "
                        f"{bad['r_hat'].idxmax()} ({bad['r_hat'].max():.3f}): chains disagree; "
                        "run longer or check the model (e.g. sign or label switching)")
    for col, what in (("ess_bulk", "bulk"), ("ess_tail", "tail")):
        low = table[table[col] < limits[col]]
        if len(low):
            problems.append(f"{what} ESS below {limits[col]} for {len(low)} parameter(s), lowest "
                            f"{low[col].idxmin()} ({low[col].min():.0f}): draw more")
    if divergences > limits["divergences"]:
        problems.append(f"{divergences} divergent transitions: the posterior has regions the "
                        "sampler cannot explore; raise --target-accept (e.g. 0.99) or "
                        "reparameterise")
    if depth_share is not None and depth_share > limits["treedepth_share"]:
        problems.append(f"{depth_share:.1%} of draws hit the maximum tree depth: sampling is "
                        "inefficient; raise max tree depth or reparameterise")
    low_e = [i for i, v in enumerate(ebfmi) if v < limits["ebfmi"]]
    if low_e:
        problems.append(f"E-BFMI below {limits['ebfmi']} in chain(s) {low_e}: heavy tails or "
                        "poor adaptation; check the priors")
    return Diagnostics(table=table, divergences=divergences, n_draws=n_draws,
                       treedepth_share=depth_share, ebfmi=ebfmi, thresholds=limits,
                       problems=problems)


def plot_diagnostics(idata: az.InferenceData, out_dir, *, var_names: list[str] | None = None,
                     ) -> list:
    """Rank and trace plots as PNG files in ``out_dir``; returns their paths."""
    from pathlib import Path

    import matplotlib.pyplot as plt  # ArviZ draws with pyplot; a headless one picks Agg

    from connective.io import atomic_path

    out_dir = Path(out_dir)
    paths = []
    for name, plot in (("rank.png", az.plot_rank), ("trace.png", az.plot_trace)):
        axes = plot(idata, var_names=var_names)
        fig = np.ravel(axes)[0].get_figure()
        with atomic_path(out_dir / name) as tmp:
            fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        paths.append(out_dir / name)
    return paths
