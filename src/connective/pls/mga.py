"""Multigroup analysis of a PLS model (two groups): group estimates and three tests of
every path difference.

* **PLS-MGA** (Henseler et al. 2009), as seminr's ``estimate_pls_mga``: both groups are
  bootstrapped (``n_boot`` replicates each, the first ``J = min`` usable ones kept); the
  one-sided p-value of H1 "group 1's path exceeds group 2's" is
  ``1 - #{(2 mean1 - b1_j) - (2 mean2 - b2_i) > 0} / J^2`` over all J^2 pairs (counted by
  sorting, not by forming the pairs); ``pls_mga_p_two`` = 2 min(p, 1 - p).
  ``pls_mga_mcse`` is its Monte Carlo standard error (the variance of a two-sample
  U-statistic: Var F2(a_j) / J + Var F1(c_i) / J).
* **Permutation test** (Chin & Dibbern 2010): the group labels are permuted ``n_perm``
  times (group sizes kept), both groups re-estimated, and
  ``perm_p = (1 + #{|d*| >= |d|}) / (1 + n_perm)`` (two-sided).
* **Parametric test** (Keil et al. 2000) with the pooled standard error from the groups'
  bootstrap SEs, df = n1 + n2 - 2, and the **Welch-Satterthwaite** test for unequal
  variances; both two-sided.

Group estimates re-standardise the data within each group (as seminr's ``rerun``); every
permuted pair of groups is estimated from its subset moments in one stack (pls/subsets.py).

Example
-------
>>> import numpy as np
>>> from connective.pls import estimate_pls, example_data
>>> spec, frame = example_data(200)
>>> res = estimate_pls(spec, frame)
>>> mga = mga_pls(res, np.arange(200) < 100, n_boot=200, n_perm=200, seed=1)
>>> bool(mga.table().loc[("IS", "CI"), ["pls_mga_p", "perm_p"]].between(0, 1).all())
True
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from connective.pls.bootstrap import PLSBootstrap, _reporter, bootstrap_pls
from connective.pls.errors import BootstrapWarning, InadmissibleWarning, PLSDataError
from connective.pls.estimate import fit_correlations
from connective.pls.fit import estimate_pls
from connective.pls.interaction import refuse_products
from connective.pls.results import PLSResult
from connective.pls.subsets import outer_rows, subset_moments

_CONDITION = re.compile(r"^\s*([A-Za-z_.][\w.]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$")


@dataclass
class Groups:
    """Two groups of the rows: ``first`` (True: group 1) over the frame's index, labels."""

    first: pd.Series
    labels: tuple[str, str]
    text: str


def group_column(text: str) -> str:
    """The column an ``--mga`` text names (``"CUEX1<8"`` -> ``"CUEX1"``)."""
    m = _CONDITION.match(text)
    return m.group(1) if m else text.strip()


def check_group_column(columns, text: str) -> str:
    """The ``--mga`` column, checked to be among ``columns``."""
    column = group_column(text)
    if column not in columns:
        raise PLSDataError(f"--mga {text}: the data have no column {column!r}; expected a "
                           "column with two values (--mga sex) or a comparison "
                           "(--mga \"CUEX1<8\")")
    return column


def group_condition(frame: pd.DataFrame, text: str) -> Groups:
    """Split the rows by ``--mga`` text: a comparison ``COLUMN OP VALUE`` (``CUEX1<8``; OP
    one of < <= > >= == !=; group 1 is where it holds, as seminr's ``condition``), or a
    column with exactly two values (group 1: the first in sorted order).

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1, 9, 3], "sex": ["f", "m", "f"]})
    >>> group_condition(df, "x<8").first.tolist(), group_condition(df, "x<8").labels
    ([True, False, True], ('x<8', 'not x<8'))
    >>> group_condition(df, "sex").labels
    ('sex=f', 'sex=m')
    """
    m = _CONDITION.match(text)
    column = check_group_column(frame.columns, text)
    col = frame[column]
    if m:
        op, raw = m.group(2), m.group(3)
        values = pd.to_numeric(col, errors="coerce")
        try:
            value: object = float(raw)
        except ValueError:
            values, value = col.astype(str), raw.strip("'\"")
        first = {"<": values < value, "<=": values <= value, ">": values > value,
                 ">=": values >= value, "==": values == value, "!=": values != value}[op]
        first = first.where(col.notna())
        labels = (text.strip(), f"not {text.strip()}")
    else:
        levels = sorted(col.dropna().unique().tolist())
        if len(levels) != 2:
            raise PLSDataError(f"--mga {text}: column {column!r} has {len(levels)} distinct "
                               "values; multigroup analysis compares two groups: give a "
                               "comparison such as --mga \"" + column + "<3\"")
        first = (col == levels[0]).where(col.notna())
        labels = (f"{column}={levels[0]}", f"{column}={levels[1]}")
    if first.isna().any():
        raise PLSDataError(f"--mga {text}: column {column!r} is missing in "
                           f"{int(first.isna().sum())} row(s); drop those rows or choose "
                           "another grouping column")
    return Groups(first=first.astype(bool), labels=labels, text=text.strip())


