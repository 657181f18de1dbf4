"""Interactions of constructs in PLS (``Y ~ X + W + X:W``): the three approaches of seminr's
``interaction_term(iv, moderator, method = two_stage | product_indicator | orthogonal)``
(Henseler & Chin 2010), as a model rewrite plus the product columns it needs.

* **two_stage** (the default; SmartPLS' and seminr's): stage one estimates the model
  without the product terms; the product of the two stage-one construct scores (each
  standardised) is the single indicator of the interaction term in stage two.
* **product_indicator**: every item of X (standardised) times every item of W
  (standardised) measures the interaction term, in mode A. A quadratic term ``X^2`` takes
  each pair of items once.
* **orthogonal**: those products, each replaced by its residual from the regression on all
  items of X and W (with an intercept), measure the interaction term, in mode A.

An observed variable in the structural part (``Y ~ X + sex + X:sex``) is a construct of
one item, itself; a product of two observed variables (``y ~ x1 + x2 + x1:x2``) is made
the same way, from the standardised variables (not the raw product the Bayesian engine
uses), so that every product term of a PLS model means the same. The product construct is then a construct like any other (stage two
standardises its indicators, as seminr's ``simplePLS`` does), so the estimation runs the
engine's one algorithm on the correlations of the items and the product columns. Those
correlations need the rows, not only the items' correlations (the products are fourth-order
moments): :func:`augmented_correlations` makes them from the standardised items and row
weights, so the point estimate, every bootstrap replicate and every jackknife row rebuild
the products (and, for two-stage, rerun stage one) on their own rows.

Names: the product term keeps the model's name (``Y~X:W``, as
:attr:`connective.spec.ModelSpec.interactions` and the Bayesian engine name it), its
product indicators are ``x1:w1``; inside the rewritten model they are spelt ``X.x.W``.

The product term's path is seminr's (:func:`rescale_product_paths`): that of the centred
product itself, not of its standardised score, so that the effect of X at W = w (in SD
units of the construct scores) is ``b_X + b_XW * w``, which is what
:func:`connective.effects.conditional_effects` computes for every engine.

Example
-------
>>> from connective.spec import parse_model
>>> spec = parse_model("X =~ x1 + x2\\nW =~ w1 + w2\\nY =~ y1 + y2\\nY ~ X + W + X:W")
>>> plan = interaction_plan(spec, "product_indicator")
>>> plan.products[0].columns
('x1:w1', 'x1:w2', 'x2:w1', 'x2:w2')
>>> plan.paths
(('X', 'Y'), ('W', 'Y'), ('X:W', 'Y'))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connective.pls.errors import PLSModelError
from connective.spec import ModelSpec, parse_model
from connective.spec.model import Interaction

METHODS = ("two_stage", "product_indicator", "orthogonal")
#: how a product is spelt inside the rewritten model (the parser reads ':' as a product)
SEP = ".x."


@dataclass(frozen=True)
class ProductTerm:
    """One latent product term: the model's :class:`Interaction`, its construct name in
    the rewritten model (display name ``a:b``), its indicator columns (display names) and,
    for product indicators, the (item of a, item of b) pair behind each column."""

    interaction: Interaction
    construct: str
    columns: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    items_a: tuple[str, ...]
    items_b: tuple[str, ...]


@dataclass(frozen=True)
class InteractionPlan:
    """The rewrite of a model with latent product terms: ``base`` (the model without them:
    two-stage's stage one, and the items every method starts from), ``augmented`` (each
    product a construct of its own, spelt ``a.x.b``), the product terms, and the
    structural paths in display names (``X:W`` for a product)."""

    method: str
    base: ModelSpec
    augmented: ModelSpec
    products: tuple[ProductTerm, ...]
    paths: tuple[tuple[str, str], ...]

    def display(self, name: str) -> str:
        """A name of the rewritten model as the user wrote it (``X.x.W`` -> ``X:W``)."""
        return name.replace(SEP, ":")


def _items(spec: ModelSpec, v: str) -> tuple[str, ...]:
    """A construct's items; an observed variable in the structural part is its own item."""
    return tuple(spec.indicators[v]) if v in spec.indicators else (v,)


