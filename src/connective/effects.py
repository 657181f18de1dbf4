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


# -- conditional process analysis (moderation) ------------------------------------------------

#: kinds of the rows :func:`conditional_effects` adds to the effects
CONDITIONAL_KINDS = ("conditional_direct", "conditional_indirect", "index_moderation",
                     "index_moderated_mediation", "conditional_difference")
#: the default moderator values: the mean and one SD either side (Hayes 2018)
DEFAULT_LEVELS = (("-1 SD", -1.0), ("mean", 0.0), ("+1 SD", 1.0))


def moderated_arrows(spec: ModelSpec) -> dict[str, list[tuple[str, str, str, float]]]:
    """Per moderator W, the arrows it moderates as ``(source, target, product parameter,
    factor)``: ``Y ~ X + W + X:W`` makes W (the second factor) the moderator of X -> Y with
    factor 1; a quadratic ``Y ~ X + X^2`` makes X the moderator of its own arrow with
    factor 2 (the slope of ``c X^2`` is ``2 c X``). Write the focal predictor first.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> moderated_arrows(parse_model("M ~ X + W + X:W\\nY ~ M + X + X^2"))
    {'W': [('X', 'M', 'M~X:W', 1.0)], 'X': [('X', 'Y', 'Y~X:X', 2.0)]}
    """
    out: dict[str, list[tuple[str, str, str, float]]] = {}
    for i in spec.interactions:
        out.setdefault(i.b, []).append((i.a, i.outcome, i.name, 2.0 if i.a == i.b else 1.0))
    return out


def _lead_values(x, lead: list[str], shape: tuple[int, ...]) -> np.ndarray:
    """A number or a DataArray over (some of) the leading dims as an array of ``shape``."""
    if isinstance(x, xr.DataArray):
        missing = [d for d in x.dims if d not in lead]
        if missing:
            raise ConnectiveError(f"moderator mean/SD has the dimension(s) {missing}, which "
                                  f"the parameter values do not have ({lead})")
        x = x.expand_dims([d for d in lead if d not in x.dims]).transpose(*lead)
        return np.broadcast_to(x.to_numpy(), shape)
    return np.broadcast_to(np.asarray(float(x)), shape)


def _moderated_paths(spec: ModelSpec, w: str, arrows: set[tuple[str, str]],
                     edges: list[tuple[str, str, str, float]]) -> list[tuple[str, ...]]:
    """Directed paths (of one or more arrows) that use an arrow moderated by ``w`` (its
    ``edges``, as :func:`moderated_arrows` gives them) and do not pass through ``w`` (it is
    held at a value); ``w`` may start the path only when it moderates its own arrow (a
    quadratic term)."""
    moderated = {(s, t) for s, t, _, _ in edges}
    children: dict[str, list[str]] = {}
    for s, t in sorted(arrows | moderated, key=lambda a: (spec.structural.index(a[1]),)):
        children.setdefault(s, []).append(t)
    found: list[tuple[str, ...]] = []

    def walk(path: tuple[str, ...]) -> None:
        for child in children.get(path[-1], []):
            if child in path or child == w:
                continue
            new = path + (child,)
            if any(edge in moderated for edge in zip(new[:-1], new[1:])):
                found.append(new)
            walk(new)

    for start in spec.structural:
        if start != w or any(s == w for s, _ in moderated):  # a quadratic starts at w
            walk((start,))
    order = {v: k for k, v in enumerate(spec.structural)}
    found.sort(key=lambda p: (order[p[-1]], order[p[0]], len(p)))
    return found


