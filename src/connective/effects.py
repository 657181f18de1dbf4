"""The effects algebra: direct, specific indirect, total indirect, total and defined effects.

Everything is a function of the structural coefficients B (``B[y, x]`` = effect of x on y:
the regressions and the loadings of structural indicators, :attr:`ModelSpec.arrows`)
and, for ``:=`` parameters, of the labelled parameters. Inputs carry any leading dimensions
(posterior ``chain, draw``, bootstrap ``replicate`` or none) and a ``param`` dimension whose
coordinates are parameter names as in the parameter table (``CI~IS``); the result has the
same leading dimensions and an ``effect`` dimension with the coordinates ``kind`` (direct,
indirect, total_indirect, total, defined), ``source`` and ``target``. Posterior draws and
bootstrap replicates go through this one code path.

Identity used and tested: total = (I - B)^-1 - I, and total - direct = the sum of the
specific indirect effects (for recursive models).

Example
-------
>>> from connective.spec import parse_model
>>> spec = parse_model("M ~ a*X\\nY ~ b*M + cp*X\\nind := a*b")
>>> fx = compute_effects(spec, {"M~X": 0.5, "Y~M": 0.4, "Y~X": 0.2})
>>> fx.sel(effect="X -> M -> Y").item(), fx.sel(effect="total X -> Y").item()
(0.2, 0.4)
>>> fx.sel(effect="ind").kind.item()
'defined'
"""

from __future__ import annotations

import warnings
from typing import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from connective.errors import ConnectiveError
from connective.spec import ModelSpec
from connective.spec.expressions import evaluate

EFFECT_KINDS = ("direct", "indirect", "total_indirect", "total", "defined", "mean")


def as_parameter_array(values: xr.DataArray | Mapping[str, float] | pd.Series) -> xr.DataArray:
    """Parameter values as a DataArray with a ``param`` dimension (last).

    Example
    -------
    >>> as_parameter_array({"M~X": 0.5}).dims
    ('param',)
    """
    if isinstance(values, xr.DataArray):
        if "param" not in values.dims:
            raise ValueError(f"parameter values need a 'param' dimension; got {values.dims}")
        return values.transpose(..., "param")
    series = pd.Series(values, dtype=float)
    return xr.DataArray(series.to_numpy(), coords={"param": list(series.index)}, dims="param")


def parameter_value(spec: ModelSpec, values: xr.DataArray, name: str) -> xr.DataArray | float:
    """Value of one parameter: from ``values`` if given there, else that of a parameter it
    shares a label with (an equality constraint: one value under several names), else its
    fixed value.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("y ~ a*x1 + a*x2")
    >>> float(parameter_value(spec, as_parameter_array({"y~x1": 0.3}), "y~x2"))
    0.3
    """
    if name in values.indexes["param"]:
        return values.sel(param=name, drop=True)
    row = spec.partable[spec.partable["name"] == name]
    if not row.empty and row.iloc[0]["free"] > 0:
        same = spec.partable.loc[spec.partable["free"] == row.iloc[0]["free"], "name"]
        for other in same:
            if other in values.indexes["param"]:
                return values.sel(param=other, drop=True)
    if not row.empty and row.iloc[0]["free"] == 0 and not np.isnan(row.iloc[0]["ustart"]):
        return float(row.iloc[0]["ustart"])
    raise ConnectiveError(f"no value for the free parameter {name!r}; the values have "
                          f"{', '.join(map(str, values.indexes['param']))}")


def structural_matrix(spec: ModelSpec, values) -> xr.DataArray:
    """B with the leading dimensions of ``values`` and dims ``target, source``.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("M ~ X\\nY ~ M")
    >>> structural_matrix(spec, {"M~X": 0.5, "Y~M": 0.4}).sel(target="Y", source="M").item()
    0.4
    """
    values = as_parameter_array(values)
    lead = [d for d in values.dims if d != "param"]
    eta = list(spec.structural)
    shape = tuple(values.sizes[d] for d in lead) + (len(eta), len(eta))
    B = np.zeros(shape)
    index = {v: i for i, v in enumerate(eta)}
    for src, tgt, name in spec.arrows:
        value = parameter_value(spec, values, name)
        if isinstance(value, xr.DataArray) and lead:
            value = value.transpose(*lead)
        B[..., index[tgt], index[src]] = np.asarray(value)  # a fixed arrow: a number
    coords = {d: values.coords[d] for d in lead if d in values.coords}
    coords.update(target=eta, source=eta)
    return xr.DataArray(B, coords=coords, dims=(*lead, "target", "source"))


def total_effects(B: xr.DataArray) -> xr.DataArray:
    """Total effects (I - B)^-1 - I, over any leading dimensions."""
    n = B.sizes["target"]
    inv = np.linalg.inv(np.eye(n) - B.transpose(..., "target", "source").to_numpy())
    return B.copy(data=inv - np.eye(n))


