"""Two-level models as lavaan writes them: ``level: 1`` / ``level: 2`` blocks (aliases
``level: within`` / ``level: between``), fitted with ``connective fit --cluster COLUMN``.

Each block is a model of its own (:class:`~connective.spec.model.ModelSpec`): the level-1
block is the structure of the within-cluster covariance Sigma_W, the level-2 block that of
the between-cluster covariance Sigma_B of the cluster means (random intercepts). lavaan's
rules for the two-level parameter table (``lav_partable_flat`` with ``nlevels = 2``,
lavaan 0.6-14), followed here:

* every block has its own defaults (marker loadings, residual variances, fixed.x ...);
* a variable in both blocks ("both") has its intercept at level 1 fixed to 0: its mean is
  the level-2 intercept; a variable of level 1 only ("within-only", e.g. a respondent's
  covariate) has its mean at level 1 and no between part; a variable of level 2 only
  ("between-only", an organisation's covariate) is constant within clusters;
* latent means are 0 in both blocks; level-2 parameter names carry lavaan's ``.l2`` suffix
  (``fb=~y2.l2``), level-1 names are as in a one-level model.

Example
-------
>>> two = parse_twolevel("level: 1\\n fw =~ y1 + y2 + y3\\nlevel: 2\\n fb =~ y1 + y2 + y3\\n fb ~ w1")
>>> two.within.latent, two.between.latent, two.both, two.between_only
(('fw',), ('fb',), ('y1', 'y2', 'y3'), ('w1',))
>>> two.partable.query("level == 2 and op == '=~'")["name"].tolist()
['fb=~y1.l2', 'fb=~y2.l2', 'fb=~y3.l2']
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from connective.errors import ConnectiveError, ModelSpecError, SourceLocation
from connective.spec.model import ModelSpec, parse_model

#: a block header as lavaan reads it: 'level: 1', 'level: within', 'level:2;'
_HEADER = re.compile(r"^\s*level\s*:\s*([A-Za-z0-9_.]+)\s*;?\s*(?:[#!].*)?$", re.IGNORECASE)
_LEVEL_NAMES = {"1": 1, "within": 1, "2": 2, "between": 2}
LEVEL_NAMES = {1: "within", 2: "between"}
#: lavaan's suffix of level-2 parameter names (coef(fit): 'fb=~y2.l2')
SUFFIX = ".l2"


def has_levels(text: str) -> bool:
    """Whether a model text has ``level:`` blocks.

    Example
    -------
    >>> has_levels("level: 1\\nF =~ a + b + c"), has_levels("F =~ a + b + c")
    (True, False)
    """
    return any(_HEADER.match(line) for line in text.split("\n"))


def level_name(level: int) -> str:
    """``within`` for 1, ``between`` for 2."""
    return LEVEL_NAMES[level]


@dataclass(frozen=True, eq=False)
class TwoLevelSpec:
    """A two-level model: the ``within`` (level 1) and ``between`` (level 2) models, the
    variables by where they are measured, and lavaan's combined parameter table (with
    ``level`` and ``block`` columns, level-2 names suffixed ``.l2``)."""

    text: str
    source: str
    within: ModelSpec
    between: ModelSpec
    partable: pd.DataFrame

    @property
    def levels(self) -> dict[int, ModelSpec]:
        return {1: self.within, 2: self.between}

    @property
    def both(self) -> tuple[str, ...]:
        """Observed variables of both levels (their means are level 2's intercepts)."""
        b = set(self.between.observed)
        return tuple(v for v in self.within.observed if v in b)

    @property
    def within_only(self) -> tuple[str, ...]:
        b = set(self.between.observed)
        return tuple(v for v in self.within.observed if v not in b)

    @property
    def between_only(self) -> tuple[str, ...]:
        w = set(self.within.observed)
        return tuple(v for v in self.between.observed if v not in w)

    @property
    def observed(self) -> tuple[str, ...]:
        """Every observed variable: level 1's, then level 2's own."""
        return (*self.within.observed, *self.between_only)

    def describe(self) -> str:
        """Both levels' summaries, and where each variable is measured."""
        out = [f"Two-level model {self.source}"]
        for level, spec in self.levels.items():
            out.append(f" level {level} ({level_name(level)}):")
            out += ["  " + line for line in spec.describe().splitlines()[1:]]
        out.append(f"  measured at both levels: {', '.join(self.both) or '-'}")
        out.append(f"  within clusters only: {', '.join(self.within_only) or '-'}")
        out.append(f"  organisation level only: {', '.join(self.between_only) or '-'}")
        return "\n".join(out)


def _blocks(text: str, source: str) -> tuple[str, str]:
    """The two blocks' texts, each keeping the file's line numbers (other lines blanked)."""
    lines = text.split("\n")
    owner: list[int | None] = []
    current: int | None = None
    seen: dict[int, int] = {}
    for number, line in enumerate(lines, start=1):
        m = _HEADER.match(line)
        if m:
            key = m.group(1).lower()
            if key not in _LEVEL_NAMES:
                raise ModelSpecError(
                    f"unknown level {m.group(1)!r}", SourceLocation(source, number,
                                                                    line.find(m.group(1)) + 1,
                                                                    line),
                    hint="two-level models have 'level: 1' (or 'within') and 'level: 2' "
                         "(or 'between')")
            current = _LEVEL_NAMES[key]
            if current in seen:
                raise ModelSpecError(
                    f"a second 'level: {current}' block", SourceLocation(source, number, 1, line),
                    hint=f"the first is on line {seen[current]}; write each level once")
            seen[current] = number
            owner.append(None)
            continue
        content = line.split("#")[0].split("!")[0].strip()
        if content and current is None and not line.lstrip().startswith(("#", "!")):
            raise ModelSpecError(
                "a formula before the first 'level:' block", SourceLocation(source, number, 1,
                                                                           line),
                hint="in a two-level model every formula belongs to 'level: 1' (within "
                     "clusters) or 'level: 2' (between clusters); move it into one")
        owner.append(current)
    for level in (1, 2):
        if level not in seen:
            raise ModelSpecError(
                f"a two-level model needs a 'level: {level}' block ({level_name(level)} "
                "clusters), as in lavaan", SourceLocation(source, 1, 1, lines[0]),
                hint="write 'level: 1' with the model within clusters and 'level: 2' with "
                     "the model of the cluster means (or use a one-level model without "
                     "'level:' lines)")
    texts = []
    for level in (1, 2):
        texts.append("\n".join(line if owner[i] == level or (owner[i] is None and not
                                                             _HEADER.match(line)
                                                             and line.lstrip().startswith(
                                                                 ("#", "!")))
                               else "" for i, line in enumerate(lines)))
    return texts[0], texts[1]


def parse_twolevel(text: str, *, source: str = "<model>", std_lv: bool = False,
                   options=None) -> TwoLevelSpec:
    """Parse a model text with ``level: 1`` and ``level: 2`` blocks (see the module
    docstring for lavaan's rules). ``options`` and ``std_lv`` apply to both blocks.

    Example
    -------
    >>> two = parse_twolevel("level: within\\n y ~ x\\nlevel: between\\n y ~ w")
    >>> two.within_only, two.both, two.between_only
    (('x',), ('y',), ('w',))
    >>> two.partable.query("level == 1 and op == '~1'")[["lhs", "free", "ustart"]].values.tolist()
    [['y', 0, 0.0], ['x', 0, nan]]
    """
    text_w, text_b = _blocks(text, source)
    between = parse_model(text_b, source=source, std_lv=std_lv, options=options)
    first = parse_model(text_w, source=source, std_lv=std_lv, options=options)
    both = [v for v in first.observed if v in set(between.observed)]
    # lavaan: a variable of both levels has its mean at level 2 (its level-1 intercept 0);
    # a level-1 covariate conditioned on (fixed.x) keeps its sample mean
    means = [f"{v} ~ 0*1" for v in both if v not in first.fixed_x
             and not _has_intercept(first, v)]
    within = parse_model(text_w + ("\n" + "\n".join(means) if means else ""), source=source,
                         std_lv=std_lv, options=options) if means else first
    rows_w = _level_rows(within, 1, set(both))
    rows_b = _level_rows(between, 2, set())
    # one numbering over both blocks, as lavaan's
    rows_b.loc[rows_b["free"] > 0, "free"] += int(rows_w["free"].max())
    # a label written at both levels is one parameter (lavaan: an equality constraint)
    shared = rows_w[(rows_w["label"] != "") & (rows_w["free"] > 0)].drop_duplicates("label")
    for label, number in zip(shared["label"], shared["free"]):
        rows_b.loc[rows_b["label"] == label, "free"] = number
    table = pd.concat([rows_w, rows_b], ignore_index=True)
    return TwoLevelSpec(text=text, source=source, within=within, between=between,
                        partable=table)


def _has_intercept(spec: ModelSpec, v: str) -> bool:
    t = spec.partable
    return bool(((t["op"] == "~1") & (t["lhs"] == v)).any())


def _level_rows(spec: ModelSpec, level: int, implied_means: set[str]) -> pd.DataFrame:
    """One block of the combined table: the spec's rows, then lavaan's meanstructure rows
    (every observed intercept, every latent mean 0) not written in the model;
    ``implied_means``: the variables whose intercept is 0 here (level 1's 'both')."""
    t = spec.partable[spec.partable["op"] != ":="].copy()
    user_means = set(t.loc[t["op"] == "~1", "lhs"])
    extra = []
    opts = spec.options
    for v in spec.observed:
        if v in user_means:
            continue
        exo = v in spec.fixed_x
        # a fixed.x covariate of both levels: its level-1 mean is 0 (lavaan's exo row)
        zero = v in implied_means or not (exo or opts.intercepts_free)
        extra.append({"lhs": v, "op": "~1", "rhs": "", "user": 0, "free": -1 if not zero else 0,
                      "ustart": 0.0 if zero else math.nan,
                      "exo": int(exo), "label": "", "start": math.nan, "prior": "",
                      "name": f"{v}~1", "line": 0, "column": 0})
    for v in spec.latent:
        if v not in user_means:
            extra.append({"lhs": v, "op": "~1", "rhs": "", "user": 0,
                          "free": -1 if opts.latent_means_free else 0,
                          "ustart": math.nan if opts.latent_means_free else 0.0, "exo": 0,
                          "label": "", "start": math.nan, "prior": "", "name": f"{v}~1",
                          "line": 0, "column": 0})
    t = pd.concat([t, pd.DataFrame(extra)], ignore_index=True) if extra else t
    # the implied level-1 intercepts of 'both' variables are lavaan's defaults, not the user's
    t.loc[(t["op"] == "~1") & t["lhs"].isin(implied_means), "user"] = 0
    # free numbers: the spec's, then the added free intercepts (exo ones are not free)
    n = int(t["free"].max()) if (t["free"] > 0).any() else 0
    added = (t["free"] == -1) & (t["exo"] == 0)
    t.loc[added, "free"] = np.arange(n + 1, n + 1 + int(added.sum()))
    t.loc[t["free"] == -1, "free"] = 0
    t["free"] = t["free"].astype(int)
    if level == 2:
        t["name"] = t["name"] + SUFFIX
    t.insert(3, "level", level)
    t.insert(4, "block", level)
    return t


def read_twolevel(path: str | Path, *, std_lv: bool = False, options=None) -> TwoLevelSpec:
    """Read a two-level model file (see :func:`parse_twolevel`).

    Example
    -------
    >>> read_twolevel("twolevel.lav").between.latent  # doctest: +SKIP
    ('fb',)
    """
    from connective.io import read_user_text

    return parse_twolevel(read_user_text(path, "model file"), source=str(path), std_lv=std_lv,
                          options=options)


# -- the data of a two-level model -----------------------------------------------------------

def check_cluster_data(two: TwoLevelSpec, frame: pd.DataFrame, cluster: str, *,
                       source: str = "<data>") -> pd.DataFrame:
    """The columns of the model and the cluster column, checked: the cluster column exists
    and has no gaps; answers are complete; a variable of level 1 varies within clusters
    (one that does not is measured at the organisation level); a variable of level 2 only is
    constant within clusters. Returns the frame sorted by cluster (a copy).

    Example
    -------
    >>> two = parse_twolevel("level: 1\\n y ~ x\\nlevel: 2\\n y ~ w")
    >>> frame = pd.DataFrame({"y": [1., 2, 3, 4], "x": [0., 1, 0, 1], "w": [5., 5, 6, 6],
    ...                       "org": ["a", "a", "b", "b"]})
    >>> check_cluster_data(two, frame, "org").shape
    (4, 4)
    >>> check_cluster_data(two, frame.assign(x=frame["w"]), "org")
    Traceback (most recent call last):
    ...
    connective.errors.ConnectiveError: <data>: 'x' is constant within every cluster of 'org' (an organisation-level variable) but the model uses it at level 1 (within clusters); move it to the 'level: 2' block
    """
    if cluster not in frame.columns:
        raise ConnectiveError(f"{source}: no column {cluster!r} for --cluster; the columns are "
                              f"{', '.join(map(str, frame.columns))}")
    missing = [v for v in two.observed if v not in frame.columns]
    if missing:
        raise ConnectiveError(f"{source}: the model's variable(s) {', '.join(missing)} are not "
                              "columns of the data")
    if frame[cluster].isna().any():
        row = int(np.flatnonzero(frame[cluster].isna().to_numpy())[0]) + 2
        raise ConnectiveError(f"{source}: the cluster column {cluster!r} is empty on line {row}; "
                              "every respondent needs an organisation (drop those rows or fill "
                              "the column)")
    used = list(two.observed)
    gaps = [v for v in used if frame[v].isna().any()]
    if gaps:
        raise ConnectiveError(f"{source}: missing answers in {', '.join(gaps)}; the two-level "
                              "likelihood takes complete answers only: use --missing casewise "
                              "(drops those respondents) or --missing mean")
    if two.within.partable["op"].eq("<~").any() or two.between.partable["op"].eq("<~").any():
        raise ConnectiveError(f"{two.source}: composites (<~) exist only in PLS, which has no "
                              "two-level model; write the constructs with =~")
    groups = frame.groupby(cluster, sort=True)
    spread = groups[used].transform(lambda s: s - s.mean()).abs().max()
    for v in two.within.observed:
        if spread[v] < 1e-12:
            raise ConnectiveError(
                f"{source}: {v!r} is constant within every cluster of {cluster!r} (an "
                "organisation-level variable) but the model uses it at level 1 (within "
                "clusters); move it to the 'level: 2' block")
    for v in two.between_only:
        if spread[v] > 1e-9:
            raise ConnectiveError(
                f"{source}: {v!r} appears only in the 'level: 2' block but varies within "
                f"clusters of {cluster!r}; a level-2-only variable is measured once per "
                "organisation: add it to the 'level: 1' block as well (its within part), or "
                "give every respondent of a cluster its cluster's value")
    sizes = groups.size()
    if (sizes < 1).any() or len(sizes) < 2:
        raise ConnectiveError(f"{source}: --cluster {cluster} has {len(sizes)} cluster(s); a "
                              "two-level model needs many organisations")
    order = np.argsort(frame[cluster].to_numpy(), kind="stable")
    return frame.iloc[order][[*used, cluster]].reset_index(drop=True)


__all__ = ["TwoLevelSpec", "parse_twolevel", "read_twolevel", "has_levels",
           "check_cluster_data", "level_name", "SUFFIX"]