def conditional_effects(spec: ModelSpec, values, *, moderators: Mapping | None = None,
                        at: Mapping | None = None, moderated: Mapping | None = None
                        ) -> xr.DataArray:
    """Conditional process analysis of the model's product terms, over the leading dims of
    ``values`` (posterior draws, bootstrap replicates or none), as effect rows.

    ``values``: parameter values with a ``param`` dim (as for :func:`compute_effects`),
    among them the product terms' coefficients (``Y~X:W``, the names of
    :attr:`ModelSpec.interactions`). The coefficient of a product is that of the product of
    the two variables as they are (not of a standardised product): the effect of X on Y at
    W = w is ``b_X + b_XW * w``. PLS gives it so (seminr's scale; pls.interaction).

    ``moderators``: per moderator W, ``(mean, sd)``: numbers, or DataArrays over the leading
    dims (a latent moderator's mean and SD per posterior draw); default ``(0, 1)``
    (standardised scores, as PLS's). ``at``: per moderator, the values to condition on, in
    W's metric; default the mean and one SD either side. A second moderator of the same
    path is held at its mean. ``moderated``: per moderator, the arrows it moderates, as
    :func:`moderated_arrows` gives them (its default: the model's product terms); a
    hierarchical model's cross-level moderation passes the varying paths shifted by its
    group-level predictor, with the predictor's coefficients among ``values``
    (:func:`connective.bayes.group_results.cross_level_effects`).

    For the engines: PLS calls it with the bootstrap replicates of its paths and the
    default ``(0, 1)`` (:func:`connective.pls.results.effects_of`); a Bayesian fit calls
    ``with_conditional_effects(spec, compute_effects(spec, draws), draws,
    moderators={"W": (mean_draws, sd_draws)})`` with its parameter draws (dims ``chain,
    draw, param``) and the latent moderator's mean and SD per draw (dims ``chain, draw``),
    or, for standardised effects, its std.all draws with the product's coefficient in the
    standardised metric and ``(0, 1)``. The rows and their names are the same for both,
    so reports and comparisons set them side by side.

    Rows (dim ``effect``, coords ``kind``, ``source``, ``target``, ``moderator``, ``at``):

    * ``conditional_direct`` ``X -> Y | W = +1 SD``: the moderated arrow at W = value;
    * ``conditional_indirect`` ``X -> M -> Y | W = +1 SD``: the product of the path's
      arrows at W = value, for every path through a moderated arrow;
    * ``index_moderation`` ``index of moderation X -> Y by W``: the change of the direct
      effect per unit of W (the product's coefficient; twice it for a quadratic);
    * ``index_moderated_mediation`` ``index of moderated mediation X -> M -> Y by W``
      (Hayes 2015): the slope of the indirect effect in W, ``a3 * b1`` for first-stage,
      ``a1 * b3`` for second-stage moderation; when W moderates two arrows of the path
      (both stages) the indirect effect is quadratic in W and its slope depends on W: one
      row per value (``... by W | W = +1 SD``);
    * ``conditional_difference`` ``X -> M -> Y | W: +1 SD - -1 SD``: the difference of the
      conditional indirect effects at the highest and lowest value (the test of moderated
      mediation that holds for nonlinear cases too).

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("M ~ X + W + X:W\\nY ~ M + X")
    >>> v = {"M~X": 0.5, "M~W": 0.1, "M~X:W": 0.2, "Y~M": 0.4, "Y~X": 0.1}
    >>> fx = conditional_effects(spec, v)
    >>> round(fx.sel(effect="X -> M -> Y | W = +1 SD").item(), 6)
    0.28
    >>> round(fx.sel(effect="index of moderated mediation X -> M -> Y by W").item(), 6)
    0.08
    """
    values = as_parameter_array(values)
    lead = [d for d in values.dims if d != "param"]
    shape = tuple(values.sizes[d] for d in lead)
    coords = {d: values.coords[d] for d in lead if d in values.coords}
    moderators = dict(moderators or {})
    at = dict(at or {})
    by_w = dict(moderated) if moderated is not None else moderated_arrows(spec)
    unknown = [w for w in list(moderators) + list(at) if w not in by_w]
    if unknown:
        raise ConnectiveError(f"{', '.join(sorted(set(unknown)))}: not a moderator of "
                              f"{spec.source}; its product terms are moderated by "
                              f"{', '.join(by_w) or 'nothing (no product terms)'}")
    B = structural_matrix(spec, values).transpose(*lead, "target", "source")
    Bn, index = B.to_numpy(), {v: k for k, v in enumerate(spec.structural)}
    arrows = {(s, t) for s, t, _ in spec.arrows}
    mean_sd = {w: tuple(_lead_values(x, lead, shape) for x in moderators.get(w, (0.0, 1.0)))
               for w in by_w}
    rows: list[tuple[str, str, str, str, str, str, np.ndarray]] = []

    def coefficient(s: str, t: str, w: str, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Arrow s -> t with w at ``value`` (other moderators at their means), and its
        slope in w."""
        base = Bn[..., index[t], index[s]] if (s, t) in arrows else np.zeros(shape)
        slope = np.zeros(shape)
        for z, edges in by_w.items():
            for a, o, name, factor in edges:
                if (a, o) != (s, t):
                    continue
                c = np.asarray(parameter_value(spec, values, name).transpose(*lead)
                               if lead else parameter_value(spec, values, name))
                if z == w:
                    base, slope = base + factor * c * value, slope + factor * c
                else:
                    base = base + factor * c * mean_sd[z][0]
        return base, slope

    for w in by_w:
        mean, sd = mean_sd[w]
        if w in at:
            levels = [(f"{float(v):g}", np.broadcast_to(np.asarray(float(v)), shape))
                      for v in at[w]]
        else:
            levels = [(label, mean + k * sd) for label, k in DEFAULT_LEVELS]
        for path in _moderated_paths(spec, w, arrows, by_w[w]):
            edges = list(zip(path[:-1], path[1:]))
            name = " -> ".join(path)
            x, y = path[0], path[-1]
            direct = len(edges) == 1
            kind = "conditional_direct" if direct else "conditional_indirect"
            effects = []
            for label, value in levels:
                parts = [coefficient(s, t, w, value) for s, t in edges]
                effect = np.prod([p[0] for p in parts], axis=0)
                effects.append(effect)
                rows.append((f"{name} | {w} = {label}", kind, x, y, w, label, effect))
            moderated = {(a, o) for a, o, _, _ in by_w[w]}
            moderated_edges = [e for e in edges if e in moderated]
            index_name = ("index of moderation" if direct else
                          "index of moderated mediation") + f" {name} by {w}"
            index_kind = "index_moderation" if direct else "index_moderated_mediation"

            def slope_at(value: np.ndarray) -> np.ndarray:
                parts = [coefficient(s, t, w, value) for s, t in edges]
                total = np.zeros(shape)
                for k, (_, g) in enumerate(parts):
                    others = [p[0] for j, p in enumerate(parts) if j != k]
                    total = total + g * (np.prod(others, axis=0) if others else 1.0)
                return total

            if len(moderated_edges) <= 1:
                rows.append((index_name, index_kind, x, y, w, "", slope_at(mean)))
            else:  # both stages moderated by w: the slope depends on w
                for label, value in levels:
                    rows.append((f"{index_name} | {w} = {label}", index_kind, x, y, w, label,
                                 slope_at(value)))
            if not direct and len(levels) > 1:
                hi, lo = levels[-1][0], levels[0][0]
                rows.append((f"{name} | {w}: {hi} - {lo}", "conditional_difference", x, y, w,
                             f"{hi} - {lo}", effects[-1] - effects[0]))
    data = (np.stack([r[6] for r in rows], axis=-1) if rows
            else np.zeros(shape + (0,)))
    return xr.DataArray(
        data, dims=(*lead, "effect"),
        coords={**coords, "effect": np.array([r[0] for r in rows], dtype=str),
                "kind": ("effect", [r[1] for r in rows]),
                "source": ("effect", [r[2] for r in rows]),
                "target": ("effect", [r[3] for r in rows]),
                "moderator": ("effect", [r[4] for r in rows]),
                "at": ("effect", [r[5] for r in rows])})


def with_conditional_effects(spec: ModelSpec, effects: xr.DataArray, values, **options
                             ) -> xr.DataArray:
    """``effects`` (of :func:`compute_effects`) followed by the :func:`conditional_effects`
    rows when the model has product terms (else ``effects`` unchanged); the ordinary rows
    get empty ``moderator`` and ``at`` coordinates. ``options`` go to
    :func:`conditional_effects`.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("Y ~ X + W + X:W")
    >>> v = {"Y~X": 0.3, "Y~W": 0.1, "Y~X:W": 0.2}
    >>> fx = with_conditional_effects(spec, compute_effects(spec, v), v)
    >>> fx.sel(effect="X -> Y | W = -1 SD").item(), str(fx.sel(effect="X -> Y").moderator.item())
    (0.09999999999999998, '')
    """
    if not spec.interactions and not options.get("moderated"):
        return effects
    cond = conditional_effects(spec, values, **options)
    n = effects.sizes["effect"]
    effects = effects.assign_coords(moderator=("effect", [""] * n), at=("effect", [""] * n))
    cond = cond.transpose(*effects.dims)
    return xr.concat([effects, cond], dim="effect")


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
