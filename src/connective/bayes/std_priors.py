"""Priors on the standardised scale: ``prior("normal(0.3, 0.1)[std]")*CID``.

A loading or a structural path whose prior ends in ``[std]`` has that prior on its
standardised value (lavaan's std.all: a path t ~ s times sd(s) / sd(t), a loading F =~ y
times sd(F) / sd(y)), computed per draw from the model-implied variances, as
:func:`connective.bayes.matrices.standardized_solution` computes it after sampling.

How the prior is imposed
------------------------
Let ``b`` be the raw parameters that carry ``[std]`` priors and ``o`` every other parameter.
Given ``o``, the standardised values ``z = f(b; o)`` are a smooth one-to-one map of ``b``
(for one path into a target, ``z = b sd_s / sqrt(b^2 var_s + rest)`` runs monotonically from
-1 to 1; for several paths the map is one-to-one onto the standardised paths with
R² < 1). The raw ``b`` are sampled with a flat density and the model adds one potential

    log p*(f(b; o)) + log |det d f / d b|

(``p*`` the stated standardised priors, the Jacobian determinant by automatic
differentiation of the same graph). This is a change of variables: given ``o``, the prior of
``b`` is exactly the density that makes ``z`` follow ``p*``; ``o`` keeps its own priors. So
the prior-only distribution of a standardised path is the stated prior, truncated to the
values the model can take (-1..1 for a single path or loading; R² < 1 jointly), whatever the
other parameters do (tests/bayes/test_std_priors.py checks it by prior-only sampling).

What it implies for the raw parameter: its prior is no longer fixed but scales with the
model-implied variances. For one path t ~ s with residual variance psi_t,

    p(b | psi_t, var_s) = p*(b sd_s / sqrt(b^2 var_s + psi_t)) * sd_s psi_t / (b^2 var_s + psi_t)^1.5

so a larger residual variance widens the raw prior in proportion to sqrt(psi_t) / sd_s, and
the raw prior's tails fall off like 1 / b^2 (a standardised value near ±1 is a raw value
without bound). The prior on the residual variance (on its SD, see
:mod:`connective.bayes.priors`) is unchanged, so the prior of R² follows from both.

Standardised (residual) variances of endogenous variables are 1 - R² of their paths and take
no prior of their own; standardised covariances and intercepts neither (an error says so).

Example
-------
>>> import numpy as np
>>> from connective.spec import parse_model
>>> from connective.bayes.matrices import build_layout
>>> spec = parse_model("M ~ X")
>>> layout = build_layout(spec)
>>> fn = std_function(spec, layout, [layout.index("M~X")])
>>> round(float(fn(np.array([0.5, 1.0, 1.0, 0.0, 0.0]))[0]), 4)
0.4472
"""

from __future__ import annotations

import numpy as np

from connective.errors import ModelError

#: parameter kinds that can take a prior on their standardised value
STD_KINDS = ("loading", "regression")


def check_std_prior(p, where: str) -> None:
    """Refuse a ``[std]`` prior on anything but a loading or a regression (``p`` a layout
    parameter), naming what to do instead.

    >>> from types import SimpleNamespace as NS
    >>> check_std_prior(NS(kind="variance", name="OCA~~OCA", lhs="OCA"), "m.lav")
    Traceback (most recent call last):
    ...
    connective.errors.ModelError: m.lav: the standardised (residual) variance of OCA is 1 - R² of the paths into it and cannot take a prior of its own; put [std] priors on those paths (OCA ~ ...) instead, or drop [std] for a prior on its raw SD
    """
    if p.kind in STD_KINDS:
        return
    if p.kind == "variance":
        raise ModelError(f"{where}: the standardised (residual) variance of {p.lhs} is 1 - R² "
                         f"of the paths into it and cannot take a prior of its own; put [std] "
                         f"priors on those paths ({p.lhs} ~ ...) instead, or drop [std] for a "
                         "prior on its raw SD")
    raise ModelError(f"{where}: a [std] prior is for loadings (=~) and regressions (~); "
                     f"{p.name} is a {p.kind}: drop [std]")


def std_values(spec, layout, theta, slots: list[int]):
    """The std.all values of the parameters ``slots`` as a pytensor vector, from the
    parameter vector ``theta`` (pytensor), as :func:`~connective.bayes.matrices.
    standardized_solution` defines them."""
    import pytensor.tensor as pt

    from connective.bayes.matrices import implied_moments

    _, sigma, cov_eta = implied_moments(layout, theta, structural=True)
    sd_obs = pt.sqrt(pt.diagonal(sigma))
    sd_eta = pt.sqrt(pt.diagonal(cov_eta))
    obs = {v: i for i, v in enumerate(layout.observed)}
    eta = {v: i for i, v in enumerate(layout.structural)}
    latent = set(spec.latent)

    def sd(v):  # std.all: latent variables' and observed variables' own SDs
        return sd_eta[eta[v]] if v in latent or v not in obs else sd_obs[obs[v]]

    out = []
    for q in slots:
        p = layout.params[q]
        if p.kind == "loading":
            out.append(theta[q] * sd(p.lhs) / sd(p.rhs))
        else:
            out.append(theta[q] * sd(p.rhs) / sd(p.lhs))
    return pt.stack(out)


def std_log_density(spec, layout, theta, slots: list[int], priors: list) -> object:
    """The potential of the module docstring: the log density of the stated priors at the
    standardised values plus log |det d z / d b| (pytensor scalar)."""
    import pymc as pm
    import pytensor.tensor as pt

    z = std_values(spec, layout, theta, slots)
    logp = pt.constant(0.0)
    for i, prior in enumerate(priors):
        logp = logp + pm.logp(_dist(pm, prior), z[i])
    rows = [pt.grad(z[i], theta)[np.array(slots)] for i in range(len(slots))]
    jac = pt.stack(rows) if len(rows) > 1 else rows[0][None, :]
    if len(slots) == 1:
        logdet = pt.log(pt.abs(jac[0, 0]))
    else:
        logdet = pt.log(pt.abs(pt.nlinalg.det(jac)))
    return logp + logdet


def std_function(spec, layout, slots: list[int]):
    """A compiled numpy function: parameter vector -> std.all values of ``slots`` (checks
    and reports)."""
    import pytensor
    import pytensor.tensor as pt

    theta = pt.vector("theta")
    return pytensor.function([theta], std_values(spec, layout, theta, slots))


def std_density_function(spec, layout, slots: list[int], priors: list):
    """A compiled numpy function: parameter vector -> the potential's value (the log prior of
    the ``[std]`` parameters, for power-scaling)."""
    import pytensor
    import pytensor.tensor as pt

    theta = pt.vector("theta")
    return pytensor.function([theta], std_log_density(spec, layout, theta, slots, priors))


def _dist(pm, prior):
    f, a = prior.family, prior.args
    if f == "normal":
        return pm.Normal.dist(mu=a[0], sigma=a[1])
    if f == "student_t":
        return pm.StudentT.dist(nu=a[0], mu=a[1], sigma=a[2])
    if f == "halfnormal":
        return pm.HalfNormal.dist(sigma=a[0])
    if f == "lognormal":
        return pm.LogNormal.dist(mu=a[0], sigma=a[1])
    if f == "gamma":
        return pm.Gamma.dist(alpha=a[0], beta=a[1])
    if f == "beta":
        return pm.Beta.dist(alpha=a[0], beta=a[1])
    return pm.Uniform.dist(lower=a[0], upper=a[1])