def interaction_plan(spec: ModelSpec, method: str = "two_stage") -> InteractionPlan:
    """The base and augmented models of ``spec``'s latent product terms (module docstring).

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("X =~ x1 + x2\\nW =~ w1 + w2\\nY =~ y1 + y2\\nY ~ X + W + b*X:W")
    >>> plan = interaction_plan(spec)
    >>> plan.base.paths, plan.products[0].columns
    ([('X', 'Y'), ('W', 'Y')], ('X:W',))
    """
    if method not in METHODS:
        raise PLSModelError(f"unknown interaction method {method!r}; expected one of "
                            f"{', '.join(METHODS)} (--interaction-method "
                            f"{'|'.join(METHODS)})")
    if spec.higher_order:
        raise PLSModelError(f"{spec.source}: product terms and higher-order constructs "
                            f"({', '.join(spec.higher_order)}) in one model are not supported "
                            "in PLS; estimate the interaction on the dimensions' model, or "
                            "drop one of them")
    latent = spec.interactions  # observed products too: as single-item constructs
    table = spec.partable
    rows = table[(table["user"] == 1) & table["op"].isin(["=~", "<~", "~"])]
    products = {i.name for i in latent}
    base_lines, extra = [], []
    for r in rows.itertuples():
        if r.name in products:
            continue
        base_lines.append(f"{r.lhs} {r.op} {r.label + '*' if r.label else ''}{r.rhs}")
    base = parse_model("\n".join(base_lines), source=f"{spec.source} (without products)")
    terms = []
    in_paths = {v for path in base.paths for v in path}
    for i in latent:
        for v in (i.a, i.b):
            if v not in in_paths:
                raise PLSModelError(
                    f"{spec.source}: {v} enters the product term {i.product} but no path of "
                    f"its own; PLS estimates its scores in the model without the products: "
                    f"add its main effect ({i.outcome} ~ {v}), as a moderation model has")
        construct = f"{i.a}{SEP}{i.b}"
        ia, ib = _items(spec, i.a), _items(spec, i.b)
        if method == "two_stage":
            pairs: tuple = ()
            columns = (construct,)
        else:
            quadratic = i.a == i.b
            pairs = tuple((x, w) for k, x in enumerate(ia) for m, w in enumerate(ib)
                          if not quadratic or m >= k)
            columns = tuple(f"{x}{SEP}{w}" for x, w in pairs)
            extra.append(f"{construct} =~ {' + '.join(columns)}")
        label = f"{i.label}*" if i.label else ""
        extra.append(f"{i.outcome} ~ {label}{construct}")
        terms.append((i, construct, columns, pairs, ia, ib))
    defined = [f"{r.lhs} := {r.rhs}" for r in table[table["op"] == ":="].itertuples()]
    augmented = parse_model("\n".join(base_lines + extra + defined),
                            source=f"{spec.source} (products as constructs)")
    plan = InteractionPlan(method=method, base=base, augmented=augmented, products=(),
                           paths=())
    show = plan.display
    products_out = tuple(ProductTerm(i, c, tuple(show(x) for x in cols), pairs, ia, ib)
                         for i, c, cols, pairs, ia, ib in terms)
    paths = tuple((show(s), show(t)) for s, t in augmented.paths)
    return InteractionPlan(method=method, base=base, augmented=augmented,
                           products=products_out, paths=paths)


def check_interaction_options(spec: ModelSpec, consistent: bool) -> None:
    """Refuse what the interaction approaches do not define: PLSc (seminr applies none to
    interaction terms, and cSEM's consistent nonlinear estimator, Dijkstra &
    Schermelleh-Engel 2014, is a different method that is not implemented here)."""
    if consistent:
        names = ", ".join(i.product for i in spec.interactions)
        raise PLSModelError(
            f"{spec.source}: PLSc (--consistent) is not defined for the product term(s) "
            f"{names} by the two-stage, product-indicator or orthogonal approaches (seminr "
            "and SmartPLS estimate them with PLS): drop --consistent")


def refuse_products(result, analysis: str) -> None:
    """The analyses after estimation (PLSpredict, MGA, MICOM, IPMA) re-estimate the model
    from row subsets' correlations, which cannot carry product terms: refuse them."""
    if result.model.interaction is not None:
        names = ", ".join(t.interaction.product for t in result.model.interaction.products)
        raise PLSModelError(f"{result.spec.source}: {analysis} does not handle the product "
                            f"term(s) {names} yet; run it on the model without them")


def interaction_note(plan: InteractionPlan) -> str:
    """The sentence a result carries about how its product terms were estimated."""
    names = ", ".join(t.interaction.product for t in plan.products)
    how = {"two_stage": "two-stage approach (stage one without the products; the product of "
                        "the two stage-one scores is the single indicator of the interaction "
                        "term, standardised in stage two)",
           "product_indicator": "product-indicator approach (every pair of standardised "
                                "items measures the interaction term, mode A)",
           "orthogonal": "orthogonalised product indicators (each product's residual from "
                         "the items of both constructs measures the interaction term, "
                         "mode A)"}[plan.method]
    return (f"product term(s) {names}: {how}, as seminr's interaction_term(); a product "
            "term's path is seminr's, that of the product itself (its standardised path "
            "divided by the product's SD), so the effect of X at W = w is b_X + b_XW * w")


