"""Population values for simulation: standardised loadings, paths and correlations.

A population is stated in the standardised metric (lavaan's ``std.all``): every construct and
every indicator has variance 1, so a loading is the indicator's correlation with its factor
and a path is a standardised regression weight. Residual variances follow from those values
(1 - R^2) and are never given. Values come from a TOML file::

    [defaults]          # optional; documented defaults below
    loading = 0.7
    path = 0.3
    correlation = 0.0   # for every free covariance (between exogenous variables, residuals)
    interaction = 0.0   # for every latent product term (OCA ~ CID:EFF) not given below

    [values]            # by parameter ("CI ~ IS", "IS =~ is1", "is1 ~~ is2") or by label
    "CI ~ IS" = 0.55
    b_cid = 0.45
    "OCA ~ CID:EFF" = 0.2   # a latent interaction (see below)

    [likert]            # optional: discretise indicators
    categories = 7
    thresholds = [-1.43, -0.86, -0.29, 0.29, 0.86, 1.43]   # optional

    [missing]
    rate = 0.02         # optional MCAR share of missing answers

    [groups]            # optional: respondents in groups with their own path values
    column = "organisation"
    names = ["A", "B", "C"]
    sizes = [60, 80, 54]           # must add up to n
    path_sd = 0.05                 # SD of each group's paths around the population values
    level_column = "logic"         # optional group-level predictor
    levels = ["collective", "connective", "collective"]
    shift_level = "collective"
    [groups.shift]                 # added to these paths in groups of shift_level
    "CID ~ CI" = 0.15

A product term ``y ~ a:b`` of constructs (an interaction) is given like a path, by its name
or label; its value is the standardised interaction (Wall & Amemiya 2001): the coefficient
of the product of the standardised factors in the standardised outcome's equation. The
product is centred (``a b - E[ab]``) so that every variable keeps mean 0, and its variance
``1 + r_ab^2`` enters the outcome's explained variance (Gaussian moments,
:func:`connective.moments.product_moments`). Products have the default ``interaction``
(0: no moderation unless stated), not ``path``.

Example
-------
>>> from connective.spec import parse_model
>>> spec = parse_model("F =~ x1 + x2 + x3\\nG =~ y1 + y2 + y3\\nG ~ F")
>>> pop = standardized_population(spec, {"G ~ F": 0.6})
>>> round(pop["G~~G"], 4), round(pop["x1~~x1"], 4)
(0.64, 0.51)
"""

from __future__ import annotations

import difflib
import math
from typing import Mapping

import numpy as np

from connective.errors import SimulationError
from connective.moments import structural_covariance, fill
from connective.spec import ModelSpec

#: documented defaults of the standardised population
DEFAULTS = {"loading": 0.7, "path": 0.3, "correlation": 0.0, "interaction": 0.0}


def default_thresholds(categories: int) -> list[float]:
    """Evenly spaced thresholds on the standardised scale, from -2 to 2 (k - 1 of them).

    For 7 categories the answer shares are about 8, 12, 19, 22, 19, 12 and 8 percent.

    Example
    -------
    >>> default_thresholds(5)
    [-1.2, -0.4, 0.4, 1.2]
    """
    if categories < 2:
        raise SimulationError(f"a Likert scale needs at least 2 categories, not {categories}")
    return [round(-2 + 4 * i / categories, 4) for i in range(1, categories)]


def _canonical(key: str) -> str:
    return "".join(key.split())


def resolve_keys(spec: ModelSpec, values: Mapping[str, float], *,
                 source: str = "the population values") -> dict[str, float]:
    """Map user keys ("CI ~ IS", "is2 ~~ is1", a label) to parameter names; check them."""
    table = spec.partable[spec.partable["op"].isin(["=~", "~", "~~"])]
    names = {}
    for row in table.itertuples():
        names[row.name] = row.name
        if row.op == "~~":
            names[f"{row.rhs}~~{row.lhs}"] = row.name
    labels = spec.labels
    out: dict[str, float] = {}
    for key, value in values.items():
        canon = _canonical(str(key))
        if canon in labels:
            targets = labels[canon]
        elif canon in names:
            targets = [names[canon]]
        else:
            close = difflib.get_close_matches(canon, [*names, *labels], n=3)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise SimulationError(f"{source}: {key!r} is not a parameter of {spec.source}{hint}")
        for name in targets:
            row = spec.parameter(name)
            if row["op"] == "~~" and row["lhs"] == row["rhs"]:
                raise SimulationError(f"{source}: {key!r} is a variance; in a standardised "
                                      "population variances follow from the loadings and paths "
                                      "(1 - R^2); remove it")
            try:
                out[name] = float(value)
            except (TypeError, ValueError):
                raise SimulationError(f"{source}: {key!r} must be a number, not {value!r}") from None
    return out


