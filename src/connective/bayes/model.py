"""From (spec, data, options) to a PyMC model: the only place a ``pm.Model`` is built.

Parameters are sampled on convenient scales and mapped to lavaan's scale in one vector
``param`` (a Deterministic with a ``param`` dimension whose coordinates are parameter names
as in the parameter table): loadings, regressions and intercepts directly; variances as
squared standard deviations; covariances as correlation x the two standard deviations, the
correlation in (-1, 1). Factors' signs are fixed: under marker identification by the fixed
loading, under ``std_lv`` by a positive first loading (the *sign anchor*).

Example
-------
>>> import numpy as np, pandas as pd
>>> from connective.spec import parse_model
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=100)
>>> frame = pd.DataFrame({"X": x, "M": 0.5 * x + rng.normal(size=100)})
>>> bm = build_model(parse_model("M ~ X"), frame)
>>> bm.layout.names
['M~X', 'X~~X', 'M~~M', 'X~1', 'M~1']
>>> sorted(bm.model.named_vars)[:3]
['data_cov', 'data_mean', 'intercept']
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connective.bayes import priors as P
from connective.bayes.likelihood import SufficientStatistics, loglik_tensor, sufficient_statistics
from connective.bayes.matrices import Layout, build_layout, implied_moments
from connective.errors import ModelError
from connective.spec import ModelSpec

LIKELIHOODS = ("normal", "ordinal")


@dataclass
class BayesModel:
    """A built model: the PyMC model, the layout, the data statistics, the priors used
    (parameter name -> prior text) and the starting values."""

    spec: ModelSpec
    model: object
    layout: Layout
    stats: SufficientStatistics
    priors: dict[str, str]
    initvals: dict[str, np.ndarray]
    likelihood: str = "normal"
    options: dict = field(default_factory=dict)
    compiled: object = None  # nutpie's compiled model, reused by later calls


def structural_scales(spec: ModelSpec, layout: Layout, sd: dict[str, float]) -> dict[str, float]:
    """The scale ``s_k`` of each structural variable used by the default priors: the SD of the
    indicator with a fixed loading (divided by that loading) under marker identification,
    1 otherwise, the own SD for observed structural variables.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("F =~ a + b")
    >>> structural_scales(spec, build_layout(spec), {"a": 2.0, "b": 1.0})
    {'F': 2.0}
    """
    scales = {}
    for k, v in enumerate(layout.structural):
        if v in sd and v in layout.observed and v not in spec.indicators:
            scales[v] = sd[v]
            continue
        scales[v] = 1.0
        for item in spec.indicators.get(v, ()):
            kind, value = layout.cell_source("lambda", layout.observed.index(item), k)
            if kind == "fixed" and value != 0:
                scales[v] = sd[item] / abs(value)
                break
    return scales


def sign_anchors(spec: ModelSpec, layout: Layout) -> set[int]:
    """Parameter indices of the loadings constrained positive: the first free loading of
    each factor that has no fixed non-zero loading."""
    anchors = set()
    for k, v in enumerate(layout.structural):
        items = spec.indicators.get(v, ())
        sources = [layout.cell_source("lambda", layout.observed.index(i), k) for i in items]
        if any(kind == "fixed" and val != 0 for kind, val in sources):
            continue
        free = [val for kind, val in sources if kind == "param"]
        if free:
            anchors.add(int(free[0]))
    return anchors


def _override(priors: dict | None, p) -> str:
    if priors:
        for key in (p.name, p.label):
            if key and key in priors:
                return priors[key]
    return p.prior


def build_model(spec: ModelSpec, frame: pd.DataFrame, *, likelihood: str = "normal",
                priors: dict[str, str] | None = None) -> BayesModel:
    """Build the PyMC model of ``spec`` on the survey ``frame`` (raw scale).

    ``priors`` maps parameter names (``OCA~EFF``) or labels to prior texts and overrides the
    model file's ``prior()`` modifiers and the defaults of :mod:`connective.bayes.priors`.

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> from connective.spec import parse_model
    >>> rng = np.random.default_rng(1)
    >>> frame = pd.DataFrame(rng.normal(size=(50, 3)), columns=["x1", "x2", "x3"])
    >>> bm = build_model(parse_model('F =~ x1 + prior("normal(1, 0.1)")*x2 + x3'), frame)
    >>> bm.priors["F=~x2"]
    'normal(1, 0.1)'
    """
    import pymc as pm
    import pytensor.tensor as pt

    if likelihood not in LIKELIHOODS:
        raise ModelError(f"unknown likelihood {likelihood!r}; expected one of "
                         f"{', '.join(LIKELIHOODS)}")
    if likelihood == "ordinal":
        raise ModelError("the ordinal likelihood is not available yet in this version; "
                         "use --likelihood normal")
    layout = build_layout(spec)
    stats = sufficient_statistics(frame, layout.observed)
    sd = dict(zip(layout.observed, stats.sd))
    mean = dict(zip(layout.observed, stats.mean))
    scale = structural_scales(spec, layout, sd)
    anchors = sign_anchors(spec, layout)

    def var_scale(p) -> float:
        return scale[p.lhs] if p.matrix in ("psi", "alpha") else sd[p.lhs]

    # -- priors per parameter ---------------------------------------------------------------
    chosen: dict[int, tuple[P.Prior, bool]] = {}  # index -> (prior, must be positive)
    for k, p in enumerate(layout.params):
        text = _override(priors, p)
        where = f"{spec.source}: prior of {p.name}"
        if p.kind == "loading":
            default = P.default_loading(sd[p.rhs], scale[p.lhs], anchor=k in anchors)
        elif p.kind == "regression":
            default = P.default_regression(scale[p.lhs], scale[p.rhs])
        elif p.kind == "variance":
            default = P.default_sd(var_scale(p))
        elif p.kind == "covariance":
            default = P.default_correlation()
        else:
            default = P.default_intercept(mean.get(p.lhs, 0.0), sd.get(p.lhs, scale.get(p.lhs, 1.0)))
        prior = P.parse_prior(text, where=where) if text else default
        if p.kind == "variance":
            if prior.on == "value":
                prior = P.Prior(prior.family, prior.args, "sd")
            if not prior.positive:
                raise ModelError(f"{where}: a variance's prior must be positive (halfnormal, "
                                 f"lognormal, gamma, or uniform from 0); got {prior.text()}")
        if p.kind == "covariance" and prior.family != "beta":
            raise ModelError(f"{where}: a covariance's prior is on its correlation r and must "
                             f"be beta(a, b) for (r + 1) / 2; got {prior.text()}")
        chosen[k] = (prior, k in anchors and not prior.positive)
    used = {layout.params[k].name: pr.text() for k, (pr, _) in chosen.items()}

    # -- starting values (lavaan-like: half of each variance is error) ----------------------
    start = {}
    for k, p in enumerate(layout.params):
        if p.kind == "loading":
            ratio = sd[p.rhs] / scale[p.lhs]
            start[k] = ratio if not spec.std_lv else ratio * np.sqrt(0.5)
        elif p.kind == "regression":
            start[k] = 0.0
        elif p.kind == "variance":
            is_obs_struct = p.matrix == "psi" and p.lhs in sd and p.lhs not in spec.indicators
            start[k] = var_scale(p) * (1.0 if is_obs_struct else np.sqrt(0.5))  # an SD
        elif p.kind == "covariance":
            start[k] = 0.5  # (r + 1) / 2
        else:
            start[k] = mean.get(p.lhs, 0.0)

    # -- the PyMC model -----------------------------------------------------------------------
    groups: dict[tuple, list[int]] = defaultdict(list)
    for k, p in enumerate(layout.params):
        prior, bounded = chosen[k]
        role = {"loading": "loading", "regression": "regression", "variance": "sd",
                "covariance": "corr", "intercept": "intercept"}[p.kind]
        if p.kind == "variance" and prior.on == "var":
            role = "variance"
        groups[(role, prior.family, bounded)].append(k)
    coords = {"param": layout.names}
    initvals: dict[str, np.ndarray] = {}
    with pm.Model(coords=coords) as model:
        pieces: list[tuple[list[int], object]] = []
        cov_pieces: list[tuple[list[int], object]] = []
        names_taken: set[str] = set()
        for (role, family, bounded), idx in groups.items():
            name = role
            default_family = {"loading": "normal", "regression": "normal", "sd": "halfnormal",
                              "corr": "beta", "intercept": "normal"}.get(role)
            if family != default_family:
                name = f"{role}_{family}"
            if bounded:
                name += "_positive"
            if name in names_taken:  # e.g. the halfnormal anchors among normal loadings
                name = f"{name}_{len(names_taken)}"
            names_taken.add(name)
            args = np.array([chosen[k][0].args for k in idx]).T  # one row per argument
            rv = _distribution(pm, name, family, args, len(idx), bounded)
            iv = np.array([start[k] for k in idx], dtype=float)
            if family in P.POSITIVE_FAMILIES or bounded or role in ("sd", "variance"):
                iv = np.maximum(iv, 1e-3)
            if role == "variance":
                iv = iv ** 2
            if family == "uniform":
                iv = np.clip(iv, args[0] + 1e-6 * (args[1] - args[0]),
                             args[1] - 1e-6 * (args[1] - args[0]))
            if family == "beta":
                iv = np.clip(iv, 0.01, 0.99)
            initvals[name] = iv
            if role == "sd":
                pieces.append((idx, rv ** 2))
            elif role == "corr":
                cov_pieces.append((idx, 2.0 * rv - 1.0))
            else:
                pieces.append((idx, rv))
        theta = pt.zeros(layout.n_params)
        for idx, values in pieces:
            theta = pt.set_subtensor(theta[np.array(idx)], values)
        if cov_pieces:
            ext = pt.concatenate([theta, pt.as_tensor_variable(layout.constants)])
            for idx, rho in cov_pieces:
                vi, vj = [], []
                for k in idx:
                    matrix, i, j = layout.covariances[k]
                    cols = layout.shapes[matrix][1]
                    vi.append(layout.gather[matrix][i * cols + i])
                    vj.append(layout.gather[matrix][j * cols + j])
                cov = rho * pt.sqrt(ext[np.array(vi)] * ext[np.array(vj)])
                theta = pt.set_subtensor(theta[np.array(idx)], cov)
        theta = pm.Deterministic("parameters", theta, dims="param")
        mu, sigma = implied_moments(layout, theta)
        pattern_data = []
        for g, pat in enumerate(stats.patterns):
            suffix = "" if len(stats.patterns) == 1 else f"_{g}"
            pattern_data.append({
                "columns": pat.columns, "n": float(pat.n),
                "mean": pm.Data(f"data_mean{suffix}", pat.mean),
                "cov": pm.Data(f"data_cov{suffix}", pat.cov)})
        loglik = loglik_tensor(pattern_data, mu, sigma, len(layout.observed))
        guard = _positive_definite_guard(layout, theta)
        if guard is not None:
            loglik = pt.switch(guard, loglik, -np.inf)
        pm.Potential("loglik", loglik)
    return BayesModel(spec=spec, model=model, layout=layout, stats=stats, priors=used,
                      initvals=initvals, likelihood=likelihood,
                      options={"likelihood": likelihood, "priors": dict(priors or {})})


def covariance_blocks(layout: Layout) -> list[tuple[str, list[int]]]:
    """Groups of variables linked by free covariances, per matrix (``psi``/``theta``), as
    (matrix, variable indices), largest first.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> layout = build_layout(parse_model("F =~ a + b + c + d\\na ~~ b\\nb ~~ c"))
    >>> covariance_blocks(layout)
    [('theta', [0, 1, 2])]
    """
    parent: dict[tuple, tuple] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for matrix, i, j in layout.covariances.values():
        parent[find((matrix, i))] = find((matrix, j))
    blocks: dict[tuple, list] = defaultdict(list)
    for node in list(parent):
        blocks[find(node)].append(node[1])
    out = [(root[0], sorted(v)) for root, v in blocks.items()]
    return sorted(out, key=lambda b: (-len(b[1]), b[0], b[1]))


def _positive_definite_guard(layout: Layout, theta):
    """A boolean tensor: every block of three or more variables linked by free covariances
    is positive definite (Sylvester's criterion). Pairs with |r| < 1 always are, so models
    without such blocks need no guard (None)."""
    import pytensor.tensor as pt

    from connective.bayes.matrices import model_matrices

    blocks = [b for b in covariance_blocks(layout) if len(b[1]) >= 3]
    if not blocks:
        return None
    mats = model_matrices(layout, theta)
    conditions = []
    for matrix, idx in blocks:
        sub = mats[matrix][np.array(idx)][:, np.array(idx)]
        for k in range(2, len(idx) + 1):
            conditions.append(pt.linalg.det(sub[:k, :k]) > 0)
    return pt.all(pt.stack(conditions))


def _distribution(pm, name: str, family: str, args: np.ndarray, size: int, bounded: bool):
    if family == "normal":
        if bounded:
            return pm.TruncatedNormal(name, mu=args[0], sigma=args[1], lower=0.0, shape=size)
        return pm.Normal(name, mu=args[0], sigma=args[1], shape=size)
    if family == "student_t":
        dist = pm.StudentT.dist(nu=args[0], mu=args[1], sigma=args[2], shape=size)
        if bounded:
            return pm.Truncated(name, dist, lower=0.0, shape=size)
        return pm.StudentT(name, nu=args[0], mu=args[1], sigma=args[2], shape=size)
    if family == "halfnormal":
        return pm.HalfNormal(name, sigma=args[0], shape=size)
    if family == "lognormal":
        return pm.LogNormal(name, mu=args[0], sigma=args[1], shape=size)
    if family == "gamma":
        return pm.Gamma(name, alpha=args[0], beta=args[1], shape=size)
    if family == "beta":
        return pm.Beta(name, alpha=args[0], beta=args[1], shape=size)
    if family == "uniform":
        lower = args[0] if not bounded else np.maximum(args[0], 0.0)
        return pm.Uniform(name, lower=lower, upper=args[1], shape=size)
    raise ModelError(f"unsupported prior family {family!r}")  # pragma: no cover
