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
['M~X', 'M~~M', 'X~~X', 'X~1', 'M~1']
>>> sorted(bm.model.named_vars)[:3]
['data_factor', 'data_mean', 'data_n']
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connective.bayes import priors as P
from connective.bayes.likelihood import SufficientStatistics, sufficient_statistics
from connective.bayes.matrices import Layout, build_layout, implied_moments
from connective.bayes.std_priors import check_std_prior, std_log_density
from connective.errors import ModelError
from connective.spec import ModelSpec
from connective.spec.identification import require_identified

LIKELIHOODS = ("normal", "ordinal")
#: ordinal likelihood: the scale standing in for an item's SD in the default priors
ORDINAL_ITEM_SCALE = 2.0


#: NUTS's target acceptance rate for hierarchical models, by likelihood. At nutpie's default
#: 0.8, 2 divergences in 1,000 draws. Normal likelihood, 4 x 1,000 draws, seed 1, one run
#: of scripts/benchmark_groups.py per rate (2026-12-07), 0.9 against 0.95: 0 divergences in
#: either; smallest bulk ESS 893 / 603 (600 respondents in 6 groups), 999 / 921 (the demo's 8
#: organisations; 28.6 / 31.6 leapfrog steps per draw) and 906 / 464 (Bolger & Laurenceau's
#: 100 persons x 21 days; 56.2 / 68.9 steps), R-hat <= 1.007. The ordinal likelihood and
#: fewer than groups.FEW_GROUPS groups (divergences measured at 0.95, not at 0.9) keep 0.95.
GROUPS_TARGET_ACCEPT = {"normal": 0.9, "ordinal": 0.95}


def groups_target_accept(likelihood: str, n_groups: int) -> float:
    """NUTS's target acceptance rate for a hierarchical model (see GROUPS_TARGET_ACCEPT).

    Example
    -------
    >>> groups_target_accept("normal", 8), groups_target_accept("normal", 4)
    (0.9, 0.95)
    """
    from connective.bayes.groups import FEW_GROUPS

    return GROUPS_TARGET_ACCEPT[likelihood] if n_groups >= FEW_GROUPS else 0.95


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
    compiled_by: str | None = None  # "tape" or "numba" (bayes/sample.compile_model)
    compiler_asked: str | None = None  # the compiler compile_model last used, named or not
    metric: "SamplingMetric | None" = None
    ordinal: object = None  # the coded answers (OrdinalData) of an ordinal model
    fixed_x: np.ndarray | None = None  # the sample moments in the fixed.x slots (layout.exo)
    groups: object = None  # the GroupDesign of a hierarchical model
    group_layout: Layout | None = None  # its layout, with group-specific latent means
    items: object = None  # normal items' answered cells (ItemData) of an interaction model

    @property
    def interactions(self) -> bool:
        """Whether the model holds latent product terms (bayes/interaction.py)."""
        return bool(self.spec.latent_interactions)


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
    scales: dict[str, float] = {}

    def scale_of(v: str) -> float:
        if v in scales:
            return scales[v]
        if v in sd and v in layout.observed and v not in spec.indicators:
            scales[v] = sd[v]
            return scales[v]
        scales[v] = 1.0
        for indicator in spec.indicators.get(v, ()):
            kind, value = layout.loading_source(indicator, v)
            if kind == "fixed" and value != 0:
                # a higher-order factor takes the scale of its marker construct
                scales[v] = (sd[indicator] if indicator in sd and indicator not in
                             spec.indicators else scale_of(indicator)) / abs(value)
                break
        return scales[v]

    return {v: scale_of(v) for v in layout.structural}


def fixed_x_values(layout: Layout, frame: pd.DataFrame, slots: list[int]) -> np.ndarray:
    """The sample moments of the fixed.x slots ``slots`` (see :attr:`Layout.exo`): means,
    and variances and covariances with lavaan's divisor N (the ML estimates), each from the
    rows that answered.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> layout = build_layout(parse_model("y ~ x"))
    >>> fixed_x_values(layout, pd.DataFrame({"x": [1.0, 2, 3, 6], "y": [0.0, 1, 0, 1]}),
    ...                layout.exo).tolist()
    [3.5, 3.0]
    """
    if not slots:
        return np.zeros(0)
    names = sorted({v for k in slots for v in (layout.params[k].lhs, layout.params[k].rhs) if v})
    x = frame[names].apply(pd.to_numeric, errors="coerce")
    cov = x.cov(ddof=0)
    out = []
    for k in slots:
        p = layout.params[k]
        out.append(x[p.lhs].mean() if p.kind == "intercept" else cov.at[p.lhs, p.rhs])
    return np.array(out, dtype=float)