def effect_table(spec: ModelSpec) -> pd.DataFrame:
    """The effects a model has, one row each: ``effect, kind, source, target, path``; the
    free latent means (``mean F``, kind ``mean``: a growth model's mean intercept and slope)
    come last but for the ``:=`` parameters.

    ``path`` holds the variables along a specific indirect effect (a tuple), else None.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> effect_table(parse_model("M ~ X\\nY ~ M + X"))["effect"].tolist()
    ['X -> M', 'X -> Y', 'M -> Y', 'X -> M -> Y', 'total indirect X -> Y', 'total X -> M', \
'total X -> Y', 'total M -> Y']
    """
    rows: list[dict] = []
    order = {v: i for i, v in enumerate(spec.structural)}
    direct = [(s, t) for s, t, _ in spec.arrows]
    pairs = sorted(direct, key=lambda p: (order[p[1]], order[p[0]]))
    for src, tgt in pairs:
        rows.append(dict(effect=f"{src} -> {tgt}", kind="direct", source=src, target=tgt,
                         path=(src, tgt)))
    indirect = spec.indirect_paths()
    indirect.sort(key=lambda p: (order[p[-1]], order[p[0]]))
    for path in indirect:
        rows.append(dict(effect=" -> ".join(path), kind="indirect", source=path[0],
                         target=path[-1], path=path))
    connected = {(p[0], p[-1]) for p in indirect} | set(direct)
    with_indirect = {(p[0], p[-1]) for p in indirect}
    key = lambda p: (order[p[1]], order[p[0]])  # noqa: E731
    for src, tgt in sorted(with_indirect, key=key):
        rows.append(dict(effect=f"total indirect {src} -> {tgt}", kind="total_indirect",
                         source=src, target=tgt, path=None))
    for src, tgt in sorted(connected, key=key):
        rows.append(dict(effect=f"total {src} -> {tgt}", kind="total", source=src, target=tgt,
                         path=None))
    for v in latent_means(spec):  # before the := rows: computed with the structural ones
        rows.append(dict(effect=f"mean {v}", kind="mean", source="", target=v, path=None))
    for name in spec.defined:
        rows.append(dict(effect=name, kind="defined", source="", target="", path=None))
    return pd.DataFrame(rows, columns=["effect", "kind", "source", "target", "path"])


def latent_means(spec: ModelSpec) -> list[str]:
    """The factors whose means (intercepts, ``F~1``) are free parameters: written ``F ~ 1``
    or freed by ``int.lv.free`` / ``growth`` (the growth factors' means are what a growth
    model is about), in structural order.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> latent_means(parse_model("i =~ 1*t1 + 1*t2 + 1*t3\\ns =~ 0*t1 + 1*t2 + 2*t3",
    ...                          options={"growth": True}))
    ['i', 's']
    """
    table = spec.partable
    written = table[(table["op"] == "~1") & table["lhs"].isin(spec.latent)]
    free = set(written.loc[written["free"] > 0, "lhs"])
    if spec.options.latent_means_free:
        free |= set(spec.latent) - set(written["lhs"])
    return [v for v in spec.structural if v in free]


def defined_parameters(spec: ModelSpec, values) -> xr.DataArray:
    """The ``:=`` parameters evaluated on ``values`` (dims: leading, ``effect``)."""
    values = as_parameter_array(values)
    env: dict[str, object] = {}
    for label, names in spec.labels.items():
        env[label] = parameter_value(spec, values, names[0])
    results = []
    for name, expr in spec.defined.items():
        env[name] = evaluate(expr, env)
        results.append(xr.DataArray(env[name]) if np.isscalar(env[name]) else env[name])
    lead = values.isel(param=0, drop=True)
    results = [xr.broadcast(r, lead)[0] for r in results]
    out = xr.concat(results, dim="effect")
    return out.assign_coords(effect=np.array(list(spec.defined), dtype=str))


