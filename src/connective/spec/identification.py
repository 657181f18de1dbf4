"""Identification before any sampling: the model's degrees of freedom, and the usual traps.

The normal likelihood sees the observed variables' means and covariances: p(p + 1)/2 + p
moments for p variables, less those of the fixed.x covariates (conditioned on, as lavaan).
The model estimates its free parameters and the intercepts it adds by default. With more
parameters than moments (df < 0) it cannot be identified, whatever the data: it is refused
before sampling, saying by how much. df >= 0 is necessary, not sufficient; three traps that
lavaan users meet are named as warnings:

* a factor with two indicators that nothing else ties to the model (no regression, no free
  covariance): its two loadings, variance and residuals are four numbers for three moments;
* a label that is also the name of a variable (lavaan accepts it; it reads as the variable);
* one label shared by parameters of different kinds (a loading and a regression, say): the
  equality then depends on the variables' units.

Example
-------
>>> from connective.spec import parse_model
>>> ident = identification(parse_model("F =~ x1 + x2 + x3 + x4"))
>>> ident.n_moments, ident.n_parameters, ident.df
(14, 12, 2)
>>> identification(parse_model("F =~ x1 + x2")).df
-1
"""

from __future__ import annotations

from dataclasses import dataclass

from connective.errors import ModelError
from connective.spec.model import ModelSpec


@dataclass(frozen=True)
class Identification:
    """Moments, parameters, degrees of freedom and warnings of a model."""

    n_moments: int
    n_parameters: int
    warnings: tuple[str, ...] = ()

    @property
    def df(self) -> int:
        return self.n_moments - self.n_parameters

    def describe(self) -> str:
        """One line, as ``validate`` prints it."""
        return (f"{self.n_parameters} parameters (free parameters and intercepts) for "
                f"{self.n_moments} moments (means and covariances of the observed variables "
                f"not conditioned on): df = {self.df}")


def _kind(op: str, lhs: str, rhs: str) -> str:
    if op == "~~":
        return "variance" if lhs == rhs else "covariance"
    return {"=~": "loading", "<~": "weight", "~": "regression", "~1": "intercept"}[op]


def identification(spec: ModelSpec) -> Identification:
    """Count the moments and parameters of ``spec`` and look for the usual traps.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("M ~ a*X\\nY ~ b*M + cp*X")
    >>> identification(spec).df  # saturated; X's moments are conditioned on (fixed.x)
    0
    """
    table = spec.partable
    observed = list(spec.observed)
    p, nx = len(observed), len(spec.fixed_x)
    moments = p * (p + 1) // 2 + p - (nx * (nx + 1) // 2 + nx)
    user_means = set(table.loc[table["op"] == "~1", "lhs"])
    opts = spec.options
    default_means = [v for v in observed if v not in user_means and v not in spec.fixed_x
                     and opts.intercepts_free]
    if opts.latent_means_free:
        default_means += [v for v in spec.latent if v not in user_means]
    parameters = spec.n_free + len(default_means)
    warnings: list[str] = []
    warnings += _lonely_two_indicator_factors(spec)
    variables = set(spec.observed) | set(spec.structural)
    for label, names in spec.labels.items():
        if label in variables:
            warnings.append(f"the label {label!r} (of {', '.join(names)}) is also the name of a "
                            "variable; rename the label so that nobody reads it as the variable")
        rows = table[(table["label"] == label) & (table["op"] != ":=")]
        kinds = sorted({_kind(r.op, r.lhs, r.rhs) for r in rows.itertuples()})
        if len(kinds) > 1:
            warnings.append(f"the label {label!r} makes a {' and a '.join(kinds)} equal "
                            f"({', '.join(names)}): an equality across kinds of parameters "
                            "depends on the variables' units; check that it is meant")
    return Identification(moments, parameters, tuple(warnings))


def _lonely_two_indicator_factors(spec: ModelSpec) -> list[str]:
    table = spec.partable
    regressed = {v for pair in spec.paths for v in pair}
    out = []
    for factor in spec.latent:
        items = spec.indicators[factor]
        if len(items) != 2 or factor in regressed:
            continue
        ties = table[(table["op"] == "~~") & (table["lhs"] != table["rhs"])
                     & ((table["lhs"] == factor) | (table["rhs"] == factor))
                     & ((table["free"] > 0) | (table["ustart"].fillna(0) != 0))]
        if len(ties):
            continue
        loads = table[(table["op"] == "=~") & (table["lhs"] == factor)]
        own = set(loads.loc[loads["free"] > 0, "free"])
        inside = table[(table["op"] == "~~") & table["lhs"].isin([factor, *items])
                       & table["rhs"].isin([factor, *items])]  # variances, residual covariance
        own |= set(inside.loc[inside["free"] > 0, "free"])
        if len(own) > 3:
            out.append(f"factor {factor!r} has two indicators ({', '.join(items)}) and nothing "
                       "else ties it to the model (no regression, no free covariance): its "
                       f"{len(own)} parameters meet 3 moments, so it is not identified; give it "
                       "a third indicator, make its loadings equal (a*x1 + a*x2), or let it "
                       "covary with another factor")
    return out


def require_identified(spec: ModelSpec) -> Identification:
    """:func:`identification`, refusing a model with df < 0 (before any sampling).

    Example
    -------
    >>> from connective.spec import parse_model
    >>> require_identified(parse_model("F =~ x1 + x2"))
    Traceback (most recent call last):
    ...
    connective.errors.ModelError: <model>: the model is not identified: 6 parameters (free parameters and intercepts) for 5 moments (means and covariances of the observed variables not conditioned on): df = -1, 1 parameter too many; fix or equate parameters (1*x, a shared label), drop paths or covariances, or add indicators
    """
    ident = identification(spec)
    if ident.df < 0:
        extra = -ident.df
        raise ModelError(f"{spec.source}: the model is not identified: {ident.describe()}, "
                         f"{extra} parameter{'s' if extra > 1 else ''} too many; fix or equate "
                         "parameters (1*x, a shared label), drop paths or covariances, or add "
                         "indicators")
    return ident


__all__ = ["Identification", "identification", "require_identified"]
