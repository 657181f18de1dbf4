"""MICOM, the measurement invariance of composites (Henseler, Ringle & Sarstedt 2016), for
two groups, before a multigroup analysis.

1. **Configural invariance**: the same indicators, data treatment and algorithm settings in
   both groups (one model file makes them so), and every indicator varies in each group.
2. **Compositional invariance**: per construct, ``c`` = the correlation of the composite
   scores of the pooled (standardised) data built with group 1's weights and with group 2's;
   the group labels are permuted ``n_perm`` times and both groups re-estimated; invariance
   holds when ``c`` is not below the 5% quantile of the permuted ``c*``
   (``p = (1 + #{c* <= c}) / (1 + n_perm)``).
3. **Equal composite means (3a) and variances (3b)**: from the pooled estimate's scores, the
   difference of the group means and of the log variances, against the same permutations
   (two-sided, 2.5% and 97.5% quantiles).

Verdict per construct: step 2 fails -> no invariance (do not compare the groups); step 2
holds and 3a or 3b fails -> partial invariance (compare paths by MGA); all hold -> full
invariance (the groups may also be pooled).

Example
-------
>>> import numpy as np
>>> from connective.pls import estimate_pls, example_data
>>> spec, frame = example_data(200)
>>> mi = micom_pls(estimate_pls(spec, frame), np.arange(200) < 100, n_perm=200, seed=1)
>>> mi.table().columns.tolist()[:3]
['c', 'c_q05', 'c_p']
>>> mi.table()["verdict"].tolist()
['full', 'full']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from connective.pls.bootstrap import _reporter
from connective.pls.errors import PLSDataError
from connective.pls.estimate import fit_correlations
from connective.pls.interaction import refuse_products
from connective.pls.mga import group_mask
from connective.pls.results import PLSResult
from connective.pls.subsets import outer_rows, subset_moments


STEP_COLUMNS = ["c", "c_q05", "c_p", "compositional", "mean_diff", "mean_lo", "mean_hi",
                "mean_p", "equal_means", "logvar_diff", "logvar_lo", "logvar_hi", "logvar_p",
                "equal_variances", "verdict"]


@dataclass(eq=False)
class PLSMICOM:
    """The three steps per construct (see the module text)."""

    steps: pd.DataFrame
    configural: list[str]
    n_perm: int
    seed: int
    labels: tuple[str, str]
    notes: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """Per construct: ``c, c_q05, c_p, compositional`` (step 2), ``mean_diff, mean_lo,
        mean_hi, mean_p, equal_means`` (3a), ``logvar_diff, logvar_lo, logvar_hi, logvar_p,
        equal_variances`` (3b) and ``verdict`` (full / partial / none)."""
        return self.steps

    def verdict(self) -> str:
        v = self.steps["verdict"]
        if v.empty:
            return ("MICOM: the model has no composites (observed variables only), so "
                    "measurement invariance is not at issue")
        if (v == "none").any():
            return ("MICOM: no compositional invariance for " + ", ".join(v.index[v == "none"])
                    + ": the groups' composites differ, so their paths should not be compared")
        if (v == "partial").any():
            return ("MICOM: partial measurement invariance (equal composites; means or "
                    "variances differ for " + ", ".join(v.index[v == "partial"]) + "): "
                    "compare the groups' paths by multigroup analysis, do not pool them")
        return "MICOM: full measurement invariance: the groups' paths may be compared (or pooled)"

    def summary(self) -> str:
        cols = ["c", "c_q05", "compositional", "mean_diff", "equal_means", "logvar_diff",
                "equal_variances", "verdict"]
        return "\n".join([f"MICOM ({self.labels[0]} vs {self.labels[1]}, {self.n_perm} "
                          f"permutations, seed {self.seed}); step 1: "
                          + ("; ".join(self.configural) or "configural invariance holds"),
                          self.steps[cols].round(4).to_string(), self.verdict()]
                         + [f"Note: {n}" for n in self.notes])


def micom_pls(result: PLSResult, first, *, labels: tuple[str, str] = ("group 1", "group 2"),
              n_perm: int = 1000, seed: int | None = None, chunk: int = 500,
              progress: bool | Callable[[int, int], None] = False) -> PLSMICOM:
    """MICOM of ``result``'s composites for the groups ``first`` (True: group 1; an array
    or a Series over the frame's index). ``seed``: the permutations (drawn when None).

    Example
    -------
    >>> import numpy as np
    >>> from connective.pls import estimate_pls, example_data
    >>> spec, frame = example_data(100)
    >>> mi = micom_pls(estimate_pls(spec, frame), np.arange(100) % 2 == 0, n_perm=50, seed=2)
    >>> bool(mi.table().loc["IS", "c"] > 0.9)
    True
    """
    refuse_products(result, "MICOM (--mga)")
    g = group_mask(result, first)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    m = result.model
    X = result.data.X
    XX = outer_rows(X)
    opts = {k: result.settings[k] for k in ("scheme", "consistent", "tol", "max_iter")}
    configural = _configural(result, g)
    observed = _statistics(result, g[None].astype(float), X, XX, opts)
    rng = np.random.default_rng(seed)
    report = _reporter(progress, n_perm, label="MICOM permutations")
    perms: list[dict] = []
    done = 0
    while done < n_perm:
        b = min(chunk, n_perm - done)
        lab = np.stack([rng.permutation(g) for _ in range(b)]).astype(float)
        perms.append(_statistics(result, lab, X, XX, opts))
        done += b
        report(done)
    perm = {k: np.concatenate([p[k] for p in perms]) for k in perms[0]}
    rows = {}
    for j, name in enumerate(m.constructs):
        if m.observed_structural[j]:
            continue
        c, cs = observed["c"][0, j], perm["c"][:, j]
        cs = cs[np.isfinite(cs)]
        q05 = float(np.quantile(cs, 0.05))
        row = {"c": c, "c_q05": q05, "c_p": (1 + np.sum(cs <= c)) / (1 + len(cs)),
               "compositional": bool(c >= q05)}
        for key, tag in (("mean", "equal_means"), ("logvar", "equal_variances")):
            d, ds = observed[key][0, j], perm[key][:, j]
            lo, hi = np.quantile(ds, [0.025, 0.975])
            row.update({f"{key}_diff": d, f"{key}_lo": lo, f"{key}_hi": hi,
                        f"{key}_p": (1 + np.sum(np.abs(ds) >= abs(d))) / (1 + len(ds)),
                        tag: bool(lo <= d <= hi)})
        row["verdict"] = ("none" if not row["compositional"] else
                          "full" if row["equal_means"] and row["equal_variances"] else "partial")
        rows[name] = row
    steps = pd.DataFrame.from_dict(rows, orient="index", columns=STEP_COLUMNS)
    steps.index.name = "construct"
    notes = [f"single-item construct(s) {', '.join(m.single_items)}: compositional invariance "
             "holds trivially (c = 1)"] if m.single_items else []
    return PLSMICOM(steps=steps, configural=configural, n_perm=int(n_perm), seed=seed,
                    labels=tuple(labels), notes=notes)


def _configural(result: PLSResult, g: np.ndarray) -> list[str]:
    """Step 1: the model, data treatment and settings are shared by construction; what can
    still fail is an indicator that does not vary within a group."""
    X = result.data.X
    for sel, name in ((g, "group 1"), (~g, "group 2")):
        flat = X[sel].std(axis=0) < 1e-12
        if flat.any():
            c = result.model.columns[int(np.flatnonzero(flat)[0])]
            raise PLSDataError(f"MICOM step 1 (configural invariance) fails: indicator {c!r} "
                               f"does not vary in {name}, so the model cannot be estimated "
                               "there; choose another split (--mga) or drop the indicator")
    return ["the same indicators, data treatment and algorithm settings in both groups "
            "(one model file)", "every indicator varies in both groups"]


def _statistics(result: PLSResult, labels: np.ndarray, X, XX, opts) -> dict[str, np.ndarray]:
    """Per labelling (k, n): c per construct (step 2), differences of the pooled scores'
    means and log variances (step 3)."""
    m = result.model
    m1, m2 = subset_moments(labels, X, XX), subset_moments(1 - labels, X, XX)
    k = len(labels)
    fit = fit_correlations(np.concatenate([m1.corr, m2.corr]), m, **opts)
    w1, w2 = fit["weights"][:k], fit["weights"][k:]
    R = result.R
    M = m.membership
    W1, W2 = w1[..., None] * M, w2[..., None] * M  # (k, p, J)
    cov12 = np.einsum("kpj,pq,kqj->kj", W1, R, W2)
    v1 = np.einsum("kpj,pq,kqj->kj", W1, R, W1)
    v2 = np.einsum("kpj,pq,kqj->kj", W2, R, W2)
    c = cov12 / np.sqrt(v1 * v2)
    c[~(fit["converged"][:k] & fit["converged"][k:])] = np.nan
    scores = X @ (result.fit["weights"][:, None] * M)  # pooled weights: fixed
    n1 = labels.sum(axis=1)[:, None]
    n2 = len(X) - n1
    s1 = labels @ scores
    mean1, mean2 = s1 / n1, (scores.sum(axis=0) - s1) / n2
    q1 = labels @ scores**2
    var1 = (q1 - n1 * mean1**2) / (n1 - 1)
    var2 = ((scores**2).sum(axis=0) - q1 - n2 * mean2**2) / (n2 - 1)
    return {"c": c, "mean": mean1 - mean2, "logvar": np.log(var1) - np.log(var2)}


__all__ = ["PLSMICOM", "micom_pls"]