def standardized_population(spec: ModelSpec, values: Mapping[str, float] | None = None, *,
                            defaults: Mapping[str, float] | None = None,
                            source: str = "the population values") -> dict[str, float]:
    """Every parameter of a standardised population, by parameter name.

    Loadings, paths and correlations come from ``values`` or the defaults; residual
    variances are derived so that every variable has variance 1. A path fixed to a value in
    the model text keeps it; a first loading fixed to 1 for identification does not (its
    population value is a loading like any other).
    """
    if spec.composites:
        raise SimulationError(f"{spec.source}: simulating composite (<~) constructs is not "
                              "supported; write them as reflective (=~) for a simulation")
    d = {**DEFAULTS, **(defaults or {})}
    given = resolve_keys(spec, values or {}, source=source)
    pop: dict[str, float] = {}
    for row in spec.partable.itertuples():
        if row.op == "=~":
            pop[row.name] = given.get(row.name, d["loading"])
        elif row.op == "~" and row.rhs not in spec.structural:  # a latent product
            pop[row.name] = given.get(row.name, d["interaction"])
        elif row.op == "~":
            fixed = not math.isnan(row.ustart)
            pop[row.name] = row.ustart if fixed and row.name not in given else given.get(
                row.name, d["path"])
        elif row.op == "~~" and row.lhs != row.rhs:
            # a covariance fixed in the model (orthogonal = TRUE: 0) keeps its value
            default = d["correlation"] if math.isnan(row.ustart) else row.ustart
            pop[row.name] = given.get(row.name, default)
    _derive_variances(spec, pop)
    return pop


def population_products(spec: ModelSpec, pop: Mapping[str, float]
                        ) -> list[tuple[int, int, int, float]]:
    """The latent product terms as ``(outcome, a, b, value)`` in the positions of
    ``spec.structural`` (:func:`connective.moments.product_moments`'s terms)."""
    eta = {v: k for k, v in enumerate(spec.structural)}
    return [(eta[i.outcome], eta[i.a], eta[i.b], float(pop[i.name]))
            for i in spec.latent_interactions]


def _derive_variances(spec: ModelSpec, pop: dict[str, float]) -> None:
    """Residual variances making every structural variable and indicator of variance 1;
    correlations in ``pop`` are turned into covariances in place."""
    beta = fill(spec, "beta", pop)
    psi_pattern = spec.pattern("psi")
    eta = list(spec.structural)
    psi = psi_pattern.value.copy(data=np.zeros((len(eta), len(eta))))
    corr_names = psi_pattern.name
    products = population_products(spec, pop)
    for j, v in enumerate(eta):  # topological order: predecessors are settled
        cov = structural_covariance(beta, psi, products).to_numpy()
        b = beta.to_numpy()[j]
        explained = float(b @ cov @ b)
        for outcome, a, c, g in products:  # the centred products' variance (Isserlis)
            if outcome == j:
                explained += g * g * (cov[a, a] * cov[c, c] + cov[a, c] ** 2)
        resid = 1.0 - explained
        if resid <= 1e-6:
            raise SimulationError(
                f"the paths into {v} explain {explained:.0%} of its variance (R^2 >= 1); "
                "make them smaller")
        psi.data[j, j] = resid
        pop[f"{v}~~{v}"] = resid
        for i in range(j):
            name = corr_names.data[i, j]
            if name:
                r = pop[name]
                psi.data[i, j] = psi.data[j, i] = r * math.sqrt(psi.data[i, i] * resid)
                pop[name] = psi.data[i, j]
    cov = structural_covariance(beta, psi, products).to_numpy()
    lam = fill(spec, "lambda", pop).to_numpy()
    theta_names = spec.pattern("theta").name
    explained = np.einsum("ij,jk,ik->i", lam, cov, lam)
    theta_diag = {}
    for i, item in enumerate(spec.observed):
        if item in spec.structural:
            continue  # an observed structural variable has no measurement error
        resid = 1.0 - explained[i]
        if resid <= 1e-6:
            raise SimulationError(f"the loadings of {item} explain {explained[i]:.0%} of its "
                                  "variance; standardised loadings must be below 1 in size")
        theta_diag[item] = float(resid)
        pop[f"{item}~~{item}"] = float(resid)
    obs = list(spec.observed)
    for i, j in zip(*np.nonzero(np.triu(theta_names.to_numpy() != "", k=1))):
        name = theta_names.data[i, j]
        pop[name] = pop[name] * math.sqrt(theta_diag[obs[i]] * theta_diag[obs[j]])