@dataclass(eq=False)
class PLSMGA:
    """Group estimates and path-difference tests (see the module text)."""

    result: PLSResult
    groups: tuple[PLSResult, PLSResult]
    boots: tuple[PLSBootstrap, PLSBootstrap]
    labels: tuple[str, str]
    paths: pd.DataFrame  # the table (index source, target)
    n_perm: int
    seed: int
    notes: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """One row per path: ``estimate`` (all rows), ``group1_beta, group2_beta, diff``,
        bootstrap means and SEs, ``pls_mga_p`` (one-sided, H1 group 1 > group 2),
        ``pls_mga_p_two``, ``pls_mga_mcse``, ``perm_p``, ``parametric_t/_p``,
        ``welch_t/_df/_p``."""
        return self.paths

    def summary(self) -> str:
        n1, n2 = self.groups[0].n, self.groups[1].n
        cols = ["group1_beta", "group2_beta", "diff", "pls_mga_p", "perm_p", "parametric_p",
                "welch_p"]
        return "\n".join([f"Multigroup analysis: group 1 {self.labels[0]} (n={n1}) vs group 2 "
                          f"{self.labels[1]} (n={n2}); usable bootstrap replicates "
                          f"{self.boots[0].n_boot} and {self.boots[1].n_boot}, "
                          f"{self.n_perm} permutations, seed {self.seed}",
                          self.paths[cols].round(4).to_string()]
                         + [f"Note: {n}" for n in self.notes])


def group_mask(result: PLSResult, first) -> np.ndarray:
    """Group 1 as a boolean array over the rows ``result`` used (``first``: an array, or a
    Series over the frame's index)."""
    if isinstance(first, pd.Series):
        first = first.reindex(result.data.index)
    g = np.asarray(first, dtype=bool)
    if g.shape != (result.n,):
        raise ValueError(f"the group indicator has {g.size} values; the result used "
                         f"{result.n} rows")
    return g