def sign_anchors(spec: ModelSpec, layout: Layout) -> set[int]:
    """Parameter indices of the loadings constrained positive: the first free loading of
    each factor that has no fixed non-zero loading."""
    anchors = set()
    for v in layout.structural:
        sources = [layout.loading_source(i, v) for i in spec.indicators.get(v, ())]
        if any(kind == "fixed" and val != 0 for kind, val in sources):
            continue
        free = [val for kind, val in sources if kind == "param"]
        if free:
            anchors.add(int(free[0]))
    return anchors


@dataclass
class SamplingMetric:
    """How factors are sampled (see the module docstring): ``rescaled`` maps a factor's
    index in ``layout.structural`` to ``(variance parameter index, marker loading c)`` for
    marker-identified factors sampled in the std_lv metric; ``flipped`` maps a factor's
    index to its sign-anchor loading for ``std_lv`` factors whose sign is fixed after
    sampling."""

    rescaled: dict[int, tuple[int, float]] = field(default_factory=dict)
    flipped: dict[int, int] = field(default_factory=dict)

    @property
    def factors(self) -> set[int]:
        return set(self.rescaled) | set(self.flipped)

    def describe(self, layout: Layout) -> dict[str, str]:
        """Factor name -> how it was sampled (for the run's record)."""
        out = {}
        for k, v in enumerate(layout.structural):
            if k in self.rescaled:
                out[v] = "std_lv metric, mapped to the marker metric per draw"
            elif k in self.flipped:
                out[v] = "unconstrained sign, first loading made positive per draw"
        return out


def sampling_metric(spec: ModelSpec, layout: Layout, overridden: set[int],
                    sd_priors: dict[int, "P.Prior"], *, symmetric_psi: bool = False
                    ) -> SamplingMetric:
    """Which factors are sampled in the std_lv metric with a free sign (the default for
    every factor) and which keep the parameterisation as written because something ties
    them to it: a shared (equality-constrained) loading, regression or variance, a fixed
    non-zero value other than the marker, a prior written for one of their loadings or
    regressions (priors keep the metric they were written for), or a factor-variance prior
    other than ``halfnormal`` on the SD.

    ``overridden`` are the parameter indices with a user prior; ``sd_priors`` the chosen
    priors of the variance parameters.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("F =~ a + b + c\\nG =~ d + e + f\\nG ~ F")
    >>> layout = build_layout(spec)
    >>> sds = {layout.index(v): P.default_sd(1.0) for v in ("F~~F", "G~~G")}
    >>> sorted(sampling_metric(spec, layout, set(), sds).rescaled)
    [0, 1]
    """
    K = layout.n_params
    cells = np.concatenate([layout.gather[m] for m in ("lambda", "beta", "psi", "alpha")])
    uses = np.bincount(np.concatenate([cells, layout.gather["theta"], layout.gather["nu"]]),
                       minlength=K)[:K]
    m = len(layout.structural)
    metric = SamplingMetric()
    anchors = sign_anchors(spec, layout)
    # a product coefficient with a prior of its own, or equal to another parameter by a
    # label, keeps its outcome's and factors' metric as written
    tied = set()
    for q, p in enumerate(layout.params):
        if p.kind == "regression" and p.rhs not in layout.structural and (
                q in overridden or uses[q] > 0):
            tied |= {p.lhs, *p.rhs.split(":")}
    for k, v in enumerate(layout.structural):
        items = spec.indicators.get(v)
        if not items or any(i in layout.structural for i in items) or v in tied:
            # a higher-order factor or one with an item in a regression: as written (its
            # loadings are arrows of B, which the std_lv map below does not rescale)
            continue
        sources = [layout.loading_source(i, v) for i in items]
        fixed_nonzero = [val for kind, val in sources if kind == "fixed" and val != 0]
        loadings = [int(val) for kind, val in sources if kind == "param"]
        touching = list(loadings)
        ok = all(uses[q] == 1 and q not in overridden for q in loadings)
        for j in range(m):
            if j == k:
                continue
            for matrix, cell in (("beta", (k, j)), ("beta", (j, k)), ("psi", (k, j))):
                kind, val = layout.cell_source(matrix, *cell)
                if kind == "fixed" and val != 0:
                    ok = False
                elif kind == "param":
                    q = int(val)
                    touching.append(q)
                    # a covariance of psi fills its two symmetric cells
                    once = 2 if matrix == "psi" and symmetric_psi else 1
                    if uses[q] != once or (matrix == "beta" and q in overridden):
                        ok = False
        kind, val = layout.cell_source("alpha", k)
        if (kind == "fixed" and val != 0) or (kind == "param" and uses[int(val)] != 1):
            ok = False
        if not ok:
            continue
        kind, val = layout.cell_source("psi", k, k)
        if len(fixed_nonzero) == 1 and kind == "param":
            q = int(val)
            prior = sd_priors.get(q)
            if uses[q] == 1 and prior is not None and prior.family == "halfnormal" \
                    and prior.on == "sd":
                metric.rescaled[k] = (q, float(fixed_nonzero[0]))
        elif not fixed_nonzero and kind == "fixed" and val > 0:
            anchor = [q for q in loadings if q in anchors]
            if anchor:
                metric.flipped[k] = anchor[0]
    return metric