def compute_effects(spec: ModelSpec, values, *, kinds: tuple[str, ...] = EFFECT_KINDS) -> xr.DataArray:
    """Every effect of the model, labelled, over the leading dimensions of ``values``.

    ``values``: a DataArray with a ``param`` dimension (plus e.g. ``chain, draw`` or
    ``replicate``), or a mapping / Series of parameter name -> value. Free structural
    parameters must be present; fixed ones come from the model.

    A model without regressions or ``:=`` parameters (a CFA) has no effects: the result's
    ``effect`` dimension is empty (see :func:`no_effects_reason`).

    Example
    -------
    >>> import xarray as xr
    >>> from connective.spec import parse_model
    >>> spec = parse_model("M ~ a*X\\nY ~ b*M")
    >>> draws = xr.DataArray([[0.5, 0.4], [0.6, 0.5]], dims=("draw", "param"),
    ...                      coords={"param": ["M~X", "Y~M"]})
    >>> compute_effects(spec, draws).sel(effect="X -> M -> Y").values.round(3).tolist()
    [0.2, 0.3]
    """
    unknown = set(kinds) - set(EFFECT_KINDS)
    if unknown:
        raise ValueError(f"unknown effect kinds {sorted(unknown)}; expected {EFFECT_KINDS}")
    values = as_parameter_array(values)
    table = effect_table(spec)
    table = table[table["kind"].isin(kinds)].reset_index(drop=True)
    B = structural_matrix(spec, values)
    Bn = B.transpose(..., "target", "source").to_numpy()
    T = total_effects(B).transpose(..., "target", "source").to_numpy()
    index = {v: i for i, v in enumerate(spec.structural)}
    columns = []
    for row in table.itertuples():
        if row.kind == "defined":
            continue
        if row.kind == "mean":
            columns.append(np.broadcast_to(np.asarray(parameter_value(
                spec, values, f"{row.target}~1")), Bn.shape[:-2]))
            continue
        s, t = index[row.source], index[row.target]
        if row.kind == "direct":
            columns.append(Bn[..., t, s])
        elif row.kind == "indirect":
            prod = np.ones(Bn.shape[:-2])
            for a, b in zip(row.path[:-1], row.path[1:]):
                prod = prod * Bn[..., index[b], index[a]]
            columns.append(prod)
        elif row.kind == "total":
            columns.append(T[..., t, s])
        else:  # total_indirect
            columns.append(T[..., t, s] - Bn[..., t, s])
    lead = [d for d in B.dims if d not in ("target", "source")]
    structural_rows = table[table["kind"] != "defined"]  # (latent means among them)
    coords = {d: B.coords[d] for d in lead if d in B.coords}
    parts = []
    if columns:
        parts.append(xr.DataArray(np.stack(columns, axis=-1), dims=(*lead, "effect"),
                                  coords={**coords, "effect": np.array(structural_rows["effect"], dtype=str)}))
    if "defined" in kinds and spec.defined:
        parts.append(defined_parameters(spec, values).transpose(*lead, "effect"))
    if not parts:  # a measurement model (CFA): no paths, no := parameters
        parts.append(xr.DataArray(np.zeros((*B.shape[:-2], 0)), dims=(*lead, "effect"),
                                  coords={**coords, "effect": np.array([], dtype=str)}))
    out = xr.concat(parts, dim="effect") if len(parts) > 1 else parts[0]
    return out.assign_coords(kind=("effect", table["kind"].tolist()),
                             source=("effect", table["source"].tolist()),
                             target=("effect", table["target"].tolist()))


def no_effects_reason(spec: ModelSpec) -> str:
    """The sentence an empty effects table carries ('' when the model has effects).

    Example
    -------
    >>> from connective.spec import parse_model
    >>> no_effects_reason(parse_model("F =~ a + b + c\\nG =~ d + e + f"))
    'No effects: the model has no regressions and no := parameters (a measurement model), so its results are the loadings and the factor (co)variances.'
    """
    if spec.paths or spec.defined:
        return ""
    return ("No effects: the model has no regressions and no := parameters (a measurement "
            "model), so its results are the loadings and the factor (co)variances.")


# -- population averages over groups ---------------------------------------------------------

def effect_polynomials(spec: ModelSpec) -> dict[str, dict]:
    """Every effect of :func:`effect_table` as a polynomial in parameter names (monomial:
    sorted tuple of names -> coefficient); fixed parameters enter as numbers. Effects that
    are not polynomials (a ``:=`` with a function, say) are left out.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> polys = effect_polynomials(parse_model("M ~ a*X\\nY ~ b*M + cp*X"))
    >>> polys["total X -> Y"]
    {('Y~X',): 1.0, ('M~X', 'Y~M'): 1.0}
    """
    from connective.spec.expressions import NotPolynomial, expand_polynomial, poly_add, poly_mul

    free = set(spec.partable.loc[spec.partable["free"] > 0, "name"])

    def symbol(name: str) -> dict:
        if name in free:
            return {(name,): 1.0}
        return {(): float(parameter_value(spec, as_parameter_array({}), name))}

    arrow = {(s, t): name for s, t, name in spec.arrows}

    def product(path) -> dict:
        out = {(): 1.0}
        for a, b in zip(path[:-1], path[1:]):
            out = poly_mul(out, symbol(arrow[(a, b)]))
        return out

    table = effect_table(spec)
    polys: dict[str, dict] = {}
    indirect: dict[tuple, dict] = {}
    for row in table.itertuples():
        if row.kind in ("direct", "indirect"):
            polys[row.effect] = product(row.path)
            if row.kind == "indirect":
                key = (row.source, row.target)
                indirect[key] = poly_add(indirect.get(key, {}), polys[row.effect])
        elif row.kind == "total_indirect":
            polys[row.effect] = indirect[(row.source, row.target)]
        elif row.kind == "total":
            key = (row.source, row.target)
            direct = product((row.source, row.target)) if key in arrow else {}
            polys[row.effect] = poly_add(direct, indirect.get(key, {}))
    env = {label: symbol(names[0]) for label, names in spec.labels.items()}
    for name, expr in spec.defined.items():
        if any(n not in env for n in expr.names()):
            continue  # uses a definition that is not a polynomial: not one either
        try:
            env[name] = polys[name] = expand_polynomial(expr, env)
        except NotPolynomial:
            pass
    return polys


