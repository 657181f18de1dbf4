"""Importance-performance map analysis (IPMA; Ringle & Sarstedt 2016) of a PLS result.

* every indicator is rescaled to 0-100, ``x' = 100 (x - min) / (max - min)``, with the
  scale's bounds (the ``--likert`` range, or given) or, without them, the observed minimum
  and maximum (SmartPLS's default);
* rescaled outer weights: the standardised weights divided by the SD of the rescaled
  indicator, normalised to sum to 1 in each block, so a construct's rescaled score
  ``sum w~_i x'_i`` lies on 0-100 (when no weight is negative);
* **performance**: the mean rescaled score of a construct, the mean rescaled answer of an
  indicator;
* **importance**: the unstandardised total effect on the target construct (of the rescaled
  scores): the standardised total effect (from the effects algebra) times
  SD(target) / SD(source) of the rescaled scores; an indicator's importance is its rescaled
  weight times its construct's importance.

Example
-------
>>> from connective.pls import estimate_pls, example_data
>>> spec, frame = example_data()
>>> ipma = ipma_pls(estimate_pls(spec, frame), "CI")
>>> ipma.constructs.columns.tolist()
['importance', 'performance']
>>> ipma.constructs.index.tolist(), list(ipma.indicators.index.names)
(['IS'], ['construct', 'indicator'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from connective.pls.errors import PLSDataError, PLSModelError
from connective.pls.interaction import refuse_products
from connective.pls.results import PLSResult


@dataclass(eq=False)
class PLSIPMA:
    """Importance and performance of the target's antecedents (constructs and indicators)."""

    target: str
    constructs: pd.DataFrame  # index construct: importance, performance
    indicators: pd.DataFrame  # index (construct, indicator): weight, importance, performance
    target_performance: float
    bounds: pd.DataFrame  # index indicator: min, max, source ("scale" or "observed")
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return "\n".join([f"IPMA of {self.target} (performance {self.target_performance:.1f} "
                          "on 0-100):", self.constructs.round(3).to_string(), "",
                          self.indicators.round(3).to_string()]
                         + [f"Note: {n}" for n in self.notes])

    def plot(self, ax=None, *, level: str = "constructs"):
        """The importance-performance map of the constructs (or ``level="indicators"``)."""
        table = self.constructs if level == "constructs" else self.indicators.reset_index(0)
        return ipma_map(table, self.target, ax=ax)