def _override(priors: dict | None, p) -> str:
    if priors:
        for key in (p.name, p.label):
            if key and key in priors:
                return priors[key]
    return p.prior


def build_model(spec: ModelSpec, frame: pd.DataFrame, *, likelihood: str = "normal",
                priors: dict[str, str] | None = None, reparameterize: bool | None = None,
                groups=None, fiml: str = "schur", prior_only: bool = False,
                fused: bool = True) -> BayesModel:
    """Build the PyMC model of ``spec`` on the survey ``frame`` (raw scale).

    ``priors`` maps parameter names (``OCA~EFF``) or labels to prior texts and overrides the
    model file's ``prior()`` modifiers and the defaults of :mod:`connective.bayes.priors`.
    ``groups`` (a :class:`~connective.bayes.groups.GroupDesign` from
    :func:`~connective.bayes.groups.group_design` on the same frame) makes the model
    hierarchical: ``parameters`` are then the population values, and the group-specific
    ones are pooled towards them (:mod:`connective.bayes.pooling`). ``fiml`` is how missing
    answers enter the normal likelihood (:mod:`connective.bayes.normal`): ``"schur"`` (one
    factorisation of Sigma) or wave 1's ``"patterns"``, kept for comparison. ``fused``
    (the default) computes the normal likelihood in one Op, complete or with missing
    answers, one group or many (:mod:`connective.bayes.sem_normal_op`); ``False`` builds
    the graph of PyTensor nodes before it (what ``fit`` builds for the JAX samplers).
    ``prior_only`` leaves the likelihood out (prior predictive sampling,
    :mod:`connective.bayes.prior_checks`); the data still scale the default priors.

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

    from connective.bayes import normal, ordinal

    if likelihood not in LIKELIHOODS:
        raise ModelError(f"unknown likelihood {likelihood!r}; expected one of "
                         f"{', '.join(LIKELIHOODS)}")
    normal.check_fiml(fiml)
    products = bool(spec.latent_interactions)
    if products and groups is not None:
        raise ModelError(f"{spec.source}: latent interactions "
                         f"({', '.join(i.product for i in spec.latent_interactions)}) are not "
                         "supported in hierarchical models; drop --group or the product term")
    if prior_only and (likelihood != "normal" or groups is not None or products):
        raise ModelError("prior-only sampling (--prior-only) works with the normal likelihood "
                         "of a single-level model without latent interactions; drop "
                         "--likelihood ordinal, --group or the product term")
    if likelihood == "normal" and groups is None and not products:
        # df < 0 is refused before sampling; the usual traps are named
        for message in require_identified(spec).warnings:
            warnings.warn(f"{spec.source}: {message}", UserWarning, stacklevel=2)
    layout = build_layout(spec)
    if products:  # the factor-score likelihood of bayes/interaction.py
        from connective.bayes.interaction import check_interaction_model

        check_interaction_model(spec, layout)
    stats = sufficient_statistics(frame, layout.observed)
    if groups is not None:
        normal.check_grouped(stats, groups)
        # in the marker metric, in which the group deviations of paths are expressed: with
        # population values sampled in the std_lv metric, an ordinal model with 4 groups
        # mixed worse (2 x 400 draws: R-hat 1.21 and 10 divergences, against 1.05 and 1)
        reparameterize = False
    sd = dict(zip(layout.observed, stats.sd))
    mean = dict(zip(layout.observed, stats.mean))
    odata = None
    fixed: dict[int, float] = {}  # parameters fixed by the likelihood (ordinal: theta param.)
    # fixed.x: the covariates' moments are the sample's (hierarchical models: random, since
    # their groups' means and variances differ)
    exo = layout.exo if groups is None else []
    exo_values = fixed_x_values(layout, frame, exo)
    if likelihood == "ordinal":
        odata = ordinal.ordinal_setup(spec, layout, frame)
        structural_items = set(spec.structural_items)
        for k, p in enumerate(layout.params):
            if p.matrix == "theta" and p.kind == "variance":
                fixed[k] = 1.0
            elif p.matrix == "nu" or (p.lhs in structural_items and p.kind == "intercept"):
                fixed[k] = 0.0
            elif p.lhs in structural_items and p.kind == "variance":
                # an item in a regression: the probit's unit residual is its disturbance
                fixed[k] = 0.0
        # latent responses have residual SD 1; a scale of 2 stands in for an item's SD
        sd = {v: ORDINAL_ITEM_SCALE for v in layout.observed}
        mean = {v: 0.0 for v in layout.observed}
    scale = structural_scales(spec, layout, sd)
    anchors = sign_anchors(spec, layout)

    def var_scale(p) -> float:
        return scale[p.lhs] if p.matrix in ("psi", "alpha") else sd[p.lhs]

    def indicator_scale(v: str) -> float:  # an item's SD, a first-order construct's scale
        return scale[v] if v in scale else sd[v]

    # -- priors per parameter ---------------------------------------------------------------
    texts = {k: _override(priors, p) for k, p in enumerate(layout.params)}
    overridden = {k for k, t in texts.items() if t}
    chosen: dict[int, tuple[P.Prior, bool]] = {}  # index -> (prior, must be positive)

    def parsed(k: int, default: P.Prior) -> P.Prior:
        p = layout.params[k]
        where = f"{spec.source}: prior of {p.name}"
        prior = P.parse_prior(texts[k], where=where) if texts[k] else default
        if prior.on == "std":
            check_std_prior(p, where)
            if groups is not None:
                raise ModelError(f"{where}: [std] priors are not available for hierarchical "
                                 "models (--group); drop [std] for a raw-scale prior")
            return prior
        if p.kind == "variance":
            if prior.on == "value":
                prior = P.Prior(prior.family, prior.args, "sd")
            if not prior.positive:
                raise ModelError(f"{where}: a variance's prior must be positive (halfnormal, "
                                 f"lognormal, gamma, or uniform from 0); got {prior.text()}")
        if p.kind == "covariance" and prior.family != "beta" \
                and k not in layout.shared_covariances:
            raise ModelError(f"{where}: a covariance's prior is on its correlation r and must "
                             f"be beta(a, b) for (r + 1) / 2; got {prior.text()}")
        return prior

    for k, p in enumerate(layout.params):
        if p.kind == "variance":
            chosen[k] = (parsed(k, P.default_sd(var_scale(p))), False)
    if reparameterize is None:  # factor scores mix far better with unit factor variances
        reparameterize = likelihood == "ordinal" or products
    # symmetric_psi: a factor covariance (two cells of psi) leaves the factors free to be
    # rescaled; only interaction models so far (see sampling_metric)
    metric = sampling_metric(spec, layout, overridden, {k: c[0] for k, c in chosen.items()},
                             symmetric_psi=products) if reparameterize else SamplingMetric()
    flipped_anchors = set(metric.flipped.values())
    # the scale of a structural variable *as sampled*: 1 for factors in the std_lv metric
    sampled_scale = dict(scale)
    for k in metric.factors:
        sampled_scale[layout.structural[k]] = 1.0
    for k, p in enumerate(layout.params):
        if p.kind == "loading" and likelihood == "ordinal" \
                and layout.structural.index(p.lhs) in metric.factors:
            default = P.default_ordinal_loading(anchor=k in anchors)
        elif p.kind == "loading":
            default = P.default_loading(indicator_scale(p.rhs), sampled_scale[p.lhs],
                                        anchor=k in anchors)
        elif p.kind == "regression" and p.rhs not in sampled_scale:  # a latent product
            a, b = p.rhs.split(":")
            default = P.default_regression(sampled_scale[p.lhs],
                                           sampled_scale[a] * sampled_scale[b],
                                           std_target=layout.structural.index(p.lhs)
                                           in metric.factors)
        elif p.kind == "regression":
            default = P.default_regression(sampled_scale[p.lhs], sampled_scale[p.rhs],
                                           std_target=layout.structural.index(p.lhs)
                                           in metric.factors)
        elif p.kind == "variance":
            continue
        elif p.kind == "covariance" and k in layout.shared_covariances:
            default = P.default_covariance(var_scale(p), scale[p.rhs] if p.matrix == "psi"
                                           else sd[p.rhs])
        elif p.kind == "covariance":
            default = P.default_correlation()
        else:
            default = P.default_intercept(mean.get(p.lhs, 0.0),
                                          sd.get(p.lhs, scale.get(p.lhs, 1.0)))
        prior = parsed(k, default)
        chosen[k] = (prior, k in anchors and k not in flipped_anchors and not prior.positive)
    used = {layout.params[k].name: chosen[k][0].text() for k in range(layout.n_params)
            if k not in fixed and k not in exo}

    # -- starting values (lavaan-like: half of each variance is error) ----------------------
    start = {}
    item_corr = frame[list(layout.observed)].apply(pd.to_numeric, errors="coerce").corr()
    for k, p in enumerate(layout.params):
        if p.kind == "loading":
            ratio = indicator_scale(p.rhs) / sampled_scale[p.lhs]
            in_std = spec.std_lv or layout.structural.index(p.lhs) in metric.factors
            # on the side of zero the data point to: a loading started with the wrong sign
            # cannot cross zero and leaves the chain in a collapsed mode (factor variance
            # near 0), as simulation-based calibration with negative loadings showed
            first = spec.indicators[p.lhs][0]
            items = item_corr.columns
            sign = -1.0 if (p.rhs != first and first in items and p.rhs in items
                            and item_corr.at[first, p.rhs] < 0) else 1.0
            start[k] = sign * (ratio * np.sqrt(0.5) if in_std else ratio)
        elif p.kind == "regression":
            start[k] = 0.0
        elif p.kind == "variance":
            is_obs_struct = p.matrix == "psi" and p.lhs in sd and p.lhs not in spec.indicators
            start[k] = var_scale(p) * (1.0 if is_obs_struct else np.sqrt(0.5))  # an SD
        elif p.kind == "covariance":
            start[k] = 0.0 if k in layout.shared_covariances else 0.5  # value, or (r + 1) / 2
        else:
            # a hair off the sample mean: at the mean the gradient is exactly zero, which
            # nutpie's gradient-based initial mass matrix cannot use
            start[k] = mean.get(p.lhs, 0.0) + 0.01 * sd.get(p.lhs, 1.0)
    if prior_only:  # no likelihood: the priors' gradients are exactly 0 at 0 and at r = 0
        for k, p in enumerate(layout.params):
            if p.kind == "regression" and start[k] == 0.0:
                start[k] = 0.01 * sampled_scale[p.lhs] / sampled_scale[p.rhs]
            elif p.kind == "covariance" and k not in layout.shared_covariances:
                start[k] = 0.55
    rescaled_slots = {q: (k, c) for k, (q, c) in metric.rescaled.items()}

    # -- the PyMC model -----------------------------------------------------------------------
    blocks: dict[tuple, list[int]] = defaultdict(list)  # one PyMC variable each
    for k, p in enumerate(layout.params):
        if k in fixed or k in exo:
            continue
        prior, bounded = chosen[k]
        family = prior.family
        role = {"loading": "loading", "regression": "regression", "variance": "sd",
                "covariance": "corr", "intercept": "intercept"}[p.kind]
        if k in layout.shared_covariances:
            role = "covariance"
        if p.kind == "variance" and prior.on == "var":
            role = "variance"
        if prior.on == "std":
            family = "flat"  # the density is the potential of bayes/std_priors.py
        elif k in rescaled_slots:
            role, family = "factor_scale", "normal"
        elif k in flipped_anchors:
            family = "normal"  # halfnormal(s) folded out to normal(0, s): sign fixed later
        blocks[(role, family, bounded)].append(k)
    coords = {"param": layout.names}
    group_layout = None
    if groups is not None:
        from connective.bayes import pooling

        group_layout = layout.with_intercepts(groups.latent_means)
        coords.update(pooling.coords(groups, group_layout))
        for name, s in zip(groups.varying, pooling.between_group_scales(groups.varying, scale)):
            used[f"sd({name}) between {groups.column}"] = f"halfnormal({s:.4g})"
        if groups.covariance == "full" and len(groups.varying) > 1:
            used[f"corr between {groups.column}"] = f"lkj({P.LKJ_ETA:g})"
    if odata is not None or products:
        coords["respondent"] = np.arange(len(frame))
        coords["structural"] = list(layout.structural)
    if odata is not None:
        coords["threshold"] = [f"{v}|t{t + 1}" for v, cats in
                               zip(odata.variables, odata.categories)
                               for t in range(len(cats) - 1)]
    initvals: dict[str, np.ndarray] = {}
    with pm.Model(coords=coords) as model:
        pieces: list[tuple[list[int], object]] = []
        cov_pieces: list[tuple[list[int], object]] = []
        names_taken: set[str] = set()
        for (role, family, bounded), idx in blocks.items():
            name = role
            default_family = {"loading": "normal", "regression": "normal", "sd": "halfnormal",
                              "corr": "beta", "intercept": "normal", "covariance": "normal",
                              "factor_scale": "normal"}.get(role)
            if family != default_family:
                name = f"{role}_{family}"
            if bounded:
                name += "_positive"
            if name in names_taken:
                name = f"{name}_{len(names_taken)}"
            names_taken.add(name)
            if role == "factor_scale":
                # halfnormal(s) on the factor's SD in the marker metric is normal(0, s |c|)
                # on its marker loading in the std_lv metric (SD = |loading / c|)
                args = np.array([[0.0, chosen[k][0].args[0] * abs(rescaled_slots[k][1])]
                                 for k in idx]).T
            elif family == "normal" and any(k in flipped_anchors for k in idx):
                args = np.array([[0.0, chosen[k][0].args[0]] if k in flipped_anchors
                                 else chosen[k][0].args for k in idx]).T
            else:
                args = np.array([chosen[k][0].args for k in idx]).T  # one row per argument
            # the arguments as data, not constants: the default priors are scaled by the
            # data, and a compiled model reused on new data must take their priors too
            shared_args = pm.Data(f"prior_{name}", args.astype(float))
            rv = _distribution(pm, name, family, shared_args, len(idx), bounded)
            iv = np.array([start[k] for k in idx], dtype=float)
            if role == "factor_scale":
                iv = np.array([start[k] * rescaled_slots[k][1] for k in idx])
            elif family in P.POSITIVE_FAMILIES or bounded or role in ("sd", "variance"):
                iv = np.maximum(iv, 1e-3)
            if role == "variance":
                iv = iv ** 2
            if family == "uniform":
                iv = np.clip(iv, args[0] + 1e-6 * (args[1] - args[0]),
                             args[1] - 1e-6 * (args[1] - args[0]))
            if family == "beta":
                iv = np.clip(iv, 0.01, 0.99)
            initvals[name] = iv
            model.set_initval(rv, iv)  # also the model's own initial point
            if role == "sd":
                pieces.append((idx, rv ** 2))
            elif role == "corr":
                cov_pieces.append((idx, 2.0 * rv - 1.0))
            else:
                pieces.append((idx, rv))
        theta, scales = _sampled_to_theta(pt, layout, metric, pieces, cov_pieces)
        if fixed:
            theta = pt.set_subtensor(theta[np.array(list(fixed))], np.array(list(fixed.values())))
        if exo:  # data, so that a compiled model takes a new data set's (with_data)
            theta = pt.set_subtensor(theta[np.array(exo)], pm.Data("fixed_x", exo_values))
        theta = pm.Deterministic("parameters", theta, dims="param")
        std_slots = [k for k in range(layout.n_params) if k in chosen
                     and chosen[k][0].on == "std" and k not in fixed and k not in exo]
        if std_slots:
            pm.Potential("std_prior", std_log_density(spec, layout, theta, std_slots,
                                                      [chosen[k][0] for k in std_slots]))
        options = {"likelihood": likelihood, "priors": dict(priors or {}),
                   "metric": metric.describe(layout)}
        if not stats.complete and likelihood == "normal":
            options["fiml"] = fiml
        if likelihood == "normal" and not fused:
            options["fused"] = False  # (with_data builds the same graph)
        theta_g = None
        if groups is not None:
            from connective.bayes.pooling import group_parameters

            extra = len(groups.latent_means)
            theta_ext = pt.concatenate([theta, pt.zeros(extra)]) if extra else theta
            theta_g = group_parameters(pm, pt, groups, group_layout, theta_ext, scales=scale,
                                       item_sd=sd, initvals=initvals)
            # smaller steps: between-group SDs near 0 curve the posterior
            options.update(groups=groups.describe(), target_accept=groups_target_accept(
                likelihood, groups.n_groups))
        built = dict(spec=spec, model=model, layout=layout, stats=stats, priors=used,
                     initvals=initvals, likelihood=likelihood, options=options, metric=metric,
                     groups=groups, group_layout=group_layout, fixed_x=exo_values)
        if products:
            from connective.bayes.interaction import interaction_likelihood

            items = interaction_likelihood(pm, pt, spec, layout, theta, scales, frame,
                                           initvals, used, odata)
            options["interactions"] = [i.product for i in spec.latent_interactions]
            return BayesModel(**built, ordinal=odata, items=items)
        if odata is not None:
            grouped = None if groups is None else (group_layout, theta_g, groups.index)
            ordinal.ordinal_likelihood(pm, pt, layout, odata, theta, scales, initvals, used,
                                       frame, grouped=grouped)
            return BayesModel(**built, ordinal=odata)
        if groups is not None:
            pm.Potential("loglik", normal.grouped_loglik(pm, pt, group_layout, theta_g, stats,
                                                         groups, fused))
            return BayesModel(**built)
        if prior_only:
            options["prior_only"] = True
            if improper_blocks(layout) or layout.shared_covariances:
                # draws whose implied covariance is not a covariance imply no data
                _, sigma = implied_moments(layout, theta)
                pm.Potential("implied_pd", pt.switch(implied_covariance_guard(sigma), 0.0,
                                                     -np.inf))
            return BayesModel(**built)
        loglik, sigma = normal.normal_loglik(pm, pt, layout, theta, stats, fiml, fused)
        if sigma is not None and (improper_blocks(layout) or layout.shared_covariances):
            # only then can Sigma fail to be positive definite (see implied_covariance_guard)
            loglik = pt.switch(implied_covariance_guard(sigma), loglik, -np.inf)
        pm.Potential("loglik", loglik)
    return BayesModel(**built)


def _sampled_to_theta(pt, layout: Layout, metric: SamplingMetric, pieces, cov_pieces):
    """lavaan's ``theta`` (the model's own metric) from the sampled values.

    ``u`` holds the sampled values in the slots of ``theta``; for a factor in
    ``metric.rescaled`` its variance slot holds its marker loading in the std_lv metric.
    With ``s_k = loading_k / c_k`` (rescaled), ``sign(anchor_k)`` (flipped) or 1 (others):
    loadings on k are divided by ``s_k``, a regression t ~ s is multiplied by ``s_t / s_s``,
    (residual) covariances of factors by ``s_i s_j``, latent intercepts by ``s_k``, and a
    rescaled factor's (residual) variance is ``s_k^2`` (1 in the std_lv metric). The map is
    invariant to reflecting a factor, so both reflected modes give the same ``theta``.
    """
    u = pt.zeros(layout.n_params)
    for idx, values in pieces:
        u = pt.set_subtensor(u[np.array(idx)], values)
    if cov_pieces:
        unit = u
        if metric.rescaled:
            unit = pt.set_subtensor(u[np.array([q for q, _ in metric.rescaled.values()])], 1.0)
        u = correlations_to_covariances(pt, layout, u, unit, cov_pieces)
    m = len(layout.structural)
    s = pt.ones(m)
    if not metric.factors:
        return u, s
    if metric.rescaled:
        ks = np.array(list(metric.rescaled))
        qs = np.array([metric.rescaled[k][0] for k in ks])
        cs = np.array([metric.rescaled[k][1] for k in ks])
        s = pt.set_subtensor(s[ks], u[qs] / cs)
    if metric.flipped:
        ks = np.array(list(metric.flipped))
        qs = np.array([metric.flipped[k] for k in ks])
        s = pt.set_subtensor(s[ks], pt.switch(u[qs] >= 0, 1.0, -1.0))
    eta = {v: i for i, v in enumerate(layout.structural)}
    factors = metric.factors
    idx, mult_num, mult_den = [], [], []  # theta_q = u_q * prod(s[num]) / prod(s[den])
    for q, p in enumerate(layout.params):
        if p.kind == "loading" and eta[p.lhs] in factors:
            idx.append(q), mult_num.append([]), mult_den.append([eta[p.lhs]])
        elif p.kind == "regression" and p.rhs not in eta:  # a latent product a:b
            den = [eta[v] for v in p.rhs.split(":")]
            if eta[p.lhs] in factors or set(den) & factors:
                idx.append(q), mult_num.append([eta[p.lhs]]), mult_den.append(den)
        elif p.kind == "regression" and (eta[p.lhs] in factors or eta[p.rhs] in factors):
            idx.append(q), mult_num.append([eta[p.lhs]]), mult_den.append([eta[p.rhs]])
        elif p.matrix == "psi" and p.kind == "covariance" and (
                eta[p.lhs] in factors or eta[p.rhs] in factors):
            idx.append(q), mult_num.append([eta[p.lhs], eta[p.rhs]]), mult_den.append([])
        elif p.matrix == "alpha" and p.lhs in eta and eta[p.lhs] in factors:
            idx.append(q), mult_num.append([eta[p.lhs]]), mult_den.append([])
    theta = u
    if idx:
        num = pt.stack([pt.prod(s[np.array(n)]) if n else pt.constant(1.0) for n in mult_num])
        den = pt.stack([pt.prod(s[np.array(d)]) if d else pt.constant(1.0) for d in mult_den])
        theta = pt.set_subtensor(theta[np.array(idx)], u[np.array(idx)] * num / den)
    if metric.rescaled:
        ks = np.array(list(metric.rescaled))
        qs = np.array([metric.rescaled[k][0] for k in ks])
        theta = pt.set_subtensor(theta[qs], s[ks] ** 2)
    return theta, s


def correlations_to_covariances(pt, layout: Layout, u, variances, pieces):
    """``u`` with each sampled correlation ``rho`` of ``pieces`` ((slots, rho) pairs) in its
    covariance slots replaced by ``rho * sqrt(var_i var_j)``, the variances read from
    ``variances`` (the parameter vector they are in) and the layout's constants."""
    ext = pt.concatenate([variances, pt.as_tensor_variable(layout.constants)])
    for idx, rho in pieces:
        vi, vj = [], []
        for k in idx:
            matrix, i, j = layout.covariances[k]
            cols = layout.shapes[matrix][1]
            vi.append(layout.gather[matrix][i * cols + i])
            vj.append(layout.gather[matrix][j * cols + j])
        u = pt.set_subtensor(u[np.array(idx)],
                             rho * pt.sqrt(ext[np.array(vi)] * ext[np.array(vj)]))
    return u


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