@dataclass
class AugmentedMoments:
    """Per replicate (leading dim): correlations of the augmented model's columns, the SD
    of each unstandardised product column (as seminr's ``sd`` of its interaction data:
    divisor N - 1), whether stage one converged (two-stage; else True), and stage one's
    weights (two-stage)."""

    R: np.ndarray
    column_sd: dict[str, np.ndarray]
    converged: np.ndarray
    stage_one_weights: np.ndarray | None


def augmented_correlations(model, X: np.ndarray, counts: np.ndarray | None = None, *,
                           scheme: str = "path", tol: float = 1e-7, max_iter: int = 300,
                           budget: float = 4e6) -> AugmentedMoments:
    """Correlations of the interaction model's columns (``model.columns``: the items and
    the product columns) from the standardised items ``X (n, p)`` (the base model's
    columns) and row ``counts (b, n)`` (how often each row is drawn: bootstrap replicates,
    jackknife rows; None: every row once). Each replicate standardises its own rows,
    makes its own products and, for two-stage, estimates its own stage one.

    ``budget`` bounds the number of cells held at once (replicates are done in slices).

    Example
    -------
    >>> import numpy as np
    >>> from connective.spec import parse_model
    >>> from connective.pls.model import PLSModel
    >>> spec = parse_model("X =~ x1 + x2\\nW =~ w1\\nY =~ y1\\nY ~ X + W + X:W")
    >>> m = PLSModel.from_spec(spec, interaction="product_indicator")
    >>> X = np.random.default_rng(1).standard_normal((50, 4))
    >>> out = augmented_correlations(m, (X - X.mean(0)) / X.std(0, ddof=1))
    >>> out.R.shape, m.columns
    ((1, 6, 6), ('x1', 'x2', 'w1', 'x1:w1', 'x2:w1', 'y1'))
    """
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    counts = np.ones((1, n)) if counts is None else np.atleast_2d(np.asarray(counts, float))
    plan = model.interaction
    k = p + sum(len(t.columns) for t in plan.products)
    step = max(1, int(budget // max(1, n * k)))
    parts = [_slice(model, X, counts[i:i + step], scheme=scheme, tol=tol, max_iter=max_iter)
             for i in range(0, len(counts), step)]
    return AugmentedMoments(
        R=np.concatenate([q.R for q in parts]),
        column_sd={c: np.concatenate([q.column_sd[c] for q in parts])
                   for c in parts[0].column_sd},
        converged=np.concatenate([q.converged for q in parts]),
        stage_one_weights=(None if parts[0].stage_one_weights is None else
                           np.concatenate([q.stage_one_weights for q in parts])))


def rescale_product_paths(fit: dict, model, column_sd: dict[str, np.ndarray]) -> None:
    """seminr's scale of the interaction term (Henseler & Chin 2010, seminr's
    ``adjust_interaction``): its score is multiplied by the loading-weighted mean SD of its
    unstandardised indicators, ``sum_k sd_k |l_k| / sum_k |l_k|``, so its path is that of
    the (centred) product itself, not of its standardised score: the effect of X at W = w
    is then ``b_X + b_XW * w`` (scores in SD units). Divides the product terms' paths in
    ``fit`` (in place) and stores the factors as ``fit["product_scale"] (..., terms)``.
    R^2, f^2 and VIF do not change (they are scale-free)."""
    plan = model.interaction
    index = {c: j for j, c in enumerate(model.constructs)}
    scales = []
    for term in plan.products:
        j = index[term.interaction.product]
        cols = model.block_columns(j)
        lam = np.abs(fit["loadings"][..., cols])
        sd = np.stack([column_sd[model.columns[c]] for c in cols], axis=-1)
        scale = np.sum(sd * lam, axis=-1) / np.sum(lam, axis=-1)
        t = index[term.interaction.outcome]
        fit["paths"][..., t, j] = fit["paths"][..., t, j] / scale
        scales.append(scale)
    fit["product_scale"] = np.stack(scales, axis=-1)


def _weighted_corr(w: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Covariance-based correlations ``(b, k, k)`` and SDs ``(b, k)`` of ``M (b, n, k)``
    under row weights ``w (b, n)`` summing to 1."""
    mean = (w[:, None, :] @ M)[:, 0]
    Mc = M - mean[:, None, :]
    cov = np.swapaxes(Mc * w[:, :, None], 1, 2) @ Mc  # batched BLAS, not einsum
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        return cov / (sd[:, :, None] * sd[:, None, :]), sd


def augmented_data(model, X: np.ndarray, *, scheme: str = "path", tol: float = 1e-7,
                   max_iter: int = 300) -> np.ndarray:
    """The model's columns for every row (items and product columns, each standardised
    with divisor N - 1), as :func:`augmented_correlations` builds them: the data behind
    the construct scores of an interaction model."""
    cols = _slice(model, np.asarray(X, float), np.ones((1, len(X))), scheme=scheme, tol=tol,
                  max_iter=max_iter, rows=True)
    return cols


def _slice(model, X: np.ndarray, counts: np.ndarray, *, scheme: str, tol: float,
           max_iter: int, rows: bool = False):
    from connective.pls.estimate import fit_correlations

    plan, base = model.interaction, model.base
    b = len(counts)
    w = counts / counts.sum(axis=1, keepdims=True)
    # each replicate's own standardisation of the items (the correlations do not depend on
    # the SD's divisor; the centring matters for the products)
    Z, _ = None, None
    mean = w @ X
    Xc = X[None] - mean[:, None, :]
    sd = np.sqrt(np.clip((w[:, None, :] @ (Xc * Xc))[:, 0], 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        Z = Xc / sd[:, None, :]
    first = {c: i for i, c in reversed(list(enumerate(base.columns)))}
    converged = np.ones(b, dtype=bool)
    stage_w = None
    columns: list[np.ndarray] = []
    names: list[str] = []
    if plan.method == "two_stage":
        R_items, _ = _weighted_corr(w, Z)
        ok = np.all(np.isfinite(R_items), axis=(1, 2))
        safe = np.where(ok[:, None, None], R_items, np.eye(R_items.shape[-1]))
        one = fit_correlations(safe, base, scheme=scheme, tol=tol, max_iter=max_iter)
        stage_w = one["weights"]
        converged = ok & np.asarray(one["converged"], dtype=bool).reshape(b)
        scores = Z @ (stage_w[:, :, None] * base.membership)  # (b, n, J): unit variance
        index = {c: j for j, c in enumerate(base.constructs)}
        for term in plan.products:
            i = term.interaction
            prod = scores[..., index[i.a]] * scores[..., index[i.b]]
            columns.append(prod[..., None])
            names.append(term.columns[0])
    else:
        for term in plan.products:
            P = np.stack([Z[..., first[x]] * Z[..., first[v]] for x, v in term.pairs], axis=-1)
            if plan.method == "orthogonal":
                P = _residuals(w, P, Z[..., [first[x] for x in
                                            dict.fromkeys(term.items_a + term.items_b)]])
            columns.append(P)
            names += list(term.columns)
    full = np.concatenate([Z, *columns], axis=-1)
    if rows:  # one replicate: its standardised columns, in the model's order
        pos = dict(first)
        pos.update({c: p_ for p_, c in enumerate(names, start=X.shape[1])})
        F = full[0][:, [pos[c] for c in model.columns]]
        return (F - F.mean(axis=0)) / F.std(axis=0, ddof=1)
    C, sd_all = _weighted_corr(w, full)
    # seminr's z-scores and SDs divide by N - 1; ours (weights summing to 1) by N: the
    # products, products of two z-scores, differ by (N-1)/N, their SDs by sqrt(N/(N-1))
    N = counts.sum(axis=1)
    factor = np.sqrt((N - 1) / N)[:, None]
    column_sd = {c: sd_all[:, X.shape[1] + k] * factor[:, 0] for k, c in enumerate(names)}
    pos = dict(first)
    pos.update({c: p_ for p_, c in enumerate(names, start=X.shape[1])})
    idx = np.array([pos[c] for c in model.columns])
    R = C[:, idx[:, None], idx[None, :]]
    R[~converged] = np.nan
    return AugmentedMoments(R=R, column_sd=column_sd, converged=converged,
                            stage_one_weights=stage_w)


def _residuals(w: np.ndarray, P: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Residuals of each column of ``P (b, n, q)`` from its weighted least-squares
    regression on ``D (b, n, d)`` with an intercept (seminr's ``lm`` per product)."""
    D1 = np.concatenate([np.ones(D.shape[:-1] + (1,)), D], axis=-1)
    wD = w[:, :, None] * D1
    G = np.swapaxes(wD, 1, 2) @ D1
    rhs = np.swapaxes(wD, 1, 2) @ P
    with np.errstate(invalid="ignore"):
        try:
            beta = np.linalg.solve(G, rhs)
        except np.linalg.LinAlgError:
            beta = np.linalg.pinv(G) @ rhs
    return P - D1 @ beta


__all__ = ["METHODS", "InteractionPlan", "ProductTerm", "interaction_plan",
           "check_interaction_options", "interaction_note", "refuse_products",
           "AugmentedMoments", "augmented_correlations", "augmented_data",
           "rescale_product_paths"]
