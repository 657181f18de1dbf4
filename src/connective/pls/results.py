"""The result of a PLS estimation as labelled tables (pandas with named indexes, xarray).

Example
-------
>>> from connective.pls import estimate_pls, example_data
>>> spec, frame = example_data()
>>> res = estimate_pls(spec, frame)
>>> round(float(res.paths.loc[("IS", "CI"), "est"]), 3)
0.374
>>> list(res.reliability.columns)
['mode', 'alpha', 'rhoA', 'rhoC', 'AVE']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from connective.effects import compute_effects, with_conditional_effects
from connective.errors import ConnectiveError
from connective.pls.consistent import rho_a_all
from connective.pls.data import PreparedData
from connective.pls.estimate import parameter_layout, parameter_values
from connective.pls.model import PLSModel
from connective.pls.quality import (composite_reliability, cronbach_alpha, f_squared, htmt,
                                    inner_vif, outer_vif, reliability_flags)
from connective.spec import ModelSpec


@dataclass(eq=False)
class PLSResult:
    """A fitted PLS path model. Build it with :func:`connective.pls.estimate_pls`.

    The raw arrays are in ``fit`` (see :func:`connective.pls.estimate.fit_correlations`);
    the properties turn them into labelled tables.
    """

    spec: ModelSpec
    model: PLSModel
    data: PreparedData
    R: np.ndarray
    fit: dict
    settings: dict
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # -- basic facts -------------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of rows used."""
        return self.data.n

    @property
    def iterations(self) -> int:
        return int(self.fit["iterations"])

    @property
    def constructs(self) -> list[str]:
        return list(self.model.constructs)

    def _indicator_index(self) -> pd.MultiIndex:
        return pd.MultiIndex.from_tuples(self.model.indicator_names, names=["construct", "indicator"])

    def _matrix(self, values: np.ndarray, index_name: str = "indicator") -> pd.DataFrame:
        out = pd.DataFrame(values, index=pd.Index(self.model.columns, name=index_name),
                           columns=pd.Index(self.constructs, name="construct"))
        return out

    # -- measurement model -------------------------------------------------------------------
    @property
    def outer_weights(self) -> pd.DataFrame:
        """Weights, indicator x construct (0 outside the block), as seminr prints them."""
        return self._matrix(self.fit["weights"][:, None] * self.model.membership)

    @property
    def outer_loadings(self) -> pd.DataFrame:
        """Loadings on the own construct, indicator x construct (0 outside the block);
        consistent (corrected) loadings for common factors under PLSc."""
        return self._matrix(self.fit["loadings"][:, None] * self.model.membership)

    @property
    def cross_loadings(self) -> pd.DataFrame:
        """Correlation of every indicator with every construct score."""
        return self._matrix(self.fit["cross_loadings"])

    @property
    def measurement(self) -> pd.DataFrame:
        """One row per (construct, indicator): weight, loading, outer VIF."""
        return pd.DataFrame({"weight": self.fit["weights"], "loading": self.fit["loadings"],
                             "vif": outer_vif(self.R, self.model)}, index=self._indicator_index())

    @property
    def first_stage(self) -> "PLSResult | None":
        """Stage one of a two-stage higher-order model (its dimensions' loadings, weights,
        reliability and HTMT), else None."""
        one = self.model.stage_one
        if one is None:
            return None
        from dataclasses import replace

        return replace(self, spec=one.spec, model=one, R=self.fit["stage_one"]["R"],
                       fit=self.fit["stage_one"], warnings=[], notes=[])

    @property
    def scores(self) -> pd.DataFrame:
        """Construct scores (standardised composites), one row per row used."""
        X = self.fit.get("X_model", self.data.X)  # an interaction model's: with products
        if self.model.stage_one is not None:  # stage two's columns: items and dimension scores
            first = self.first_stage.scores
            X = np.column_stack([first[c].to_numpy() if c in first.columns
                                 else X[:, self.model.stage_one.columns.index(c)]
                                 for c in self.model.columns])
        W = self.fit["weights"][:, None] * self.model.membership
        return pd.DataFrame(X @ W, index=self.data.index,
                            columns=pd.Index(self.constructs, name="construct"))

    # -- structural model --------------------------------------------------------------------
    @property
    def construct_correlations(self) -> pd.DataFrame:
        """Construct correlations the paths are estimated from (disattenuated under PLSc)."""
        return pd.DataFrame(self.fit["corr"], index=pd.Index(self.constructs, name="row"),
                            columns=pd.Index(self.constructs, name="col"))

    @property
    def path_matrix(self) -> pd.DataFrame:
        """Path coefficients, source (rows) x target (columns), as seminr prints them."""
        return pd.DataFrame(self.fit["paths"].T, index=pd.Index(self.constructs, name="source"),
                            columns=pd.Index(self.constructs, name="target"))

    @property
    def paths(self) -> pd.DataFrame:
        """One row per structural path (index source, target): est, f2, vif."""
        ix = {c: i for i, c in enumerate(self.constructs)}
        f2 = f_squared(self.fit["corr"], self.model)
        vif = inner_vif(self.fit["corr"], self.model)
        rows = [(s, t, self.fit["paths"][ix[t], ix[s]], f2[ix[t], ix[s]], vif[ix[t], ix[s]])
                for s, t in self.model.paths]
        out = pd.DataFrame(rows, columns=["source", "target", "est", "f2", "vif"])
        return out.set_index(["source", "target"])

    @property
    def r_squared(self) -> pd.DataFrame:
        """R^2 and adjusted R^2 of every endogenous construct."""
        rows = []
        for j in self.model.endogenous:
            k = len(self.model.predecessors(j))
            r2 = float(self.fit["r2"][j])
            adj = 1 - (1 - r2) * (self.n - 1) / (self.n - k - 1) if self.n > k + 1 else np.nan
            rows.append((self.constructs[j], r2, adj))
        return pd.DataFrame(rows, columns=["construct", "r2", "adj_r2"]).set_index("construct")

    # -- quality criteria --------------------------------------------------------------------
    @property
    def reliability(self) -> pd.DataFrame:
        """Cronbach's alpha, rho_A, rho_C and AVE per construct. A single-item construct
        (``CUSA =~ cusa``) gets 1 for each, as seminr prints it; that is not informative (one
        item carries no evidence of reliability) and the result's notes say so.

        rho_C and AVE use the result's loadings (consistent loadings under PLSc)."""
        m = self.model
        rho_c, ave = composite_reliability(self.fit["loadings"], m)
        keep = [j for j in range(m.n_constructs) if not m.observed_structural[j]]
        out = pd.DataFrame({"mode": list(m.modes), "alpha": cronbach_alpha(self.R, m),
                            "rhoA": rho_a_all(self.R, self.fit["weights"], m),
                            "rhoC": rho_c, "AVE": ave},
                           index=pd.Index(self.constructs, name="construct"))
        single = [c for c in m.single_items if c not in m.product_constructs]
        out.loc[single, ["alpha", "rhoA", "rhoC", "AVE"]] = 1.0
        # an interaction term measures no construct of its own: no reliability to assess
        keep = [j for j in keep if m.constructs[j] not in m.product_constructs]
        return out.iloc[keep]

    @property
    def fornell_larcker(self) -> pd.DataFrame:
        """sqrt(AVE) on the diagonal, correlations of the construct scores below it."""
        m = self.model
        _, ave = composite_reliability(self.fit["loadings"], m)
        C = self.fit["scores_corr"].copy()
        C[np.triu_indices(m.n_constructs, 1)] = np.nan
        C[np.diag_indices(m.n_constructs)] = np.sqrt(ave)
        keep = [j for j in range(m.n_constructs) if not m.observed_structural[j]
                and m.constructs[j] not in m.product_constructs]
        names = pd.Index(self.constructs, name="construct")
        return pd.DataFrame(C, index=names, columns=names).iloc[keep, keep]

    def _htmt_table(self, values: np.ndarray) -> pd.DataFrame:
        from connective.pls.quality import htmt_constructs

        keep = htmt_constructs(self.model)
        names = pd.Index([self.constructs[j] for j in keep], name="construct")
        return pd.DataFrame(values[np.ix_(keep, keep)], index=names, columns=names)

    @property
    def htmt(self) -> pd.DataFrame:
        """HTMT (lower triangle) for mode A blocks of two or more indicators."""
        return self._htmt_table(self.fit["htmt"])

    @property
    def htmt2(self) -> pd.DataFrame:
        """HTMT2 (geometric means; Roemer et al. 2021), lower triangle."""
        return self._htmt_table(htmt(self.R, self.model, geometric=True))

    @property
    def htmt_long(self) -> pd.DataFrame:
        """HTMT and HTMT2 one row per pair of constructs (index construct1, construct2)."""
        a, b = self.htmt, self.htmt2
        rows = [(a.index[i], a.columns[j], a.iat[i, j], b.iat[i, j])
                for i in range(len(a)) for j in range(i)]
        return pd.DataFrame(rows, columns=["construct1", "construct2", "htmt", "htmt2"]
                            ).set_index(["construct1", "construct2"])

    # -- parameters and effects --------------------------------------------------------------
    @property
    def estimates(self) -> xr.DataArray:
        """Loadings, weights and paths as a DataArray with dim ``param`` (``IS=~is1``,
        ``IS<~is1``, ``CI~IS``) and coords lhs, op, rhs: the input of the effects algebra."""
        names, lhs, op, rhs = parameter_layout(self.model)
        return xr.DataArray(parameter_values(self.fit, self.model), dims="param",
                            coords={"param": names, "lhs": ("param", lhs), "op": ("param", op),
                                    "rhs": ("param", rhs)})

    def parameters(self) -> pd.DataFrame:
        """lavaan-style table: ``lhs, op, rhs, est`` for loadings (``=~``), weights (``<~``),
        paths (``~``) and R^2 (``r2``)."""
        est = self.estimates
        out = pd.DataFrame({"lhs": est.lhs.values, "op": est.op.values, "rhs": est.rhs.values,
                            "est": est.values})
        r2 = self.r_squared
        extra = pd.DataFrame({"lhs": r2.index, "op": "r2", "rhs": r2.index, "est": r2["r2"].values})
        return pd.concat([out, extra], ignore_index=True)

    def effects(self) -> pd.DataFrame:
        """Direct, specific indirect, total indirect, total and defined effects (point)."""
        fx = effects_of(self.spec, self.estimates)
        return pd.DataFrame({"effect": fx.effect.values, "kind": fx.kind.values,
                             "source": fx.source.values, "target": fx.target.values,
                             "est": fx.values})

    def summary(self) -> str:
        """A short text report: settings, paths, R^2, reliability, HTMT."""
        s = self.settings
        lines = [f"PLS{'c' if s['consistent'] else ''} path model {self.spec.source}: "
                 f"{self.n} rows, {s['scheme']} scheme, converged in {self.iterations} iterations"]
        if self.data.report.get("missing_cells"):
            r = self.data.report
            lines.append(f"  missing data: {r['missing_cells']} cells, treatment {r['missing']}, "
                         f"{r['n_used']} of {r['n_rows']} rows used")
        if self.spec.paths:
            lines += ["", "Paths:", self.paths.round(3).to_string(), "",
                      "R^2:", self.r_squared.round(3).to_string()]
        else:
            lines += ["", "No paths, R^2 or effects: a measurement-only model. Loadings:",
                      self.outer_loadings.round(3).to_string(), "",
                      "Construct correlations:", self.construct_correlations.round(3).to_string()]
        lines += ["", "Reliability:", self.reliability.round(3).assign(
            flags=reliability_flags(self.reliability)).to_string()]
        if len(self.htmt) > 1:
            lines += ["", "HTMT:", self.htmt.round(3).to_string()]
        first = self.first_stage
        if first is not None:
            dims = [c for c in self.model.columns if c in first.constructs]
            lines += ["", f"Higher-order constructs, two-stage: stage one (dimensions "
                          f"{', '.join(dims)}; the higher-order constructs' loadings above are "
                          "on these dimensions' stage-one scores):",
                      "Reliability:", first.reliability.loc[dims].round(3).assign(
                          flags=reliability_flags(first.reliability.loc[dims])).to_string()]
            if len(first.htmt) > 1:
                lines += ["", "HTMT (stage one):", first.htmt.round(3).to_string()]
        for w in self.warnings:
            lines.append(f"WARNING: {w}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)


def effects_of(spec: ModelSpec, values: xr.DataArray) -> xr.DataArray:
    """Every effect through :func:`connective.effects.compute_effects`; defined parameters
    that need a value PLS does not estimate (e.g. a labelled variance) are left out. A
    model with product terms adds the conditional effects and indices
    (:func:`connective.effects.with_conditional_effects`) at the construct scores' mean
    and one SD either side (0 and +-1: the scores are standardised)."""
    try:
        fx = compute_effects(spec, values)
    except ConnectiveError:
        kinds = ("direct", "indirect", "total_indirect", "total")
        fx = compute_effects(spec, values, kinds=kinds)
    return with_conditional_effects(spec, fx, values)
