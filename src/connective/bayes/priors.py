"""Priors of the Bayesian engine: the defaults (documented here, and only here) and the
small prior language of the model file's ``prior("...")`` modifier.

Default priors
--------------
Data are analysed on their raw scale, so the defaults are *scaled by the data*: ``s_j`` is
the sample standard deviation of observed variable ``j``, and the scale of a structural
variable ``s_k`` is the standard deviation of its marker (first) indicator under marker
identification, 1 for a factor under ``std_lv``, and its own standard deviation for an
observed structural variable. Every default is weak (a 95% range several times wider than
any plausible value) so that the likelihood decides; they only keep the sampler away from
absurd regions (loadings of 1,000, variances of 0 or infinity).

===================  ====================================================================
parameter            default prior
===================  ====================================================================
loading j on k       ``normal(0, 2.5 * s_j / s_k)``; the sign anchor (the first loading of
                     each factor under ``std_lv``) is ``halfnormal(2.5 * s_j / s_k)``
ordinal loading      ``normal(0, 1)`` (anchor ``halfnormal(1)``) for a factor sampled with
                     unit variance: on the latent-response scale (residual variance 1) a
                     loading lambda is the standardised loading lambda / sqrt(1 + lambda^2),
                     so this puts 95% of the prior below 0.89; the generic scale (5 there)
                     piled the prior near 1, where the likelihood is flat
regression t on s    ``normal(0, 2.5 * s_t / s_s)``
interaction t on     a latent product term (``t ~ a:b``, :mod:`connective.bayes.interaction`)
a:b                  is a regression on the product, whose scale is ``s_a * s_b``:
                     ``normal(0, 2.5 * s_t / (s_a * s_b))``, widened like a regression into
                     a factor sampled with unit residual variance (``normal(0, 10)`` when
                     all three are sampled in the std_lv metric, as by default)
residual variance    on the standard deviation: ``halfnormal(s_j)`` (items) or
                     ``halfnormal(s_k)`` (factors and observed structural variables)
covariance           scale times correlation: the correlation ``r`` has ``(r + 1) / 2 ~
                     beta(1, 1)`` (uniform on -1..1, as blavaan); a draw is kept when the
                     implied covariance is positive definite, and the share of draws whose
                     residual block of three or more variables is not is reported
shared covariance    a covariance that a label makes equal across pairs of variables is
                     sampled as its value: ``normal(0, s_a * s_b)`` (one correlation cannot
                     stand for equal covariances of variables with other variances); a
                     draw is kept when the implied covariance is positive definite
intercept            ``normal(mean_j, 10 * s_j)`` (practically flat)
fixed.x moments      none: the exogenous covariates' means, variances and covariances are
                     the sample's (lavaan's ``fixed.x``), not parameters
===================  ====================================================================

Hierarchical models (``--group``, :mod:`connective.bayes.pooling`) add:

================================  ===========================================================
between-group SD of a path t~s    ``halfnormal(0.5 * s_t / s_s)``
between-group SD of an intercept  ``halfnormal(0.5 * s_k)``
their correlations                ``LKJ(2)`` (``covariance="full"``)
group-level predictor effect      ``normal(0, s_t / s_s)`` (paths), ``normal(0, s_k)``
                                  (intercepts)
residual log-scale SD             ``halfnormal(0.5)``
invariance deviations             ``normal(0, 0.1 * s_j / s_k)`` loadings, ``normal(0, 0.1 *
                                  s_j)`` item intercepts: fixed small variances (approximate
                                  invariance, BSEM), not estimated
================================  ===========================================================

Model-file priors
-----------------
``prior("normal(0, 0.5)")`` on a term replaces its default. Families (Stan's
parameterisation, as blavaan writes them): ``normal(mu, sigma)``, ``halfnormal(sigma)``,
``lognormal(mu, sigma)``, ``gamma(alpha, beta)`` (shape, rate), ``beta(a, b)``,
``uniform(lower, upper)``, ``student_t(nu, mu, sigma)``. A variance's prior is on its
standard deviation unless the text ends in ``[var]`` (``gamma(1, 0.5)[sd]`` is also
accepted); a covariance's prior is on its correlation ``r`` and must be ``beta(a, b)`` for
``(r + 1) / 2`` (blavaan's convention). A loading's or regression's prior ending in ``[std]``
is on its standardised value (std.all, computed per draw from the model-implied variances;
how it is imposed and what it implies for the raw parameter: :mod:`connective.bayes.std_priors`).
Standardised residual variances are 1 - R² of the paths and take no prior. The text is
parsed, never evaluated. Prior sets (``--priors FILE.toml``, ``--priors simca``):
:mod:`connective.bayes.prior_sets`.

Example
-------
>>> p = parse_prior("normal(0, 0.5)")
>>> p.family, p.args
('normal', (0.0, 0.5))
>>> parse_prior("gamma(1, .5)[sd]").on
'sd'
>>> parse_prior("normal(0.3, 0.1)[std]").text()
'normal(0.3, 0.1)[std]'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from connective.errors import ModelError

#: family -> names of its arguments, in order
FAMILIES: dict[str, tuple[str, ...]] = {
    "normal": ("mu", "sigma"),
    "halfnormal": ("sigma",),
    "lognormal": ("mu", "sigma"),
    "gamma": ("alpha", "beta"),
    "beta": ("alpha", "beta"),
    "uniform": ("lower", "upper"),
    "student_t": ("nu", "mu", "sigma"),
}
_ALIASES = {"half_normal": "halfnormal", "studentt": "student_t", "t": "student_t",
            "student": "student_t"}
POSITIVE_FAMILIES = ("halfnormal", "lognormal", "gamma")

#: default multipliers (see the table in the module docstring)
LOADING_SCALE = 2.5
#: prior SD of an ordinal item's loading on a unit-variance factor (see the table): with the
#: generic normal(0, 5), simulated 7-point data (N = 194, true standardised loadings 0.7)
#: gave R-hat 1.076 and bulk ESS 48 on a loading wandering towards a standardised 1; with
#: normal(0, 1), R-hat 1.007 and ESS 665, no divergences
ORDINAL_LOADING_SCALE = 1.0
REGRESSION_SCALE = 2.5
#: a regression into a factor sampled in the std_lv metric (residual variance 1) is the
#: standardised coefficient divided by sqrt(1 - R^2) of the target: 4 at a standardised .97
#: with R^2 = .94, so its prior is four times wider: normal(0, 10), as blavaan's default
STD_TARGET_WIDENING = 4.0
SD_SCALE = 1.0
INTERCEPT_SCALE = 10.0
CORRELATION_ETA = 1.0
#: hierarchical models (see the second table)
BETWEEN_SD_SCALE = 0.5
LKJ_ETA = 2.0
PREDICTOR_SCALE = 1.0
RESIDUAL_LOG_SD = 0.5
INVARIANCE_SD = 0.1

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PRIOR_RE = re.compile(r"^\s*([A-Za-z_]+)\s*\(([^()]*)\)\s*(?:\[\s*(sd|var|std)\s*\])?\s*$")


@dataclass(frozen=True)
class Prior:
    """A prior distribution: ``family``, numeric ``args`` (in :data:`FAMILIES` order) and
    ``on`` (``value``, ``sd``, ``var`` or ``std``: what the distribution is placed on; ``std``
    is the standardised (std.all) value, see :mod:`connective.bayes.std_priors`).

    Example
    -------
    >>> Prior("normal", (0.0, 1.0)).text()
    'normal(0, 1)'
    """

    family: str
    args: tuple[float, ...]
    on: str = "value"

    def text(self) -> str:
        """The prior written back in the model-file language."""
        args = ", ".join(f"{a:g}" for a in self.args)
        suffix = f"[{self.on}]" if self.on in ("sd", "var", "std") else ""
        return f"{self.family}({args}){suffix}"

    @property
    def positive(self) -> bool:
        """Whether the distribution only has positive values."""
        return self.family in POSITIVE_FAMILIES or (
            self.family in ("uniform", "beta") and (self.family == "beta" or self.args[0] >= 0))


def parse_prior(text: str, *, where: str = "prior") -> Prior:
    """Parse a prior's text (``"normal(0, 0.5)"``) into a :class:`Prior`; never evaluates it.

    Example
    -------
    >>> parse_prior("student_t(3, 0, 2.5)").args
    (3.0, 0.0, 2.5)
    """
    match = _PRIOR_RE.match(text or "")
    if not match:
        raise ModelError(f"{where}: cannot read the prior {text!r}; write e.g. "
                         f"\"normal(0, 0.5)\" with one of {', '.join(FAMILIES)}")
    family, body, on = match.groups()
    family = _ALIASES.get(family.lower(), family.lower())
    if family not in FAMILIES:
        raise ModelError(f"{where}: unknown prior family {match.group(1)!r} in {text!r}; "
                         f"expected one of {', '.join(FAMILIES)}")
    parts = [p.strip() for p in body.split(",")] if body.strip() else []
    for p in parts:
        if not re.fullmatch(_NUMBER, p):
            raise ModelError(f"{where}: the prior {text!r} has the argument {p!r}, which is "
                             "not a number")
    args = tuple(float(p) for p in parts)
    names = FAMILIES[family]
    if len(args) != len(names):
        raise ModelError(f"{where}: {family} takes {len(names)} argument(s) "
                         f"({', '.join(names)}); {text!r} has {len(args)}")
    _check_args(family, args, text, where)
    return Prior(family, args, on or "value")


def check_model_priors(spec) -> int:
    """Parse every ``prior(...)`` written in the model, as ``fit`` would (``validate`` calls
    it); errors name the file and line. Returns the number of priors checked.

    >>> from connective.spec import parse_model
    >>> check_model_priors(parse_model('y ~ prior("normal(0, 1e999)")*x'))
    Traceback (most recent call last):
    ...
    connective.errors.ModelError: <model>, line 1: prior of y~x: in the prior 'normal(0, 1e999)', every argument must be a finite number (1e999 is read as infinity)
    """
    rows = spec.partable[spec.partable["prior"].astype(str) != ""]
    for row in rows.itertuples():
        where = f"{spec.source}, line {row.line}: prior of {row.name}"
        if parse_prior(row.prior, where=where).on == "std" and row.op not in ("=~", "~"):
            from types import SimpleNamespace

            from connective.bayes.std_priors import check_std_prior

            kind = "variance" if row.op == "~~" and row.lhs == row.rhs else {
                "~~": "covariance", "~1": "intercept"}.get(row.op, row.op)
            check_std_prior(SimpleNamespace(kind=kind, name=row.name, lhs=row.lhs), where)
    return len(rows)


def _check_args(family: str, args: tuple[float, ...], text: str, where: str) -> None:
    bad = None
    if not all(np.isfinite(args)):
        bad = "every argument must be a finite number (1e999 is read as infinity)"
    elif family in ("normal", "lognormal") and args[1] <= 0:
        bad = "sigma must be positive"
    elif family == "halfnormal" and args[0] <= 0:
        bad = "sigma must be positive"
    elif family in ("gamma", "beta") and min(args) <= 0:
        bad = "both arguments must be positive"
    elif family == "uniform" and args[1] <= args[0]:
        bad = "upper must exceed lower"
    elif family == "student_t" and (args[0] <= 0 or args[2] <= 0):
        bad = "nu and sigma must be positive"
    if bad:
        raise ModelError(f"{where}: in the prior {text!r}, {bad}")


# -- defaults -----------------------------------------------------------------------------

def default_loading(s_item: float, s_factor: float, *, anchor: bool) -> Prior:
    """Default prior of a loading (see the module table).

    Example
    -------
    >>> default_loading(2.0, 1.0, anchor=False).text()
    'normal(0, 5)'
    """
    scale = LOADING_SCALE * s_item / s_factor
    return Prior("halfnormal", (scale,)) if anchor else Prior("normal", (0.0, scale))


def default_ordinal_loading(*, anchor: bool) -> Prior:
    """Default prior of an ordinal item's loading on a factor sampled with unit variance
    (see the module table).

    Example
    -------
    >>> default_ordinal_loading(anchor=False).text()
    'normal(0, 1)'
    """
    scale = ORDINAL_LOADING_SCALE
    return Prior("halfnormal", (scale,)) if anchor else Prior("normal", (0.0, scale))


def default_regression(s_target: float, s_source: float, *, std_target: bool = False) -> Prior:
    """Default prior of a regression coefficient: ``normal(0, 2.5 s_t / s_s)``, four times
    wider when the target is a factor sampled in the std_lv metric (see the table).

    Example
    -------
    >>> default_regression(1.0, 1.0, std_target=True).text()
    'normal(0, 10)'
    """
    wide = STD_TARGET_WIDENING if std_target else 1.0
    return Prior("normal", (0.0, wide * REGRESSION_SCALE * s_target / s_source))


def default_sd(scale: float) -> Prior:
    """Default prior of a (residual) standard deviation: ``halfnormal(scale)``."""
    return Prior("halfnormal", (SD_SCALE * scale,), on="sd")


def default_correlation() -> Prior:
    """Default prior of a correlation r: ``(r + 1) / 2 ~ beta(1, 1)``."""
    return Prior("beta", (CORRELATION_ETA, CORRELATION_ETA))


def default_covariance(scale_a: float, scale_b: float) -> Prior:
    """Default prior of a covariance sampled as its value (one shared by several pairs of
    variables): ``normal(0, s_a s_b)``, a correlation of about +-1 one prior SD out."""
    return Prior("normal", (0.0, float(scale_a * scale_b)))


def default_intercept(mean: float, sd: float) -> Prior:
    """Default prior of an intercept: ``normal(mean, 10 sd)``."""
    return Prior("normal", (float(mean), INTERCEPT_SCALE * sd))


def prior_moment(prior: Prior) -> float:
    """A central value of a prior (used as a fallback starting value).

    Example
    -------
    >>> prior_moment(Prior("gamma", (2.0, 1.0)))
    2.0
    """
    f, a = prior.family, prior.args
    if f in ("normal", "student_t"):
        return a[-2]
    if f == "halfnormal":
        return a[0] * np.sqrt(2 / np.pi)
    if f == "lognormal":
        return float(np.exp(a[0]))
    if f == "gamma":
        return a[0] / a[1]
    if f == "beta":
        return a[0] / (a[0] + a[1])
    return (a[0] + a[1]) / 2