def improper_blocks(layout: Layout) -> list[tuple[str, list[int]]]:
    """The blocks of three or more variables linked by free covariances (per matrix): the
    only places where a (residual) covariance matrix can fail to be positive definite,
    since each pair has |r| < 1 by its parameterisation.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> layout = build_layout(parse_model("F =~ a + b + c + d\\na ~~ b\\nc ~~ d"))
    >>> improper_blocks(layout)
    []
    """
    return [b for b in covariance_blocks(layout) if len(b[1]) >= 3]


def implied_covariance_guard(sigma):
    """A boolean tensor: the implied covariance ``sigma`` is positive definite (its Cholesky
    factor is finite).

    This is what the likelihood needs. A hard wall on each residual block instead (Sylvester's
    criterion on Theta) put a cliff in the posterior that NUTS hit as divergences (1-10 in 3
    of 10 seeds on PoliticalDemocracy, whose y2-y4-y8-y6 residual covariances form a cycle);
    a block that is not positive definite is a Heywood-type case, reported after sampling
    (:func:`improper_share`) as lavaan warns of it, not a reason to reject the draw.
    """
    import pytensor.tensor as pt

    return ~pt.any(pt.isnan(pt.linalg.cholesky(sigma, on_error="nan")))


def improper_share(layout: Layout, theta: np.ndarray) -> dict[str, float]:
    """Per block of :func:`improper_blocks` (named by its variables), the share of draws
    ``theta`` (…, n_params) whose block is not positive definite.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> layout = build_layout(parse_model("F =~ a + b + c\\na ~~ b\\nb ~~ c\\na ~~ c"))
    >>> r = {"a~~b": -0.9, "b~~c": -0.9, "a~~c": -0.9}  # each |r| < 1, jointly impossible
    >>> values = np.array([r.get(name, 1.0) for name in layout.names])
    >>> improper_share(layout, values[None, :])
    {'a, b, c': 1.0}
    """
    from connective.bayes.matrices import model_matrices

    blocks = improper_blocks(layout)
    if not blocks:
        return {}
    mats = model_matrices(layout, np.asarray(theta, dtype=float))
    out = {}
    for matrix, idx in blocks:
        names = layout.structural if matrix == "psi" else layout.observed
        sub = mats[matrix][..., idx, :][..., :, idx]
        smallest = np.linalg.eigvalsh(sub)[..., 0]
        out[", ".join(names[i] for i in idx)] = float(np.mean(smallest <= 0))
    return out


def _distribution(pm, name: str, family: str, args: np.ndarray, size: int, bounded: bool):
    if family == "flat":
        return (pm.HalfFlat if bounded else pm.Flat)(name, shape=size)
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
        lower = args[0] if not bounded else pm.math.maximum(args[0], 0.0)
        return pm.Uniform(name, lower=lower, upper=args[1], shape=size)
    raise ModelError(f"unsupported prior family {family!r}")  # pragma: no cover
