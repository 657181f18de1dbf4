"""Seeded, vectorised bootstrap of a PLS result, with percentile and BCa intervals.

Each replicate resamples rows with replacement. Because PLS on standardised indicators is a
function of the correlation matrix, a replicate is represented by how often each row was
drawn: its correlation matrix is one matrix product away (``counts @ [x_i x_i']``), and the
algorithm runs on the whole stack of matrices at once. Replicates are a leading ``replicate``
dimension throughout, and every effect comes from :func:`connective.effects.compute_effects`
applied to the replicated paths.

Sign changes: ``sign_change="construct"`` flips a replicate's construct when its loadings
are closer to minus the original ones (Tenenhaus et al. 2005, construct level);
``"individual"`` gives every replicated loading, weight and path the sign of its original
estimate (individual sign changes); ``"none"`` (default) leaves replicates as estimated.

BCa intervals (Efron 1987) use the bias correction from the replicates and the acceleration
from a jackknife over the rows (n leave-one-out estimates, computed the same way).

Example
-------
>>> from connective.pls import estimate_pls, example_data
>>> spec, frame = example_data()
>>> boot = bootstrap_pls(estimate_pls(spec, frame), n_boot=300, seed=42)
>>> boot.replicates["params"].dims
('replicate', 'param')
>>> a = boot.table("params").loc["CI~IS"]
>>> b = bootstrap_pls(boot.result, n_boot=300, seed=42).table("params").loc["CI~IS"]
>>> bool(a["ci.lower"] == b["ci.lower"])
True
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import norm

from connective.pls.errors import BootstrapWarning
from connective.pls.estimate import fit_correlations, parameter_layout, parameter_values
from connective.pls.interaction import augmented_correlations, rescale_product_paths
from connective.pls.quality import htmt_constructs
from connective.pls.results import PLSResult, effects_of

SIGN_CHANGES = ("none", "construct", "individual")
METHODS = ("percentile", "bca")


@dataclass(eq=False)
class PLSBootstrap:
    """Bootstrap replicates of a :class:`PLSResult` and their intervals.

    ``replicates`` and ``original`` are xarray Datasets with the variables ``params``
    (loadings, weights, paths), ``r2``, ``htmt`` and ``effects``; ``replicates`` has the
    leading dim ``replicate``. ``jackknife`` (dim ``row``) feeds the BCa acceleration.
    """

    result: PLSResult
    replicates: xr.Dataset
    original: xr.Dataset
    jackknife: xr.Dataset | None
    seed: int
    n_requested: int
    sign_change: str
    level: float = 0.95
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    inadmissible: int = 0  # PLSc replicates with |path| > 1 or non-PD construct correlations
    inadmissible_kept: bool = False
    parametric: bool = False  # replicates drawn from the normal with the sample's correlations

    @property
    def n_boot(self) -> int:
        """Number of usable replicates."""
        return self.replicates.sizes["replicate"]

    def interval(self, var: str, *, method: str = "percentile",
                 level: float | None = None) -> tuple[xr.DataArray, xr.DataArray]:
        """Lower and upper interval bounds of a variable (``params``, ``r2``, ``htmt``,
        ``effects``)."""
        level = self.level if level is None else level
        if method not in METHODS:
            raise ValueError(f"unknown interval method {method!r}; expected one of {METHODS}")
        reps = self.replicates[var]
        alpha = (1 - level) / 2
        if reps.size == 0:  # nothing of this kind (a measurement model has no R^2, effects)
            empty = reps.isel(replicate=0, drop=True)
            return empty, empty
        if method == "percentile":
            q = reps.quantile([alpha, 1 - alpha], dim="replicate")
            return q.isel(quantile=0, drop=True), q.isel(quantile=1, drop=True)
        return _bca(reps, self.original[var], self.jackknife[var], alpha)

    def table(self, var: str, *, method: str = "percentile", level: float | None = None) -> pd.DataFrame:
        """``est, mean, se, ci.lower, ci.upper`` per element of a variable."""
        reps = self.replicates[var]
        lo, hi = self.interval(var, method=method, level=level)
        dim = [d for d in reps.dims if d != "replicate"][0]
        out = pd.DataFrame({"est": self.original[var].values,
                            "mean": reps.mean("replicate").values,
                            "se": reps.std("replicate", ddof=1).values,
                            "ci.lower": lo.values, "ci.upper": hi.values},
                           index=pd.Index(reps[dim].values, name=dim))
        return out

    def parameters(self, *, method: str = "percentile", level: float | None = None) -> pd.DataFrame:
        """lavaan-style table ``lhs, op, rhs, est, se, ci.lower, ci.upper`` (loadings,
        weights, paths, R^2)."""
        cols = ["est", "se", "ci.lower", "ci.upper"]
        p = self.table("params", method=method, level=level)
        par = self.original["params"]
        a = pd.DataFrame({"lhs": par.lhs.values, "op": par.op.values, "rhs": par.rhs.values})
        a[cols] = p[cols].to_numpy()
        r = self.table("r2", method=method, level=level)
        b = pd.DataFrame({"lhs": r.index, "op": "r2", "rhs": r.index})
        b[cols] = r[cols].to_numpy()
        return pd.concat([a, b], ignore_index=True)

    def effects(self, *, method: str = "percentile", level: float | None = None) -> pd.DataFrame:
        """``effect, kind, source, target, est, se, ci.lower, ci.upper``."""
        t = self.table("effects", method=method, level=level)
        fx = self.original["effects"]
        out = pd.DataFrame({"effect": fx.effect.values, "kind": fx.kind.values,
                            "source": fx.source.values, "target": fx.target.values})
        out[["est", "se", "ci.lower", "ci.upper"]] = t[["est", "se", "ci.lower", "ci.upper"]].to_numpy()
        return out

    def htmt(self, *, method: str = "percentile", level: float | None = None) -> pd.DataFrame:
        """``construct1, construct2, htmt, se, ci.lower, ci.upper`` (one row per pair)."""
        if self.original.sizes.get("pair", 0) == 0:
            return pd.DataFrame(columns=["construct1", "construct2", "htmt", "se", "ci.lower",
                                         "ci.upper"])
        t = self.table("htmt", method=method, level=level)
        h = self.original["htmt"]
        out = pd.DataFrame({"construct1": h.construct1.values, "construct2": h.construct2.values,
                            "htmt": t["est"].values})
        out[["se", "ci.lower", "ci.upper"]] = t[["se", "ci.lower", "ci.upper"]].to_numpy()
        return out


def bootstrap_pls(result: PLSResult, n_boot: int = 5000, *, seed: int | None = None,
                  sign_change: str = "none", level: float = 0.95, bca: bool = True,
                  chunk: int = 1000, progress: bool | Callable[[int, int], None] = False,
                  inadmissible: str = "exclude", parametric: bool = False) -> PLSBootstrap:
    """Bootstrap a PLS result: ``n_boot`` replicates drawn with ``seed`` (recorded; drawn
    from the OS when None), with the result's scheme, PLSc setting and stop criterion.

    ``progress``: True prints a progress line to stderr; a callable gets (done, total).
    Replicates that fail (a constant column, a singular formative block, no convergence, or
    under PLSc a rho_A that is not positive) are dropped with a
    :class:`~connective.pls.errors.BootstrapWarning`; the count is ``failed``. Inadmissible
    PLSc replicates (a standardised path beyond +-1, construct correlations that are not
    positive definite) are counted (``inadmissible``), reported with a BootstrapWarning and,
    by default, excluded from the intervals; ``inadmissible="keep"`` keeps them.

    ``parametric=True`` draws each replicate's correlation matrix as that of N rows from the
    normal distribution with the sample's correlations (a Wishart draw) instead of
    resampling rows: the bootstrap of a study known only by its printed matrix (moment-
    matched rows, :mod:`connective.data.summary`); it has no jackknife, so no BCa.

    Example
    -------
    >>> from connective.pls import estimate_pls, example_data
    >>> spec, frame = example_data()
    >>> boot = bootstrap_pls(estimate_pls(spec, frame), n_boot=200, seed=3, sign_change="construct")
    >>> boot.n_boot, boot.effects()["kind"].tolist()
    (200, ['direct', 'total'])
    """
    if sign_change not in SIGN_CHANGES:
        raise ValueError(f"unknown sign_change {sign_change!r}; expected one of {SIGN_CHANGES}")
    n_boot = int(n_boot)
    if n_boot < 2:
        raise ValueError("n_boot must be at least 2")
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    if parametric and bca:
        raise ValueError("a parametric bootstrap has no jackknife: BCa intervals need rows "
                         "(use percentile intervals, --ci percentile)")
    interacting = result.model.interaction is not None
    if parametric and interacting:
        raise ValueError("a parametric bootstrap draws correlation matrices, which cannot "
                         "carry product terms (their moments need rows): bootstrap the "
                         "respondents' rows")
    rng = np.random.default_rng(seed)
    X = result.data.X
    n, p = X.shape
    XX = (None if parametric or interacting else
          (X[:, :, None] * X[:, None, :]).reshape(n, p * p))
    draw = _parametric_draws(X, result.model.data_model.columns) if parametric else None
    opts = dict(scheme=result.settings["scheme"], consistent=result.settings["consistent"],
                tol=result.settings["tol"], max_iter=result.settings["max_iter"])
    align = result.fit["loadings"] if sign_change == "construct" else None
    report = _reporter(progress, n_boot)
    parts, failed = [], 0
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        if parametric:  # (no product terms: refused above)
            R, sds = draw(rng, b), None
        else:
            idx = rng.integers(0, n, size=(b, n))
            counts = np.bincount((idx + n * np.arange(b)[:, None]).ravel(),
                                 minlength=b * n).reshape(b, n).astype(float)
            R, sds = _model_correlations(result, counts, X, XX, opts)
        stats, ok = _replicate_stats(result, R, opts, align, column_sd=sds)
        failed += int((~ok).sum())
        parts.append(stats)
        done += b
        report(done)
    reps = {k: np.concatenate([s[k] for s in parts]) for k in parts[0]}
    bad = ~reps.pop("admissible")
    if bad.any():
        worst = np.nanmax(np.abs(reps["params"][bad][:, _path_positions(result)]), initial=0)
        keep = inadmissible == "keep"
        warnings.warn(f"{int(bad.sum())} of {len(bad)} PLSc bootstrap replicates "
                      f"({bad.mean():.1%}) are inadmissible (a standardised path beyond +-1, "
                      f"largest |path| {worst:.2f}, or construct correlations that are not "
                      "positive definite) and were "
                      + ("kept in the intervals (--inadmissible keep)" if keep else
                         "excluded from the intervals (--inadmissible keep keeps them)"),
                      BootstrapWarning, stacklevel=2)
        if not keep:
            reps = {k: v[~bad] for k, v in reps.items()}
    if failed:
        reasons = "a constant column, a singular formative block, no convergence"
        if result.settings["consistent"]:
            reasons += " or a PLSc reliability rho_A that is not positive"
        warnings.warn(f"{failed} of {n_boot} bootstrap replicates failed ({reasons}) and were "
                      "dropped", BootstrapWarning, stacklevel=2)
    original = _collect(result, {k: v[None] for k, v in _point_stats(result).items()})
    if sign_change == "individual":
        sign = np.sign(original["params"].values)
        reps["params"] = np.abs(reps["params"]) * np.where(sign == 0, 1.0, sign)
    replicates = _collect(result, reps, dim="replicate")
    jack = None
    if bca:
        R, sds = _model_correlations(result, 1.0 - np.eye(n), X, XX, opts)
        stats, ok = _replicate_stats(result, R, opts, align, keep_failed=True, column_sd=sds)
        if sign_change == "individual":
            sign = np.sign(original["params"].values)
            stats["params"] = np.abs(stats["params"]) * np.where(sign == 0, 1.0, sign)
        stats.pop("admissible")
        jack = _collect(result, stats, dim="row")
    original = original.isel(_=0, drop=True)
    return PLSBootstrap(result=result, replicates=replicates, original=original, jackknife=jack,
                        parametric=parametric,
                        seed=seed, n_requested=n_boot, sign_change=sign_change, level=level,
                        failed=failed, inadmissible=int(bad.sum()),
                        inadmissible_kept=inadmissible == "keep")


def _parametric_draws(X: np.ndarray, columns) -> Callable:
    """``draw(rng, b)``: ``b`` correlation matrices of N rows from the normal distribution
    with the correlations of ``X`` (N rows; ``columns`` names them: an indicator used by two
    blocks appears twice and is drawn once)."""
    from scipy.stats import wishart

    n = X.shape[0]
    first = {c: i for i, c in reversed(list(enumerate(columns)))}  # first use of each
    unique = list(first.values())
    R = np.corrcoef(X[:, unique], rowvar=False)
    expand = np.array([unique.index(first[c]) for c in columns])

    def draw(rng: np.random.Generator, b: int) -> np.ndarray:
        W = wishart.rvs(df=n - 1, scale=R, size=b, random_state=rng).reshape(b, *R.shape)
        sd = np.sqrt(np.diagonal(W, axis1=1, axis2=2))
        C = W / (sd[:, :, None] * sd[:, None, :])
        return C[:, expand[:, None], expand[None, :]]

    return draw


def _model_correlations(result: PLSResult, counts: np.ndarray, X: np.ndarray, XX, opts: dict
                        ) -> tuple[np.ndarray, dict | None]:
    """Correlations of the model's columns for row ``counts (b, n)``, and for a model with
    product terms the SDs of its product columns (pls.interaction: the products, and
    two-stage's stage one, are rebuilt from each replicate's rows)."""
    if result.model.interaction is None:
        return _correlations(counts, X, XX), None
    moments = augmented_correlations(result.model, X, counts, scheme=opts["scheme"],
                                     tol=opts["tol"], max_iter=opts["max_iter"])
    return moments.R, moments.column_sd


def _correlations(counts: np.ndarray, X: np.ndarray, XX: np.ndarray) -> np.ndarray:
    """Correlation matrices of the data weighted by row counts ``(b, n)`` -> ``(b, p, p)``."""
    p = X.shape[1]
    total = counts.sum(axis=1)[:, None]
    mean = counts @ X / total
    second = (counts @ XX).reshape(-1, p, p) / total[:, :, None]
    cov = second - mean[:, :, None] * mean[:, None, :]
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        return cov / (sd[:, :, None] * sd[:, None, :])


def _point_stats(result: PLSResult) -> dict[str, np.ndarray]:
    stats = _stats_from_fit(result, result.fit)
    stats.pop("admissible")
    return stats


def _path_positions(result: PLSResult) -> np.ndarray:
    """Where the structural paths stand among the ``params`` values."""
    _, _, op, _ = parameter_layout(result.model)
    return np.flatnonzero(np.asarray(op) == "~")


def _admissible(fit: dict, consistent: bool) -> np.ndarray:
    """PLSc replicates whose standardised paths lie within +-1 and whose construct
    correlations are positive definite (PLS composites always are)."""
    B, C = fit["paths"], fit["corr"]
    if not consistent:
        return np.ones(B.shape[:-2], dtype=bool)
    finite = np.all(np.isfinite(C), axis=(-2, -1))
    smallest = np.linalg.eigvalsh(np.where(finite[..., None, None], C, np.eye(C.shape[-1])))
    return np.all(np.abs(B) <= 1, axis=(-2, -1)) & finite & (smallest[..., 0] > 0)


def _stats_from_fit(result: PLSResult, fit: dict) -> dict[str, np.ndarray]:
    m = result.model
    pairs = _htmt_pairs(result)
    endo = m.endogenous
    h = fit["htmt"]
    return {"params": parameter_values(fit, m),
            "admissible": _admissible(fit, result.settings["consistent"]),
            "r2": fit["r2"][..., endo],
            "htmt": np.stack([h[..., i, j] for i, j in pairs], axis=-1) if pairs
            else np.zeros(h.shape[:-2] + (0,))}


def _replicate_stats(result: PLSResult, R: np.ndarray, opts: dict, align, *,
                     keep_failed: bool = False, column_sd: dict | None = None
                     ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Statistics of the replicates whose correlation matrices are usable; failed replicates
    are dropped (or kept as NaN with ``keep_failed``). ``column_sd``: the SDs of a product
    model's product columns per replicate, which scale its product paths."""
    m = result.model
    ok = np.all(np.isfinite(R), axis=(1, 2))
    for j in range(m.n_constructs if m.stage_one is None else 0):  # R: the model's columns
        if m.modes[j] == "B":
            idx = m.block_columns(j)
            sub = np.where(ok[:, None, None], R[:, idx[:, None], idx[None, :]], np.eye(len(idx)))
            ev = np.linalg.eigvalsh(sub)
            ok &= ev[:, 0] > 1e-10 * np.maximum(ev[:, -1], 1.0)
    Rok = R[ok]

    def scaled(fit: dict, rows) -> dict:
        if column_sd is not None:
            rescale_product_paths(fit, m, {c: v[ok][rows] for c, v in column_sd.items()})
        return fit

    try:
        fit = scaled(fit_correlations(Rok, m, align=align, **opts), slice(None))
        stats = _stats_from_fit(result, fit)
        conv = fit["converged"]
    except np.linalg.LinAlgError:  # a singular inner regression somewhere: one at a time
        stats_list, conv = [], []
        for i, r in enumerate(Rok):
            try:
                f = scaled(fit_correlations(r, m, align=align, **opts), i)
                stats_list.append(_stats_from_fit(result, f))
                conv.append(bool(f["converged"]))
            except np.linalg.LinAlgError:
                stats_list.append(None)
                conv.append(False)
        template = _stats_from_fit(result, result.fit)
        stats = {k: np.stack([s[k] if s is not None else np.full_like(template[k], np.nan)
                              for s in stats_list]) if stats_list
                 else np.zeros((0,) + template[k].shape) for k in template}
        conv = np.asarray(conv, dtype=bool)
    good = conv & np.all(np.isfinite(stats["params"]), axis=-1) & np.all(np.isfinite(stats["r2"]), axis=-1)
    ok_full = ok.copy()
    ok_full[ok] = good
    if keep_failed:
        out = {}
        for k, v in stats.items():
            full = np.full((len(R),) + v.shape[1:], np.nan)
            vv = v.copy()
            vv[~good] = np.nan
            full[ok] = vv
            out[k] = full
        return out, ok_full
    return {k: v[good] for k, v in stats.items()}, ok_full