def ipma_map(table: pd.DataFrame, target: str, ax=None):
    """The importance-performance map: ``table`` (index: names; columns importance,
    performance), importance on x, performance on y, the means as dashed lines (the usual
    four quadrants). Returns the matplotlib Figure.

    Example
    -------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"importance": [0.2, 0.5], "performance": [60, 70]}, index=["A", "B"])
    >>> fig = ipma_map(t, "Y")
    >>> fig.axes[0].get_xlabel()
    'importance (total effect on Y)'
    """
    from connective.figures import subplots

    if ax is None:
        fig, ax = subplots(figsize=(5.5, 4.5))
    else:
        fig = ax.figure
    ax.scatter(table["importance"], table["performance"], color="#1f5a99")
    for name, x, y in zip(table.index, table["importance"], table["performance"]):
        ax.annotate(str(name), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axvline(table["importance"].mean(), color="grey", lw=0.8, ls="--")
    ax.axhline(table["performance"].mean(), color="grey", lw=0.8, ls="--")
    ax.set_xlabel(f"importance (total effect on {target})")
    ax.set_ylabel("performance (0-100)")
    ax.set_title(f"Importance-performance map: {target}")
    fig.tight_layout()
    return fig


def ipma_pls(result: PLSResult, target: str, *,
             scale: tuple[float, float] | Mapping[str, tuple[float, float]] | None = None
             ) -> PLSIPMA:
    """IPMA of ``target`` (see the module text). ``scale``: one (min, max) for every
    indicator or a mapping per indicator; indicators without one get the observed range.
    The raw answers are the rows the result used (after its missing-data treatment).

    Example
    -------
    >>> from connective.pls import estimate_pls, example_data
    >>> spec, frame = example_data()
    >>> ipma = ipma_pls(estimate_pls(spec, frame), "CI")
    >>> w = ipma.indicators.loc["IS", "weight"]
    >>> round(float(w.sum()), 10)
    1.0
    """
    refuse_products(result, "IPMA (--ipma)")
    m = result.model
    if target not in m.constructs:
        raise PLSModelError(f"--ipma {target}: not a construct of the model; expected one of "
                            f"{', '.join(m.constructs)}")
    fx = result.effects()
    total = fx[(fx["kind"] == "total") & (fx["target"] == target)].set_index("source")["est"]
    if total.empty:
        raise PLSModelError(f"--ipma {target}: no construct has an effect on {target} (it is "
                            "exogenous); choose an endogenous target construct")
    data = result.data
    raw = data.X * data.sds + data.means  # (n, p), columns as m.columns
    lo, hi, source = _bounds(m.columns, raw, scale)
    outside = (raw < lo - 1e-9) | (raw > hi + 1e-9)
    if outside.any():
        c = m.columns[int(np.flatnonzero(outside.any(axis=0))[0])]
        raise PLSDataError(f"--ipma: indicator {c!r} has answers outside its scale "
                           f"[{lo[m.columns.index(c)]:g}, {hi[m.columns.index(c)]:g}]; give "
                           "its true range (--likert)")
    rescaled = 100 * (raw - lo) / (hi - lo)
    sd = rescaled.std(axis=0, ddof=1)
    w = result.fit["weights"] / sd
    block_sum = (w[:, None] * m.membership).sum(axis=0)
    w_tilde = w / block_sum[m.block]
    scores = rescaled @ (w_tilde[:, None] * m.membership)  # (n, J)
    score_sd = scores.std(axis=0, ddof=1)
    ix = {c: j for j, c in enumerate(m.constructs)}
    rows = []
    for src, eff in total.items():
        rows.append((src, eff * score_sd[ix[target]] / score_sd[ix[src]],
                     scores[:, ix[src]].mean()))
    constructs = pd.DataFrame(rows, columns=["construct", "importance", "performance"]
                              ).set_index("construct")
    ind = []
    for (c, x), col in zip(m.indicator_names, range(len(m.columns))):
        if c in constructs.index:
            ind.append((c, x, w_tilde[col], w_tilde[col] * constructs.at[c, "importance"],
                        rescaled[:, col].mean()))
    indicators = pd.DataFrame(ind, columns=["construct", "indicator", "weight", "importance",
                                            "performance"]).set_index(["construct", "indicator"])
    notes = []
    negative = indicators.index[indicators["weight"] < 0]
    if len(negative):
        notes.append("negative rescaled weight(s) for " + ", ".join(x for _, x in negative)
                     + ": those constructs' performance may leave 0-100 (IPMA assumes "
                     "positive weights; check the coding of the items)")
    observed = [c for c, s in zip(m.columns, source) if s == "observed"]
    if observed:
        notes.append("performance rescaled with the observed minimum and maximum of "
                     f"{len(observed)} indicator(s) (no scale range given: --likert)")
    bounds = pd.DataFrame({"min": lo, "max": hi, "source": source},
                          index=pd.Index(m.columns, name="indicator"))
    return PLSIPMA(target=target, constructs=constructs, indicators=indicators,
                   target_performance=float(scores[:, ix[target]].mean()),
                   bounds=bounds[~bounds.index.duplicated()], notes=notes)


def _bounds(columns, raw, scale):
    lo, hi = raw.min(axis=0).copy(), raw.max(axis=0).copy()
    source = ["observed"] * len(columns)
    for i, c in enumerate(columns):
        given = scale.get(c) if isinstance(scale, Mapping) else scale
        if given is not None:
            lo[i], hi[i] = float(given[0]), float(given[1])
            source[i] = "scale"
    if np.any(hi <= lo):
        c = columns[int(np.flatnonzero(hi <= lo)[0])]
        raise PLSDataError(f"--ipma: indicator {c!r} has an empty scale range; give its "
                           "range with --likert, e.g. --likert '*=1-7'")
    return lo, hi, source


__all__ = ["PLSIPMA", "ipma_pls", "ipma_map"]
