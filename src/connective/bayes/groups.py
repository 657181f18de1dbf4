"""Respondents nested in groups: the design of a hierarchical model, read off the data.

A grouped model lets chosen parameters differ by group, each group's value drawn around a
population value (partial pooling). This module decides, from the survey and the options,
*what* varies and checks the group column; :mod:`connective.bayes.pooling` builds the PyMC
part and :mod:`connective.bayes.model` the likelihood.

What may vary (``vary``):

- ``paths``: every structural regression (the default);
- ``intercepts``: the intercepts of the structural variables: latent means of factors
  (population value 0) and the equation intercepts of observed variables (groups differ in
  level: the random intercepts of a multilevel model; add them when group means differ);
- ``residuals``: the residual scale of every endogenous structural variable (multiplicative,
  log-normal around the population value);
- a parameter name (``CI~IS``) or label (``a``) of a regression or intercept: that one only.

Varying paths and intercepts share one covariance matrix across groups (``covariance=
"full"``, LKJ prior) or are independent (``"diagonal"``); ``"auto"`` (the default) chooses
full when there are at least three groups per varying effect (a diary study's persons),
else diagonal (a handful of organisations cannot inform dozens of correlations). Under
``diagonal`` the population-average indirect effect is the product of the mean paths: the
model assumes they do not covary. A *group-level predictor* (a column
constant within groups) shifts every varying effect: two levels are coded -1/2 and +1/2, so
the population values lie midway between the levels and the coefficient is the difference;
a numeric predictor is centred on its mean over groups.

Example
-------
>>> import pandas as pd
>>> from connective.spec import parse_model
>>> from connective.bayes.matrices import build_layout
>>> spec = parse_model("M ~ a*X\\nY ~ b*M + cp*X")
>>> frame = pd.DataFrame({"g": list("aabbb"), "X": [1., 2, 3, 4, 5], "M": [2., 1, 3, 5, 4],
...                       "Y": [1., 3, 2, 4, 6]})
>>> design, _ = group_design(frame, spec, build_layout(spec), "g")
>>> design.names, design.sizes.tolist(), design.varying
(['a', 'b'], [2, 3], ['M~X', 'Y~M', 'Y~X'])
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connective.errors import DataError, ModelError

VARY_KEYWORDS = ("paths", "intercepts", "residuals")
DEFAULT_VARY = ("paths",)
COVARIANCES = ("auto", "full", "diagonal")
#: ``covariance="auto"`` estimates correlations when there are this many groups per varying
#: effect: with 6 groups and 10 varying paths an LKJ covariance left the sampler at 190
#: leapfrog steps per draw and a bulk ESS of 15 in 600 draws, against 32 steps and 97 with
#: independent effects; 100 persons with 5 varying effects (a diary study) inform it well
GROUPS_PER_CORRELATED_EFFECT = 3
#: below this many groups a between-group SD rests on a handful of values: its posterior
#: follows the prior and the sampler meets divergences in it (4 groups of 80-120 simulated
#: respondents: 1-20 divergences in 4 x 1,000 draws with either likelihood; 8 groups: 0)
FEW_GROUPS = 5
INVARIANCE = ("exact", "approximate")
CENTERING = ("none", "within")


@dataclass
class GroupDesign:
    """The groups of a hierarchical model and what varies across them.

    ``varying`` are names in the model's extended layout (paths, ``F~1`` intercepts) with
    group-specific values; ``residuals`` the residual variance parameters with group-specific
    scales; ``latent_means`` the factors whose latent mean varies (free ``F~1`` parameters
    appended to the layout, population value 0). ``predictor_values`` holds the coded
    group-level predictor per group, ``predictor_levels`` its two levels (or None for a
    numeric predictor, centred by ``predictor_center``)."""

    column: str
    names: list[str]
    index: np.ndarray
    varying: list[str]
    residuals: list[str] = field(default_factory=list)
    latent_means: list[str] = field(default_factory=list)
    covariance: str = "full"
    invariance: str = "exact"
    predictor: str | None = None
    predictor_levels: list[str] | None = None
    predictor_values: np.ndarray | None = None
    predictor_center: float = 0.0
    predictor_by_group: list[str] = field(default_factory=list)  # as written in the data
    centered: list[str] = field(default_factory=list)

    @property
    def n_groups(self) -> int:
        return len(self.names)

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.index, minlength=self.n_groups)

    def level_codes(self) -> dict[str, float]:
        """Predictor value of each reported level: the two levels, or the group mean +- 1 SD
        of a numeric predictor.

        Example
        -------
        >>> GroupDesign("g", ["a", "b"], np.array([0, 1]), [], predictor="logic",
        ...             predictor_levels=["x", "y"]).level_codes()
        {'x': -0.5, 'y': 0.5}
        """
        if self.predictor is None:
            return {}
        if self.predictor_levels:
            return {self.predictor_levels[0]: -0.5, self.predictor_levels[1]: 0.5}
        sd = float(np.std(self.predictor_values, ddof=1)) if self.n_groups > 1 else 1.0
        return {f"{self.predictor} = mean - 1 SD": -sd, f"{self.predictor} = mean + 1 SD": sd}

    def describe(self) -> dict:
        """The design as plain data (for the run's record)."""
        return {"column": self.column, "groups": dict(zip(self.names, self.sizes.tolist())),
                "varying": self.varying, "residuals": self.residuals,
                "covariance": self.covariance, "invariance": self.invariance,
                "predictor": self.predictor, "predictor_levels": self.predictor_levels,
                "predictor_values": dict(zip(self.names, self.predictor_by_group)),
                "centered_within": self.centered}


def _column(frame: pd.DataFrame, name: str, what: str, source: str) -> pd.Series:
    if name not in frame.columns:
        close = difflib.get_close_matches(name, [str(c) for c in frame.columns], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else \
            f"; the data have {', '.join(map(str, frame.columns))}"
        raise DataError(f"{source}: there is no {what} column {name!r}{hint}")
    return frame[name]


def rows_text(mask: np.ndarray) -> str:
    """'row(s) 2, 5, ...' (1-based, at most five) of the rows where ``mask`` is true, for
    messages."""
    rows = np.flatnonzero(mask) + 1
    shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
    return f"row(s) {shown}"


def group_design(frame: pd.DataFrame, spec, layout, column: str, *,
                 vary: tuple[str, ...] | list[str] | None = None, covariance: str = "auto",
                 invariance: str = "exact", predictor: str | None = None,
                 center: str = "none", source: str = "the data"
                 ) -> tuple[GroupDesign, pd.DataFrame]:
    """Check the group column and options against the survey and the model; returns the
    design and the frame the model is fitted on (a copy, with predictors centred within
    groups when ``center="within"``; the caller's frame is never changed).

    Raises :class:`~connective.errors.DataError` for a missing group column (with close
    names), respondents without a group (their rows), a single group, and a predictor
    that is not constant within groups (the first such group); :class:`ModelError` for
    unknown ``vary`` entries. Groups with a single respondent get a warning (their values
    rest on the population distribution almost alone), and so do fewer than
    :data:`FEW_GROUPS` groups (too few to estimate a between-group SD).

    Example
    -------
    >>> frame = pd.DataFrame({"g": ["a", None], "X": [1.0, 2.0]})
    >>> group_design(frame, None, None, "g")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    connective.errors.DataError: the data: 1 respondent(s) have no group in column 'g' (row(s) 2)...
    """
    labels = _column(frame, column, "group", source)
    empty = labels.isna().to_numpy() | (labels.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        raise DataError(f"{source}: {int(empty.sum())} respondent(s) have no group in column "
                        f"{column!r} ({rows_text(empty)}); give every respondent a group or drop "
                        "those rows")
    if column in spec.observed:
        raise ModelError(f"{spec.source}: the group column {column!r} is a variable of the "
                         "model; group by a column the model does not use")
    for option, value, allowed in (("covariance", covariance, COVARIANCES),
                                   ("invariance", invariance, INVARIANCE),
                                   ("center", center, CENTERING)):
        if value not in allowed:
            raise ModelError(f"unknown {option} {value!r}; expected one of {', '.join(allowed)}")
    names = sorted(pd.unique(labels.astype(str)), key=_natural)
    code = {g: i for i, g in enumerate(names)}
    index = labels.astype(str).map(code).to_numpy()
    if len(names) < 2:
        raise DataError(f"{source}: column {column!r} has a single group ({names[0]!r}); a "
                        "hierarchical model needs two or more groups (fit without --group)")
    sizes = np.bincount(index, minlength=len(names))
    single = [g for g, n in zip(names, sizes) if n == 1]
    if single:
        warnings.warn(f"{len(single)} group(s) in column {column!r} have a single respondent "
                      f"({', '.join(single[:5])}{', ...' if len(single) > 5 else ''}); their "
                      "group-specific values rest almost entirely on the population "
                      "distribution", UserWarning, stacklevel=2)
    if len(names) < FEW_GROUPS:
        warnings.warn(f"column {column!r} has only {len(names)} groups: between-group SDs are "
                      f"barely identified by fewer than {FEW_GROUPS} groups (their posteriors "
                      "follow the priors) and may cause divergences; vary fewer effects "
                      "(--vary), raise --target-accept towards 0.99, or compare the groups "
                      "in a multigroup or single-level model", UserWarning, stacklevel=2)
    varying, residuals, latent = _varying(spec, layout, tuple(vary or DEFAULT_VARY))
    design = GroupDesign(column, names, index, varying, residuals, latent, covariance,
                         invariance)
    if predictor is not None:
        if not varying:
            raise ModelError(f"{spec.source}: a group-level predictor shifts varying paths or "
                             "intercepts, and none vary; add paths or intercepts to --vary")
        _predictor(frame, design, predictor, source)
    if invariance == "approximate" and not spec.indicators:
        raise ModelError(f"{spec.source}: approximate invariance concerns loadings and item "
                         "intercepts, and the model has no factors; drop --invariance")
    frame = frame.copy()
    if center == "within":
        design.centered = _center_within(frame, spec, index)
        # a centred variable's group means are 0 by construction: no intercept to vary
        design.varying = [v for v in design.varying
                          if not (v.endswith("~1") and v[:-2] in design.centered)]
    if not design.varying and not design.residuals:
        raise ModelError(f"{spec.source}: nothing varies by group once the predictors are "
                         "centred within groups; add paths to --vary")
    if covariance == "auto":
        enough = len(names) >= GROUPS_PER_CORRELATED_EFFECT * len(design.varying)
        design.covariance = "full" if enough and len(design.varying) > 1 else "diagonal"
    return design, frame


def _natural(label: str):
    """Sort key: numbers by value (2 before 10), then text."""
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)


def _varying(spec, layout, vary: tuple[str, ...]) -> tuple[list[str], list[str], list[str]]:
    paths = [p.name for p in layout.params if p.kind == "regression"]
    intercepts = [p.name for p in layout.params if p.matrix == "alpha"]
    # factors whose mean is fixed at 0 (the default) get a group-specific latent mean; a
    # free mean is an intercept parameter already, a mean fixed elsewhere stays fixed
    K = layout.n_params
    alpha = layout.gather["alpha"]
    latent = [v for k, v in enumerate(layout.structural) if v in spec.indicators
              and alpha[k] >= K and layout.constants[alpha[k] - K] == 0]
    endogenous = {p.lhs for p in layout.params if p.kind == "regression"}
    by_label = {p.label: p.name for p in layout.params if p.label}
    chosen: list[str] = []
    residuals: list[str] = []
    latent_means: list[str] = []
    for entry in vary:
        if entry == "paths":
            chosen += paths
        elif entry == "intercepts":
            chosen += intercepts + [f"{v}~1" for v in latent]
            latent_means += latent
        elif entry == "residuals":
            residuals += [p.name for p in layout.params if p.kind == "variance"
                          and p.matrix == "psi" and p.lhs in endogenous]
        elif entry in paths or entry in intercepts or by_label.get(entry) in paths + intercepts:
            chosen.append(by_label.get(entry, entry))
        elif entry in {f"{v}~1" for v in latent}:
            chosen.append(entry)
            latent_means.append(entry[:-2])
        else:
            raise ModelError(
                f"{spec.source}: cannot let {entry!r} vary by group; expected "
                f"{', '.join(VARY_KEYWORDS)}, or the name or label of a regression or "
                f"intercept ({', '.join((paths + intercepts)[:6])}, ...)")
    seen: set[str] = set()
    chosen = [c for c in chosen if not (c in seen or seen.add(c))]
    # the layout's order: paths, then intercepts, then latent means
    order = {n: i for i, n in enumerate(paths + intercepts + [f"{v}~1" for v in latent])}
    chosen.sort(key=order.get)
    if not chosen and not residuals:
        raise ModelError(f"{spec.source}: nothing varies by group (vary={list(vary)}); the "
                         "model has no structural paths or intercepts to vary")
    return chosen, residuals, [v for v in latent if v in set(latent_means)]


def _predictor(frame: pd.DataFrame, design: GroupDesign, name: str, source: str) -> None:
    col = _column(frame, name, "group-level predictor", source)
    if col.isna().any():
        raise DataError(f"{source}: the group-level predictor {name!r} is empty in "
                        f"{rows_text(col.isna().to_numpy())}; give every group its value (or drop "
                        "--group-predictor)")
    per_group = []
    for g, label in enumerate(design.names):
        values = pd.unique(col[design.index == g])
        if len(values) > 1:
            raise DataError(f"{source}: the group-level predictor {name!r} is not constant "
                            f"within group {label!r} (it has {', '.join(map(str, values[:3]))});"
                            " a group-level predictor needs one value per group")
        per_group.append(values[0])
    numeric = pd.to_numeric(pd.Series(per_group), errors="coerce")
    levels = sorted(set(map(str, per_group)), key=_natural)
    if numeric.notna().all() and len(levels) > 2:
        design.predictor_center = float(numeric.mean())
        design.predictor_values = numeric.to_numpy(dtype=float) - design.predictor_center
    elif len(levels) == 2:
        design.predictor_levels = levels
        design.predictor_values = np.array([-0.5 if str(v) == levels[0] else 0.5
                                            for v in per_group])
    else:
        raise DataError(f"{source}: the group-level predictor {name!r} has "
                        f"{len(levels)} level(s) ({', '.join(levels[:5])}); use a column with "
                        "two levels or numeric values")
    design.predictor = name
    design.predictor_by_group = [str(v) for v in per_group]


def _center_within(frame: pd.DataFrame, spec, index: np.ndarray) -> list[str]:
    """Centre, within groups, every observed variable that predicts another (in place on
    the copy): the within-group (e.g. within-person) effects are then separated from
    differences between group means."""
    predictors = sorted({src for src, _ in spec.paths if src in spec.observed
                         and src not in spec.indicators},
                        key=list(spec.observed).index)
    if not predictors:
        raise ModelError(f"{spec.source}: centring within groups applies to observed "
                         "predictors; the model's paths start at latent variables only")
    for v in predictors:
        x = pd.to_numeric(frame[v], errors="coerce")
        frame[v] = x - x.groupby(index).transform("mean")
    return predictors