def _htmt_pairs(result: PLSResult) -> list[tuple[int, int]]:
    elig = htmt_constructs(result.model)
    return [(i, j) for a, i in enumerate(elig) for j in elig[:a]]


def _collect(result: PLSResult, stats: dict[str, np.ndarray], dim: str = "_") -> xr.Dataset:
    """Label replicate statistics: param, r2, htmt and effects (from the paths)."""
    m = result.model
    names, lhs, op, rhs = parameter_layout(m)
    k = stats["params"].shape[0]
    param = xr.DataArray(stats["params"], dims=(dim, "param"),
                         coords={"param": names, "lhs": ("param", lhs), "op": ("param", op),
                                 "rhs": ("param", rhs)})
    endo = [m.constructs[j] for j in m.endogenous]
    r2 = xr.DataArray(stats["r2"], dims=(dim, "construct"), coords={"construct": endo})
    pairs = _htmt_pairs(result)
    c1 = [m.constructs[i] for i, _ in pairs]
    c2 = [m.constructs[j] for _, j in pairs]
    htmt = xr.DataArray(stats["htmt"], dims=(dim, "pair"),
                        coords={"pair": [f"{a}-{b}" for a, b in zip(c1, c2)],
                                "construct1": ("pair", c1), "construct2": ("pair", c2)})
    fx = effects_of(result.spec, param.drop_vars(["lhs", "op", "rhs"]))
    if k == 0:
        fx = fx.isel({dim: slice(0, 0)}) if dim in fx.dims else fx
    return xr.Dataset({"params": param, "r2": r2, "htmt": htmt, "effects": fx})


