"""Mediation summaries of effect draws: posterior draws and bootstrap replicates alike.

Input is what :func:`connective.effects.compute_effects` returns: a DataArray with an
``effect`` dimension (coordinates ``kind``, ``source``, ``target``) and any sample dimensions
(``chain, draw`` or ``replicate``). Nothing here knows which engine made the draws.

* :func:`summarize_effects`: mean, median, sd, equal-tailed and highest-density intervals,
  probability of direction, probability that |effect| exceeds a region of practical
  equivalence (ROPE);
* :func:`proportion_mediated`: indirect / total effect, draw by draw;
* :func:`mediation_types`: the Zhao, Lynch & Chen (2010) typology with the probability of
  each type (share of draws), not one verdict from a significance test.

Example
-------
>>> import numpy as np, xarray as xr
>>> rng = np.random.default_rng(0)
>>> draws = xr.DataArray(rng.normal(0.3, 0.1, (4000, 1)), dims=("draw", "effect"),
...                      coords={"effect": ["X -> M -> Y"]})
>>> row = summarize_effects(draws).iloc[0]
>>> float(row["mean"].round(2)), bool(row["p_direction"] > 0.99)
(0.3, True)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from connective.errors import ConnectiveError

#: Zhao, Lynch & Chen (2010) types, in the order they are reported
MEDIATION_TYPES = ("complementary", "competitive", "indirect-only", "direct-only", "no-effect")


def _sample_dims(draws: xr.DataArray) -> list[str]:
    dims = [d for d in draws.dims if d != "effect"]
    if not dims:
        raise ConnectiveError("effect draws need a sample dimension (e.g. chain and draw, or "
                              "replicate) besides 'effect'")
    return dims


def _flat(draws: xr.DataArray) -> np.ndarray:
    """Samples x effects."""
    dims = _sample_dims(draws)
    return draws.stack(_sample=dims).transpose("_sample", "effect").to_numpy()


def hdi(samples: np.ndarray, prob: float = 0.95) -> np.ndarray:
    """Highest-density interval of each column (the narrowest window holding ``prob``).

    Example
    -------
    >>> hdi(np.arange(100.0)[:, None], 0.9).ravel().tolist()
    [0.0, 89.0]
    """
    x = np.sort(samples, axis=0)
    n = x.shape[0]
    k = max(1, math.ceil(prob * n))
    widths = x[k - 1:] - x[: n - k + 1]
    lo = np.argmin(widths, axis=0)
    cols = np.arange(x.shape[1])
    return np.stack([x[lo, cols], x[lo + k - 1, cols]], axis=-1)


def summarize_effects(draws: xr.DataArray, *, prob: float = 0.95,
                      rope: float | None = None) -> pd.DataFrame:
    """One row per effect: ``effect, kind, source, target, mean, median, sd, eti_lower,
    eti_upper, hdi_lower, hdi_upper, p_positive, p_direction`` and, with ``rope``,
    ``p_beyond_rope`` = P(|effect| > rope).

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> draws = xr.DataArray(np.linspace(-1, 3, 4001)[:, None], dims=("replicate", "effect"),
    ...                      coords={"effect": ["a"]})
    >>> summarize_effects(draws, rope=1.0).loc[0, ["median", "p_beyond_rope"]].round(3).tolist()
    [1.0, 0.5]
    """
    if not 0 < prob < 1:
        raise ConnectiveError(f"the interval probability must be between 0 and 1, not {prob}")
    x = _flat(draws)
    tail = (1 - prob) / 2
    eti = np.quantile(x, [tail, 1 - tail], axis=0)
    intervals = hdi(x, prob)
    p_pos = (x > 0).mean(axis=0)
    out = pd.DataFrame({
        "effect": draws["effect"].values.astype(str),
        "kind": _coord(draws, "kind"), "source": _coord(draws, "source"),
        "target": _coord(draws, "target"),
        "mean": x.mean(axis=0), "median": np.median(x, axis=0), "sd": x.std(axis=0, ddof=1),
        "eti_lower": eti[0], "eti_upper": eti[1],
        "hdi_lower": intervals[:, 0], "hdi_upper": intervals[:, 1],
        "p_positive": p_pos, "p_direction": np.maximum(p_pos, 1 - p_pos),
    })
    if rope is not None:
        if rope < 0:
            raise ConnectiveError(f"the ROPE half-width must be positive, not {rope}")
        out["p_beyond_rope"] = (np.abs(x) > rope).mean(axis=0)
    out.attrs.update(prob=prob, rope=rope, n_samples=x.shape[0])
    return out


def _coord(draws: xr.DataArray, name: str) -> np.ndarray:
    if name in draws.coords:
        return draws[name].values.astype(str)
    return np.full(draws.sizes["effect"], "", dtype=object)


def _select(draws: xr.DataArray, kind: str) -> xr.DataArray:
    if "kind" not in draws.coords:
        raise ConnectiveError("effect draws need the 'kind', 'source' and 'target' coordinates "
                              "that compute_effects gives them")
    return draws.isel(effect=np.flatnonzero(draws["kind"].values == kind))


def _by_pair(draws: xr.DataArray, kind: str) -> dict[tuple[str, str], xr.DataArray]:
    sel = _select(draws, kind)
    return {(s, t): sel.isel(effect=i, drop=True)
            for i, (s, t) in enumerate(zip(sel["source"].values, sel["target"].values))}


def proportion_mediated(draws: xr.DataArray) -> xr.DataArray:
    """Indirect / total effect per draw, for every specific and total indirect effect.

    Named ``proportion mediated <effect>``; its distribution can be summarised like any
    effect (use the median and intervals: the ratio is unstable when the total is near 0).
    """
    totals = _by_pair(draws, "total")
    parts, names = [], []
    for kind in ("indirect", "total_indirect"):
        sel = _select(draws, kind)
        for i, name in enumerate(sel["effect"].values):
            pair = (str(sel["source"].values[i]), str(sel["target"].values[i]))
            parts.append(sel.isel(effect=i, drop=True) / totals[pair])
            names.append(f"proportion mediated {name}")
    if not parts:
        raise ConnectiveError("the model has no indirect effects")
    out = xr.concat(parts, dim="effect").assign_coords(effect=np.array(names, dtype=str))
    return out.assign_coords(kind=("effect", ["proportion_mediated"] * len(names)))


def mediation_types(draws: xr.DataArray, *, rope: float = 0.05) -> pd.DataFrame:
    """Zhao-Lynch-Chen type of every specific and total indirect effect, with probabilities.

    In each draw an effect counts as present when |effect| > ``rope`` (default 0.05, for
    standardised effects); the direct effect is that of the indirect effect's source on its
    target (0 when the model has no such path). Types: complementary (both present, same
    sign), competitive (both present, opposite signs), indirect-only, direct-only, no-effect.
    Returns one row per indirect effect with ``p_<type>`` columns, the most probable
    ``type`` and its ``p_type``.

    The rule is the ROPE's, not the interval's: an indirect effect of .03 whose interval
    excludes 0 is "absent" here. Reports therefore name the ROPE in the label ("direct-only
    at ±.05") and mark such a row "indirect within ROPE" (see ``report.run.mediation_table``).

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> d = xr.DataArray(np.array([[0.3, 0.0, 0.3]] * 10), dims=("draw", "effect"),
    ...                  coords={"effect": ["X -> M -> Y", "X -> Y", "total indirect X -> Y"],
    ...                          "kind": ("effect", ["indirect", "direct", "total_indirect"]),
    ...                          "source": ("effect", ["X"] * 3), "target": ("effect", ["Y"] * 3)})
    >>> row = mediation_types(d).iloc[0]
    >>> row["effect"], row["type"], float(row["p_type"])
    ('X -> M -> Y', 'indirect-only', 1.0)
    """
    if rope < 0:
        raise ConnectiveError(f"the ROPE half-width must be positive, not {rope}")
    direct = _by_pair(draws, "direct")
    rows = []
    for kind in ("indirect", "total_indirect"):
        sel = _select(draws, kind)
        for i, name in enumerate(sel["effect"].values):
            pair = (str(sel["source"].values[i]), str(sel["target"].values[i]))
            ind = sel.isel(effect=i, drop=True)
            c = direct.get(pair, xr.zeros_like(ind))
            ind_on, c_on = np.abs(ind) > rope, np.abs(c) > rope
            same = np.sign(ind) == np.sign(c)
            shares = {
                "complementary": (ind_on & c_on & same).mean().item(),
                "competitive": (ind_on & c_on & ~same).mean().item(),
                "indirect-only": (ind_on & ~c_on).mean().item(),
                "direct-only": (~ind_on & c_on).mean().item(),
                "no-effect": (~ind_on & ~c_on).mean().item(),
            }
            best = max(MEDIATION_TYPES, key=shares.get)
            rows.append({"effect": str(name), "kind": kind, "source": pair[0],
                         "target": pair[1], "type": best, "p_type": shares[best],
                         **{f"p_{t}": shares[t] for t in MEDIATION_TYPES}})
    out = pd.DataFrame(rows)
    out.attrs["rope"] = rope
    return out


def johnson_neyman(draws: xr.DataArray, path: str, moderator: str, *,
                   grid: np.ndarray | None = None, prob: float = 0.95,
                   estimate: xr.DataArray | None = None) -> pd.DataFrame:
    """Johnson-Neyman table of a conditional effect: its interval at every moderator value
    of ``grid`` (in SDs from the moderator's mean; default -3 to 3 by 0.05), and where it
    excludes 0.

    ``draws``: effect draws or replicates with the rows ``<path> | <moderator> = -1 SD``,
    ``= mean`` and ``= +1 SD`` of :func:`connective.effects.conditional_effects` (any sample
    dims). The conditional effect is a polynomial of degree at most 2 in the moderator (2
    when it moderates two arrows of an indirect path), so the three rows give it exactly at
    any value, draw by draw. ``estimate`` (the same rows, no sample dims: PLS's full-sample
    estimates) gives the ``est`` column; else the draws' mean.

    Returns ``z, est, lower, upper, p_positive, excludes_zero``; ``attrs["boundaries"]``:
    the values of z where an interval bound crosses 0 (linear interpolation on the grid),
    the Johnson-Neyman points.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(1)
    >>> slope = rng.normal(0.3, 0.05, 4000)  # effect 0.1 + 0.3 w, zero near w = -1/3
    >>> rows = np.stack([0.1 - slope, np.full(4000, 0.1), 0.1 + slope], axis=-1)
    >>> d = xr.DataArray(rows, dims=("draw", "effect"), coords={"effect": [
    ...     "X -> Y | W = -1 SD", "X -> Y | W = mean", "X -> Y | W = +1 SD"]})
    >>> jn = johnson_neyman(d, "X -> Y", "W")
    >>> bool(jn.set_index("z").loc[1.0, "excludes_zero"]), [round(b, 2) for b in jn.attrs["boundaries"]]
    (True, [-0.49, -0.25])
    """
    if not 0 < prob < 1:
        raise ConnectiveError(f"the interval probability must be between 0 and 1, not {prob}")
    names = [f"{path} | {moderator} = {label}" for label in ("-1 SD", "mean", "+1 SD")]
    have = set(map(str, draws["effect"].values))
    missing = [n for n in names if n not in have]
    if missing:
        raise ConnectiveError(f"no conditional effect rows {', '.join(missing)}: the "
                              "Johnson-Neyman table needs the effects at the moderator's mean "
                              "and one SD either side (the default values)")
    grid = np.round(np.arange(-3.0, 3.0 + 1e-9, 0.05), 10) if grid is None else np.asarray(grid)
    x = _flat(draws.sel(effect=names))  # samples x 3
    lo_, mid, hi_ = x[:, 0], x[:, 1], x[:, 2]
    # the polynomial through (-1, lo), (0, mid), (1, hi)
    lin, quad = (hi_ - lo_) / 2, (hi_ + lo_ - 2 * mid) / 2
    values = mid[:, None] + lin[:, None] * grid + quad[:, None] * grid**2
    tail = (1 - prob) / 2
    lower, upper = np.quantile(values, [tail, 1 - tail], axis=0)
    if estimate is not None:
        e = np.asarray(estimate.sel(effect=names).values, dtype=float)
        est = e[1] + (e[2] - e[0]) / 2 * grid + (e[2] + e[0] - 2 * e[1]) / 2 * grid**2
    else:
        est = values.mean(axis=0)
    out = pd.DataFrame({"z": grid, "est": est, "lower": lower, "upper": upper,
                        "p_positive": (values > 0).mean(axis=0),
                        "excludes_zero": (lower > 0) | (upper < 0)})
    bounds = []
    for b in (lower, upper):
        cross = np.flatnonzero(np.sign(b[:-1]) * np.sign(b[1:]) < 0)
        bounds += [float(grid[i] - b[i] * (grid[i + 1] - grid[i]) / (b[i + 1] - b[i]))
                   for i in cross]
    out.attrs.update(path=path, moderator=moderator, prob=prob, boundaries=sorted(bounds))
    return out