def _gaussian_moment(monomial: tuple[int, ...], mean: np.ndarray, cov, memo: dict):
    """E[x_i1 ... x_ik] for jointly normal x (Isserlis): mean (..., P), ``cov(i, j)`` a
    function returning (..., ) arrays or None when the pair is uncorrelated."""
    if not monomial:
        return 1.0
    if monomial in memo:
        return memo[monomial]
    first, rest = monomial[0], monomial[1:]
    out = mean[..., first] * _gaussian_moment(rest, mean, cov, memo)
    for j, other in enumerate(rest):
        c = cov(first, other)
        if c is not None:
            out = out + c * _gaussian_moment(rest[:j] + rest[j + 1:], mean, cov, memo)
    memo[monomial] = out
    return out


def population_effects(spec: ModelSpec, mean: xr.DataArray, cov: xr.DataArray) -> xr.DataArray:
    """The population-average effects of a hierarchical model: each effect's expectation
    over groups whose varying parameters are jointly normal with ``mean`` (dims: leading,
    ``param``) and covariance ``cov`` (dims: leading, ``varying``, ``varying_``; parameters
    not in it do not vary). For a product of two varying paths this is
    ``mu_a mu_b + cov(a, b)``, not ``mu_a mu_b``; longer chains follow Isserlis' theorem.
    Not valid for non-recursive models (their total effects are not polynomials).

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("M ~ a*X\\nY ~ b*M + cp*X")
    >>> mean = as_parameter_array({"M~X": 0.5, "Y~M": 0.4, "Y~X": 0.1})
    >>> cov = xr.DataArray([[0.04, 0.01], [0.01, 0.04]], dims=("varying", "varying_"),
    ...                    coords={"varying": ["M~X", "Y~M"], "varying_": ["M~X", "Y~M"]})
    >>> round(float(population_effects(spec, mean, cov).sel(effect="X -> M -> Y")), 6)
    0.21
    """
    mean = as_parameter_array(mean)
    lead = [d for d in mean.dims if d != "param"]
    names = list(mean.indexes["param"])
    pos = {n: i for i, n in enumerate(names)}
    m = mean.transpose(*lead, "param").to_numpy()
    varying = list(cov.indexes["varying"])
    vpos = {n: i for i, n in enumerate(varying)}
    C = cov.transpose(*lead, "varying", "varying_").to_numpy()

    def covariance(i: int, j: int):
        a, b = vpos.get(names[i]), vpos.get(names[j])
        return None if a is None or b is None else C[..., a, b]

    table = effect_table(spec)
    polys = effect_polynomials(spec)
    skipped = [e for e in table["effect"] if e not in polys]
    if skipped:
        warnings.warn(f"{spec.source}: the population average of {', '.join(skipped)} is not "
                      "computed (not a polynomial of the parameters, e.g. a ratio or a "
                      "function): its column is NaN; the groups' own values are in the group "
                      "effects", UserWarning, stacklevel=2)
    memo: dict = {}
    shape = m.shape[:-1]
    columns = []
    for effect in table["effect"]:
        poly = polys.get(effect)
        total = np.full(shape, np.nan)
        if poly is not None:
            total = np.zeros(shape)
            for monomial, coef in poly.items():
                missing = [s for s in monomial if s not in pos]
                if missing:
                    raise ConnectiveError(f"{spec.source}: no draws of {missing[0]!r}, which the "
                                          f"effect {effect!r} uses; pass every free parameter")
                key = tuple(sorted(pos[s] for s in monomial))
                total = total + coef * _gaussian_moment(key, m, covariance, memo)
        columns.append(total)
    coords = {d: mean.coords[d] for d in lead if d in mean.coords}
    out = xr.DataArray(np.stack(columns, axis=-1), dims=(*lead, "effect"),
                       coords={**coords, "effect": np.array(table["effect"], dtype=str)})
    return out.assign_coords(kind=("effect", table["kind"].tolist()),
                             source=("effect", table["source"].tolist()),
                             target=("effect", table["target"].tolist()))