def mga_pls(result: PLSResult, first, *, labels: tuple[str, str] = ("group 1", "group 2"),
            n_boot: int = 2000, n_perm: int = 5000, seed: int | None = None,
            frame: pd.DataFrame | None = None, chunk: int = 500,
            progress: bool | Callable[[int, int], None] = False) -> PLSMGA:
    """Two-group analysis of ``result``'s model; ``first`` is a boolean per row used by
    ``result`` (array, or a Series over the frame's index): True for group 1.

    ``frame`` (the data the result was estimated on) re-reads each group from the raw
    columns, so that ``missing="mean"`` replaces within the group as seminr does; without
    it the groups are the standardised rows the result used. ``seed`` seeds both groups'
    bootstraps and the permutations (drawn from the OS when None; recorded).

    Example
    -------
    >>> import numpy as np
    >>> from connective.pls import estimate_pls, example_data
    >>> spec, frame = example_data(120)
    >>> m = mga_pls(estimate_pls(spec, frame), np.arange(120) % 2 == 0, n_boot=100,
    ...             n_perm=100, seed=3)
    >>> (m.groups[0].n, m.groups[1].n, m.boots[0].n_boot)
    (60, 60, 100)
    """
    refuse_products(result, "PLS-MGA (--mga)")
    index = result.data.index
    g = group_mask(result, first)
    n1, n2 = int(g.sum()), int((~g).sum())
    biggest = max(len(result.model.block_columns(j)) for j in range(result.model.n_constructs))
    if min(n1, n2) < max(biggest + 2, 10):
        raise PLSDataError(f"the groups have {n1} and {n2} rows; multigroup analysis needs at "
                           f"least {max(biggest + 2, 10)} in each: choose another split (--mga)")
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    s1, s2, sp = (int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3))
    opts = {k: result.settings[k] for k in ("scheme", "consistent", "tol", "max_iter")}
    missing = result.settings["missing"]
    if frame is not None:
        rows = frame.loc[index]
        parts = (rows[g], rows[~g])
    else:  # the standardised rows the result used, as a frame of the model's columns
        X = pd.DataFrame(result.data.X, index=index, columns=list(result.model.columns))
        X = X.loc[:, ~X.columns.duplicated()]
        parts = (X[g], X[~g])
    groups = tuple(_group_estimate(result, part, missing, opts, name)
                   for part, name in zip(parts, labels))
    boots = tuple(_group_bootstrap(grp, n_boot, s, progress, name)
                  for grp, s, name in zip(groups, (s1, s2), labels))
    perm = _permutation_diffs(result, g, n_perm, sp, opts, chunk, progress)
    table = _path_table(result, groups, boots, perm)
    notes = [f"group 1: {labels[0]} ({n1} rows), group 2: {labels[1]} ({n2} rows)"]
    notes += [f"group {name}: PLSc gave an inadmissible solution ({'; '.join(grp.warnings)}): "
              "its paths are not interpretable" for grp, name in zip(groups, labels)
              if grp.warnings]
    used = min(b.n_boot for b in boots)
    if used < 2:
        notes.append(f"only {used} usable bootstrap replicate(s) in a group: PLS-MGA and the "
                     "parametric tests are not computed (NaN); see the bootstrap warnings")
    return PLSMGA(result=result, groups=groups, boots=boots, labels=tuple(labels), paths=table,
                  n_perm=int(n_perm), seed=seed, notes=notes)


def _group_estimate(result: PLSResult, part: pd.DataFrame, missing, opts: dict, label: str
                    ) -> PLSResult:
    """A group's estimate; an inadmissible PLSc solution is kept in its ``warnings`` and
    warned about with the group's name."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InadmissibleWarning)
        group = estimate_pls(result.spec, part, missing=missing, **opts)
    for w in caught:
        if issubclass(w.category, InadmissibleWarning):
            warnings.warn(f"multigroup analysis, group {label}: {w.message}",
                          InadmissibleWarning, stacklevel=3)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return group


def _group_bootstrap(group: PLSResult, n_boot: int, seed: int, progress, label: str):
    """A group's bootstrap; its warnings name the group."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BootstrapWarning)
        boot = bootstrap_pls(group, n_boot, seed=seed, bca=False, progress=progress)
    for w in caught:
        if issubclass(w.category, BootstrapWarning):
            warnings.warn(f"multigroup analysis, group {label}: {w.message}", BootstrapWarning,
                          stacklevel=3)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return boot


def path_values(fit_paths: np.ndarray, result: PLSResult) -> np.ndarray:
    """The structural paths ``(..., n_paths)`` in the order of ``spec.paths``."""
    ix = {c: i for i, c in enumerate(result.model.constructs)}
    return np.stack([fit_paths[..., ix[t], ix[s]] for s, t in result.spec.paths], axis=-1)


def _permutation_diffs(result, g, n_perm, seed, opts, chunk, progress) -> np.ndarray:
    """Group 1 minus group 2 paths for ``n_perm`` permutations of the labels."""
    rng = np.random.default_rng(seed)
    X = result.data.X
    XX = outer_rows(X)
    report = _reporter(progress, n_perm, label="permutations")
    out, done = [], 0
    while done < n_perm:
        b = min(chunk, n_perm - done)
        labels = np.stack([rng.permutation(g) for _ in range(b)]).astype(float)
        m1, m2 = subset_moments(labels, X, XX), subset_moments(1 - labels, X, XX)
        fit = fit_correlations(np.concatenate([m1.corr, m2.corr]), result.model, **opts)
        paths = path_values(fit["paths"], result)
        ok = fit["converged"][:b] & fit["converged"][b:]
        d = paths[:b] - paths[b:]
        d[~ok] = np.nan
        out.append(d)
        done += b
        report(done)
    return np.concatenate(out)