def _bca(reps: xr.DataArray, est: xr.DataArray, jack: xr.DataArray | None,
         alpha: float) -> tuple[xr.DataArray, xr.DataArray]:
    """Bias-corrected and accelerated interval bounds."""
    if jack is None:
        raise ValueError("BCa intervals need the jackknife; bootstrap with bca=True")
    dim = [d for d in reps.dims if d != "replicate"][0]
    R = reps.transpose("replicate", dim).values
    theta = est.values
    J = jack.transpose("row", dim).values
    with np.errstate(divide="ignore", invalid="ignore"):
        z0 = norm.ppf(np.mean(R < theta, axis=0))
        jm = np.nanmean(J, axis=0)
        d = jm - J
        a = np.nansum(d**3, axis=0) / (6 * np.nansum(d**2, axis=0) ** 1.5)
        a = np.where(np.isfinite(a), a, 0.0)
        bounds = []
        for q in (alpha, 1 - alpha):
            z = norm.ppf(q)
            adj = norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
            vals = np.full(theta.shape, np.nan)
            for i in range(len(theta)):
                if np.isfinite(adj[i]):
                    vals[i] = np.quantile(R[:, i], adj[i])
            bounds.append(vals)
    coords = {dim: reps[dim]}
    coords.update({c: reps[c] for c in reps.coords if c != dim and reps[c].dims == (dim,)})
    return tuple(xr.DataArray(b, dims=dim, coords=coords) for b in bounds)


def _reporter(progress, total: int, label: str = "bootstrap") -> Callable[[int], None]:
    """A progress line on stderr (``progress`` True), a callable's (done, total), or nothing;
    the permutation and prediction loops of pls/ use it with their own ``label``."""
    if callable(progress):
        return lambda done: progress(done, total)
    if progress:  # a bar in a terminal, timestamped lines in a log
        from connective.progress import counter
        return counter(label, total)
    return lambda done: None
