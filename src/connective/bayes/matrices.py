"""The model matrices of a spec as a *layout*: one vector of parameter values ``theta``
(lavaan's scale: loadings, regressions, variances, covariances, intercepts) and, for each
matrix, where every cell takes its value from (a free parameter or a fixed constant).

The same layout turns ``theta`` into the implied moments with numpy (over any leading
dimensions, e.g. posterior ``chain, draw``) or with pytensor (inside the PyMC model), so the
algebra is written once:

    Sigma = Lambda (I - B)^-1 Psi (I - B)^-T Lambda' + Theta,
    mu    = nu + Lambda (I - B)^-1 alpha.

Means follow lavaan's ``meanstructure``: every indicator has a free intercept (nu), every
observed structural variable a free equation intercept (alpha), latent means are 0; intercept
rows written in the model (``x1 ~ 0*1``) replace these defaults.

The moments of exogenous covariates under ``fixed.x`` (the partable's ``exo`` rows, and their
means) are slots of ``theta`` too, marked ``exo``: the model fills them with the sample's
values, so that every function here sees one complete vector.

Example
-------
>>> from connective.spec import parse_model
>>> layout = build_layout(parse_model("F =~ x1 + x2 + x3"))
>>> layout.names[:2], layout.n_params
(['F=~x2', 'F=~x3'], 9)
>>> import numpy as np
>>> theta = layout.values({"F=~x2": 1, "F=~x3": 1, "x1~~x1": 1, "x2~~x2": 1, "x3~~x3": 1,
...                        "F~~F": 1, "x1~1": 0, "x2~1": 0, "x3~1": 0})
>>> mu, sigma = implied_moments(layout, theta)
>>> sigma.tolist()
[[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from connective.errors import ModelError
from connective.spec import ModelSpec

MATRICES = ("lambda", "beta", "psi", "theta", "nu", "alpha")


@dataclass(frozen=True)
class Parameter:
    """One free parameter: its name (``dem60~ind60``, ``x1~1``), table row (lhs, op, rhs,
    label, prior text), ``kind`` (loading, regression, variance, covariance, intercept) and
    the ``matrix`` it lives in."""

    name: str
    lhs: str
    op: str
    rhs: str
    label: str
    kind: str
    matrix: str
    prior: str = ""
    exo: bool = False  # a moment of a fixed.x covariate: the sample's value, not estimated


@dataclass
class Layout:
    """Free parameters in order and, per matrix, the gather index of every cell into
    ``concat(theta, constants)``. Build it with :func:`build_layout`."""

    params: list[Parameter]
    constants: np.ndarray
    gather: dict[str, np.ndarray]
    shapes: dict[str, tuple[int, ...]]
    observed: list[str]
    structural: list[str]
    #: covariance parameter index -> (matrix, i, j) of the cell (variances on its diagonal)
    covariances: dict[int, tuple[str, int, int]] = field(default_factory=dict)
    #: covariance parameters that several rows share (a label): sampled as values, since
    #: one correlation cannot stand for equal covariances of variables with other variances
    shared_covariances: set[int] = field(default_factory=set)

    def with_intercepts(self, variables: list[str]) -> "Layout":
        """A copy in which the intercepts of the structural ``variables`` (fixed at 0 in a
        single-group model: latent means) are free parameters ``F~1``, appended after the
        others. Hierarchical models use it for group-specific latent means.

        Example
        -------
        >>> from connective.spec import parse_model
        >>> layout = build_layout(parse_model("F =~ a + b + c")).with_intercepts(["F"])
        >>> layout.names[-1], layout.n_params
        ('F~1', 10)
        """
        K, extra = self.n_params, len(variables)
        gather = {m: np.where(g >= K, g + extra, g) for m, g in self.gather.items()}
        params = list(self.params)
        for j, v in enumerate(variables):
            gather["alpha"][self.structural.index(v)] = K + j
            params.append(Parameter(f"{v}~1", v, "~1", "", "", "intercept", "alpha"))
        return Layout(params, self.constants, gather, dict(self.shapes), list(self.observed),
                      list(self.structural), dict(self.covariances),
                      set(self.shared_covariances))

    @property
    def exo(self) -> list[int]:
        """Indices of the fixed.x slots (filled with sample moments, not estimated)."""
        return [k for k, p in enumerate(self.params) if p.exo]

    def is_diagonal(self, matrix: str) -> bool:
        """Whether every off-diagonal cell of the square ``matrix`` is fixed at 0."""
        size = self.shapes[matrix][0]
        cells = self.gather[matrix].reshape(size, size)[~np.eye(size, dtype=bool)]
        K = self.n_params
        return not (cells < K).any() and not np.any(self.constants[cells[cells >= K] - K])

    def likelihood_shape(self) -> str:
        """Which closed form of the grouped normal likelihood fits the model (see
        :mod:`connective.bayes.likelihood`): ``path`` (observed variables only, recursive),
        ``factor`` (recursive; every observed variable an item with a free residual variance,
        no residual covariances), else ``general``.

        Example
        -------
        >>> from connective.spec import parse_model
        >>> build_layout(parse_model("F =~ a + b + c\\nG =~ d + e + f\\nG ~ F")).likelihood_shape()
        'factor'
        """
        if not self.recursive:
            return "general"
        if set(self.observed) == set(self.structural):
            return "path"
        p = len(self.observed)
        diag = self.gather["theta"].reshape(p, p)[np.arange(p), np.arange(p)]
        if (not set(self.observed) & set(self.structural) and self.is_diagonal("theta")
                and (diag < self.n_params).all()):
            return "factor"
        return "general"

    @property
    def recursive(self) -> bool:
        """Whether B is strictly lower triangular (no feedback loops)."""
        m = self.shapes["beta"][0]
        g = self.gather["beta"].reshape(m, m)
        fixed = self.constants[np.clip(g - self.n_params, 0, None)]
        nonzero = (g < self.n_params) | (fixed != 0)
        return not np.triu(nonzero).any()

    @property
    def n_params(self) -> int:
        return len(self.params)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def index(self, name: str) -> int:
        """Position of a parameter in ``theta``."""
        return self.names.index(name)

    def values(self, mapping: dict[str, float]) -> np.ndarray:
        """``theta`` from a name -> value mapping (every free parameter must be given)."""
        missing = [n for n in self.names if n not in mapping]
        if missing:
            raise ValueError(f"no values for {', '.join(missing)}")
        return np.array([float(mapping[n]) for n in self.names])

    def loading_source(self, indicator: str, construct: str) -> tuple[str, float | int]:
        """Where the loading of ``indicator`` on ``construct`` gets its value (as
        :meth:`cell_source`): a cell of Lambda for an item, of B for a structural indicator
        (a first-order construct of a higher-order one, an item in a regression).

        Example
        -------
        >>> from connective.spec import parse_model
        >>> spec = parse_model("F1 =~ a + b\\nF2 =~ c + d\\nG =~ F1 + F2")
        >>> build_layout(spec).loading_source("F1", "G")
        ('fixed', 1.0)
        """
        k = self.structural.index(construct)
        if indicator in self.structural:
            return self.cell_source("beta", self.structural.index(indicator), k)
        return self.cell_source("lambda", self.observed.index(indicator), k)

    def cell_source(self, matrix: str, i: int, j: int = 0) -> tuple[str, float | int]:
        """Where a cell gets its value: ``('param', k)`` or ``('fixed', value)``."""
        cols = self.shapes[matrix][1] if len(self.shapes[matrix]) == 2 else 1
        g = int(self.gather[matrix][i * cols + j])
        if g < self.n_params:
            return "param", g
        return "fixed", float(self.constants[g - self.n_params])


def build_layout(spec: ModelSpec) -> Layout:
    """The :class:`Layout` of a spec (parameters in the order of their free numbers, then the
    fixed.x moments, then the default intercepts).

    Example
    -------
    >>> from connective.spec import parse_model
    >>> layout = build_layout(parse_model("M ~ a*X\\nY ~ b*M + cp*X"))
    >>> layout.names, layout.exo
    (['M~X', 'Y~M', 'Y~X', 'M~~M', 'Y~~Y', 'X~~X', 'X~1', 'M~1', 'Y~1'], [5, 6])
    """
    if spec.composites:
        raise ModelError(f"{spec.source}: composite constructs ({', '.join(spec.composites)}, "
                         "written with <~) exist only in PLS; the Bayesian engine estimates "
                         "common factors: write them with =~")
    obs, eta = list(spec.observed), list(spec.structural)
    table = spec.partable
    params: list[Parameter] = []
    by_free: dict[int, int] = {}
    kinds = {"=~": "loading", "~": "regression"}
    for row in table[table["free"] > 0].itertuples():
        if row.free in by_free:
            continue
        if row.op == "~~":
            kind = "variance" if row.lhs == row.rhs else "covariance"
            both_struct = row.lhs in eta and row.rhs in eta
            matrix = "psi" if both_struct else "theta"
        elif row.op == "~1":
            kind = "intercept"
            matrix = "alpha" if row.lhs in eta else "nu"
        else:
            kind = kinds[row.op]
            # a loading on a structural variable is an arrow of B (see ModelSpec.pattern)
            matrix = "lambda" if row.op == "=~" and row.rhs not in eta else "beta"
        by_free[int(row.free)] = len(params)
        params.append(Parameter(row.name, row.lhs, row.op, row.rhs, row.label, kind, matrix,
                                row.prior))
    # a shared label makes parameters equal; a variance (sampled as an SD) or a covariance
    # (sampled as a correlation, or as its value when shared) can only equal its own kind
    for p in params:
        rows = table[(table["free"] > 0) & (table["free"] == _free_of(table, p.name))]
        kinds = {"variance" if r.lhs == r.rhs else "covariance" if r.op == "~~" else r.op
                 for r in rows.itertuples()}
        if len(kinds) > 1 and kinds & {"variance", "covariance"}:
            raise ModelError(f"{spec.source}: the label {p.label!r} makes "
                             f"{', '.join(rows['name'])} equal, a (co)variance and a parameter "
                             "of another kind; the Bayesian engine equates variances only with "
                             "variances and covariances with covariances: use two labels")
    exo_rows = table[table["exo"] == 1]
    for row in exo_rows.itertuples():  # fixed.x: sample (co)variances of the covariates
        kind = "variance" if row.lhs == row.rhs else "covariance"
        params.append(Parameter(row.name, row.lhs, row.op, row.rhs, "", kind, "psi", exo=True))
    # default intercepts (lavaan's meanstructure): observed ones free unless int.ov.free is
    # off (growth), latent means 0 unless int.lv.free is on; fixed.x covariates' the sample's
    user_means = {r.lhs for r in table[table["op"] == "~1"].itertuples()}
    opts = spec.options
    for v in obs:
        if v in user_means or not (opts.intercepts_free or v in spec.fixed_x):
            continue
        matrix = "alpha" if v in eta else "nu"
        params.append(Parameter(f"{v}~1", v, "~1", "", "", "intercept", matrix,
                                exo=v in spec.fixed_x))
    if opts.latent_means_free:
        for v in spec.latent:
            if v not in user_means:
                params.append(Parameter(f"{v}~1", v, "~1", "", "", "intercept", "alpha"))
    index_of = {p.name: k for k, p in enumerate(params)}
    exo_index = {p.name: k for k, p in enumerate(params) if p.exo and p.kind != "intercept"}
    K = len(params)
    constants: list[float] = []
    const_index: dict[float, int] = {}

    def const(value: float) -> int:
        value = float(value)
        if value not in const_index:
            const_index[value] = K + len(constants)
            constants.append(value)
        return const_index[value]

    gather: dict[str, np.ndarray] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    for matrix in ("lambda", "beta", "psi", "theta"):
        pat = spec.pattern(matrix)
        free, value, cell_name = pat.free.to_numpy(), pat.value.to_numpy(), pat.name.to_numpy()
        g = np.empty(free.shape, dtype=np.int64)
        for i, j in np.ndindex(free.shape):
            if free[i, j] > 0:
                g[i, j] = by_free[int(free[i, j])]
            elif cell_name[i, j] in exo_index:
                g[i, j] = exo_index[cell_name[i, j]]
            else:
                v = value[i, j]
                g[i, j] = const(0.0 if math.isnan(v) else v)
        gather[matrix] = g.ravel()
        shapes[matrix] = free.shape
    for matrix, names in (("nu", obs), ("alpha", eta)):
        g = np.empty(len(names), dtype=np.int64)
        for i, v in enumerate(names):
            key = f"{v}~1"
            in_this = (matrix == "alpha") == (v in eta)
            if in_this and key in index_of:
                g[i] = index_of[key]
            elif in_this and v in user_means:
                row = table[(table["op"] == "~1") & (table["lhs"] == v)].iloc[0]
                g[i] = by_free[int(row.free)] if row.free > 0 else const(row.ustart)
            else:
                g[i] = const(0.0)
        gather[matrix] = g
        shapes[matrix] = (len(names),)
    layout = Layout(params, np.array(constants, dtype=float), gather, shapes, obs, eta)
    carriers = table.loc[table["free"] > 0, "free"].value_counts()
    layout.shared_covariances = {k for k, p in enumerate(params) if p.kind == "covariance"
                                 and carriers.get(_free_of(table, p.name), 0) > 1}
    for k, p in enumerate(params):
        if p.kind == "covariance":
            names = obs if p.matrix == "theta" else eta
            layout.covariances[k] = (p.matrix, names.index(p.lhs), names.index(p.rhs))
    return layout


def _free_of(table, name: str) -> int:
    return int(table.loc[table["name"] == name, "free"].iloc[0])


# -- the algebra, for numpy and pytensor ---------------------------------------------------

def _backend(theta):
    if isinstance(theta, np.ndarray) or np.isscalar(theta):
        return np
    import pytensor.tensor as pt
    return pt


def model_matrices(layout: Layout, theta) -> dict[str, object]:
    """The matrices (``lambda, beta, psi, theta, nu, alpha``) over the leading dims of theta.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> layout = build_layout(parse_model("M ~ X"))
    >>> model_matrices(layout, np.arange(1.0, 6.0))["beta"].tolist()
    [[0.0, 0.0], [1.0, 0.0]]
    """
    xp = _backend(theta)
    if xp is np:
        theta = np.asarray(theta, dtype=float)
        lead = theta.shape[:-1]
        consts = np.broadcast_to(layout.constants, lead + layout.constants.shape)
        ext = np.concatenate([theta, consts], axis=-1)
    else:
        # a vector, or a matrix of group-specific values (groups, n_params)
        consts = xp.as_tensor_variable(layout.constants)
        if theta.ndim == 2:
            lead = (theta.shape[0],)
            consts = xp.broadcast_to(consts, (theta.shape[0], len(layout.constants)))
        else:
            lead = ()
        ext = xp.concatenate([theta, consts], axis=-1)
    out = {}
    for m in MATRICES:
        cells = ext[..., layout.gather[m]]
        out[m] = cells.reshape(tuple(lead) + layout.shapes[m])
    return out


def implied_moments(layout: Layout, theta, *, structural: bool = False):
    """Model-implied mean vector and covariance matrix of the observed variables.

    With ``structural=True`` also returns the implied covariance of the structural variables
    (``A Psi A'``, needed for standardising). Works on numpy arrays with any leading
    dimensions and on a pytensor vector.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> layout = build_layout(parse_model("M ~ X"))
    >>> layout.observed
    ['X', 'M']
    >>> mu, sigma = implied_moments(layout, np.array([0.5, 1.0, 1.0, 0.0, 0.0]))
    >>> sigma.round(3).tolist()
    [[1.0, 0.5], [0.5, 1.25]]
    """
    xp = _backend(theta)
    mats = model_matrices(layout, theta)
    lam, beta, psi, th = mats["lambda"], mats["beta"], mats["psi"], mats["theta"]
    m = layout.shapes["beta"][0]
    if xp is np:
        A = np.linalg.inv(np.eye(m) - beta)
        At = np.swapaxes(A, -1, -2)
        cov_eta = A @ psi @ At
        sigma = lam @ cov_eta @ np.swapaxes(lam, -1, -2) + th
        mu = mats["nu"] + (lam @ (A @ mats["alpha"][..., None]))[..., 0]
    else:  # pytensor, one set of matrices or a leading group dimension
        A = structural_inverse(layout, beta)
        At = xp.swapaxes(A, -1, -2)
        cov_eta = A @ psi @ At
        sigma = lam @ cov_eta @ xp.swapaxes(lam, -1, -2) + th
        mu = mats["nu"] + (lam @ (A @ mats["alpha"][..., None]))[..., 0]
    if structural:
        return mu, sigma, cov_eta
    return mu, sigma


def structural_inverse(layout: Layout, beta):
    """``(I - B)^-1`` as a pytensor matrix. B of a recursive model is strictly lower
    triangular (structural variables in topological order), so it is nilpotent and
    (I - B)^-1 = I + B + ... + B^(m-1): products only, which compile and differentiate much
    faster than a matrix inverse.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> import pytensor.tensor as pt
    >>> layout = build_layout(parse_model("M ~ X"))
    >>> structural_inverse(layout, pt.as_tensor([[0.0, 0.0], [0.5, 0.0]])).eval().tolist()
    [[1.0, 0.0], [0.5, 1.0]]
    """
    import pytensor.tensor as pt

    m = layout.shapes["beta"][0]
    if not layout.recursive:
        return pt.linalg.inv(pt.eye(m) - beta)
    A = pt.eye(m)
    power = pt.eye(m)
    for _ in range(m - 1):
        power = power @ beta
        A = A + power
    return A


def row_values(spec: ModelSpec, layout: Layout, theta) -> tuple[list[str], np.ndarray]:
    """The value of every row of the parameter table (``:=`` rows aside) and of the default
    intercepts, per draw: rows that share a label take their one parameter's value, fixed
    rows their fixed value. Returns (row names, array (..., rows)).

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("F =~ x1 + a*x2 + a*x3")
    >>> names, v = row_values(spec, build_layout(spec), np.arange(1.0, 11.0))
    >>> dict(zip(names[:3], v[:3].tolist()))
    {'F=~x1': 1.0, 'F=~x2': 1.0, 'F=~x3': 1.0}
    """
    theta = np.asarray(theta, dtype=float)
    index = {p.name: k for k, p in enumerate(layout.params)}
    table = spec.partable[spec.partable["op"] != ":="]
    first_of = table[table["free"] > 0].drop_duplicates("free").set_index("free")["name"]
    names, columns = [], []
    for r in table.itertuples():
        names.append(r.name)
        if r.free > 0:
            columns.append(theta[..., index[first_of[r.free]]])
        elif r.name in index:  # a fixed.x moment
            columns.append(theta[..., index[r.name]])
        else:
            columns.append(np.full(theta.shape[:-1], float(r.ustart)))
    for k, p in enumerate(layout.params):
        if p.name not in set(table["name"]):  # default intercepts
            names.append(p.name)
            columns.append(theta[..., k])
    return names, np.stack(columns, axis=-1)


def standardized_solution(spec: ModelSpec, layout: Layout, theta) -> dict[str, object]:
    """lavaan's ``standardizedSolution()``: ``std.lv`` (latent variables scaled to unit
    variance) and ``std.all`` (observed variables too) of every row of the parameter table
    and default intercept, per draw (numpy, any leading dims), as lavaan computes them
    (``lav_standardize_lv`` and ``lav_standardize_all``, ``cov.std = TRUE``): loadings
    times sd(factor) [over sd(item)]; regressions times sd(source) over sd(target);
    variances over the total variance; a (residual) covariance over the square roots of the
    two (residual) variances, i.e. a residual correlation; intercepts over the sd. A latent
    product term ``y ~ a:b`` is standardised as ``gamma sd(a) sd(b) / sd(y)`` (Wall &
    Amemiya 2001), every sd with the products' variance
    (:func:`connective.bayes.interaction.implied_moments_with_products`).

    Returns ``{"names": row names, "est": values, "std.lv": ..., "std.all": ...}`` (arrays
    (..., rows)).

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("M ~ X")
    >>> layout = build_layout(spec)
    >>> out = standardized_solution(spec, layout, np.array([0.5, 1.0, 1.0, 0.0, 0.0]))
    >>> round(float(out["std.all"][out["names"].index("M~X")]), 4)
    0.4472
    """
    theta = np.asarray(theta, dtype=float)
    names, est = row_values(spec, layout, theta)
    if spec.latent_interactions:  # the products' variance is part of every sd
        from connective.bayes.interaction import implied_moments_with_products

        _, sigma, cov_eta = implied_moments_with_products(spec, layout, theta)
    else:
        _, sigma, cov_eta = implied_moments(layout, theta, structural=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd_obs = np.sqrt(np.diagonal(sigma, axis1=-2, axis2=-1))
        sd_eta = np.sqrt(np.diagonal(cov_eta, axis1=-2, axis2=-1))
    obs_ix = {v: i for i, v in enumerate(layout.observed)}
    eta_ix = {v: i for i, v in enumerate(layout.structural)}
    latent = set(spec.latent)
    ones = np.ones(theta.shape[:-1])

    def sd(v: str, observed_too: bool):
        if v not in obs_ix and v not in eta_ix:  # a latent product a:b: sd(a) sd(b)
            a, b = v.split(":")
            return sd(a, observed_too) * sd(b, observed_too)
        if v in latent:
            return sd_eta[..., eta_ix[v]]
        if not observed_too:
            return ones
        return sd_obs[..., obs_ix[v]] if v in obs_ix else sd_eta[..., eta_ix[v]]

    variance = {n.split("~~")[0]: j for j, n in enumerate(names)
                if "~~" in n and n.split("~~")[0] == n.split("~~")[1]}
    rows = spec.partable.set_index("name")
    out = {"names": names, "est": est}
    for key, observed_too in (("std.lv", False), ("std.all", True)):
        std = np.full(est.shape, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            for j, name in enumerate(names):
                if name in rows.index:
                    r = rows.loc[name]
                    lhs, op, rhs = r["lhs"], r["op"], r["rhs"]
                else:  # a default intercept
                    lhs, op, rhs = name[:-2], "~1", ""
                x = est[..., j]
                if op == "=~":
                    std[..., j] = x * sd(lhs, observed_too) / sd(rhs, observed_too)
                elif op == "~":
                    std[..., j] = x * sd(rhs, observed_too) / sd(lhs, observed_too)
                elif op == "~~" and lhs == rhs:
                    std[..., j] = x / sd(lhs, observed_too) ** 2
                elif op == "~~":
                    scaled = [v in latent or observed_too for v in (lhs, rhs)]
                    denominator = ones
                    for v, s in zip((lhs, rhs), scaled):
                        if s:
                            denominator = denominator * np.sqrt(np.abs(est[..., variance[v]]))
                    std[..., j] = x / denominator
                elif op == "~1":
                    std[..., j] = x / sd(lhs, observed_too)
        out[key] = std
    return out