def henseler_p(b1: np.ndarray, b2: np.ndarray) -> tuple[float, float]:
    """PLS-MGA p-value of H1 beta1 > beta2 from two sets of bootstrap replicates (equal
    length J; seminr's rule), and its Monte Carlo standard error.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p, se = henseler_p(rng.normal(0.5, 0.1, 2000), rng.normal(0.2, 0.1, 2000))
    >>> bool(p < 0.05), bool(se < 0.01)
    (True, True)
    """
    a = 2 * b1.mean() - b1
    c = np.sort(2 * b2.mean() - b2)
    J = len(a)
    below = np.searchsorted(c, a, side="left")  # c_i < a_j
    p = 1 - below.sum() / (J * J)
    f_a = below / J
    f_c = (J - np.searchsorted(np.sort(a), c, side="right")) / J  # a_j > c_i
    mcse = np.sqrt(f_a.var(ddof=1) / J + f_c.var(ddof=1) / J)
    return float(p), float(mcse)


def _path_table(result, groups, boots, perm) -> pd.DataFrame:
    names = [(s, t) for s, t in result.spec.paths]
    est = path_values(result.fit["paths"], result)
    b1v, b2v = (path_values(grp.fit["paths"], result) for grp in groups)
    reps = []
    for boot in boots:
        params = boot.replicates["params"]
        reps.append(np.stack([params.sel(param=f"{t}~{s}").values for s, t in names], axis=-1))
    J = min(len(reps[0]), len(reps[1]))
    r1, r2 = reps[0][:J], reps[1][:J]
    n1, n2 = groups[0].n, groups[1].n
    nan = np.full(len(names), np.nan)
    se1, se2 = (r1.std(axis=0, ddof=1), r2.std(axis=0, ddof=1)) if J >= 2 else (nan, nan)
    diff = b1v - b2v
    hp = [henseler_p(r1[:, k], r2[:, k]) if J >= 2 else (np.nan, np.nan)
          for k in range(len(names))]
    valid = np.isfinite(perm)
    exceed = (np.abs(perm) >= np.abs(diff) - 1e-12) & valid
    perm_p = (1 + exceed.sum(axis=0)) / (1 + valid.sum(axis=0))
    pooled = np.sqrt((n1 - 1) ** 2 / (n1 + n2 - 2) * se1 ** 2
                     + (n2 - 1) ** 2 / (n1 + n2 - 2) * se2 ** 2) * np.sqrt(1 / n1 + 1 / n2)
    t_par = diff / pooled
    welch_se = np.sqrt(se1 ** 2 + se2 ** 2)
    t_welch = diff / welch_se
    df_welch = welch_se ** 4 / (se1 ** 4 / (n1 - 1) + se2 ** 4 / (n2 - 1))
    p_mga = np.array([h[0] for h in hp])
    out = pd.DataFrame({
        "source": [s for s, _ in names], "target": [t for _, t in names],
        "estimate": est, "group1_beta": b1v, "group2_beta": b2v, "diff": diff,
        "group1_beta_mean": r1.mean(axis=0) if J else nan,
        "group2_beta_mean": r2.mean(axis=0) if J else nan,
        "group1_se": se1, "group2_se": se2,
        "pls_mga_p": p_mga, "pls_mga_p_two": 2 * np.minimum(p_mga, 1 - p_mga),
        "pls_mga_mcse": [h[1] for h in hp], "perm_p": perm_p,
        "parametric_t": t_par, "parametric_p": 2 * stats.t.sf(np.abs(t_par), n1 + n2 - 2),
        "welch_t": t_welch, "welch_df": df_welch,
        "welch_p": 2 * stats.t.sf(np.abs(t_welch), df_welch)})
    return out.set_index(["source", "target"])


__all__ = ["PLSMGA", "Groups", "mga_pls", "group_condition", "group_column", "check_group_column", "group_mask", "henseler_p", "path_values"]
