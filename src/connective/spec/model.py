"""The parsed model: one :class:`ModelSpec` that every engine, simulator and report reads.

Matrices follow lavaan's all-y LISREL notation over the *structural variables* (constructs
plus observed variables that take part in regressions, each of the latter standing for itself
with loading 1 and no error):

* ``lambda``: loadings, observed x structural;
* ``beta``: regressions, target x source (``beta[y, x]`` is the effect of x on y);
* ``psi``: (residual) variances and covariances of the structural variables;
* ``theta``: residual variances and covariances of the observed variables;

so that Sigma = Lambda (I - B)^-1 Psi (I - B)^-T Lambda' + Theta.

Example
-------
>>> spec = parse_model("M ~ a*X\\nY ~ b*M + cp*X\\nind := a*b")
>>> spec.structural, spec.exogenous
(('X', 'M', 'Y'), ('X',))
>>> spec.indirect_paths()
[('X', 'M', 'Y')]
>>> int(spec.pattern("beta").free.sel(target="Y", source="M"))
2
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from connective.errors import ConnectiveError
from connective.spec.defaults import LAVAAN_NAMES, LavaanOptions, options_from_text, with_header
from connective.spec.expressions import Expr
from connective.spec.parser import parse_formulas
from connective.spec.partable import build_partable, parameter_name


@dataclass(frozen=True)
class Pattern:
    """A model matrix as patterns: ``free`` (k = k-th free parameter, 0 = fixed),
    ``value`` (fixed values, 0 where nothing is estimated, NaN where free) and ``name``
    (the parameter name in each cell, '' where there is none)."""

    free: xr.DataArray
    value: xr.DataArray
    name: xr.DataArray


@dataclass(frozen=True)
class Interaction:
    """A product term of a regression: ``outcome ~ a:b`` with parameter ``name``
    (``OCA~CID:EFF``) and its label if any. ``observed`` is True for a product of two
    observed variables (a column of the data, an observed variable of the model, as in
    lavaan); otherwise it involves a construct and only engines with latent interactions fit
    it. ``a == b`` is a quadratic effect (``A^2``)."""

    outcome: str
    a: str
    b: str
    name: str
    label: str
    observed: bool

    @property
    def product(self) -> str:
        """The product term's name, ``a:b``."""
        return f"{self.a}:{self.b}"


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """A parsed and checked model. Build it with :func:`parse_model` or :func:`read_model`.

    Attributes
    ----------
    text, source: the model text and where it came from (a file path or ``<model>``); the
        text carries the options it was parsed with (an ``# options:`` comment), so that
        parsing it again gives the same model.
    std_lv: whether factor variances (not first loadings) identify the scale.
    options: lavaan's model-building options in force (:mod:`connective.spec.defaults`).
    fixed_x: exogenous observed covariates conditioned on (``fixed.x``): their moments are
        the sample's, not parameters.
    notes: what a user should know of how the defaults were applied.
    partable: the parameter table (see :mod:`connective.spec.partable`).
    latent: reflective constructs (``=~``); composites: composite constructs (``<~``).
    indicators: items of every construct, in the order written.
    observed: all observed variables: indicators first, then observed structural variables.
    structural: constructs and observed variables in the structural part, topologically sorted.
    exogenous, endogenous: structural variables without / with predictors.
    defined: ``:=`` parameters as expression trees.
    """

    text: str
    source: str
    std_lv: bool
    partable: pd.DataFrame
    latent: tuple[str, ...]
    composites: tuple[str, ...]
    indicators: dict[str, tuple[str, ...]]
    observed: tuple[str, ...]
    structural: tuple[str, ...]
    exogenous: tuple[str, ...]
    endogenous: tuple[str, ...]
    defined: dict[str, Expr] = field(default_factory=dict)
    options: LavaanOptions = field(default_factory=LavaanOptions)
    fixed_x: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    # -- parameters -------------------------------------------------------------------------
    @property
    def constructs(self) -> tuple[str, ...]:
        """Latent and composite constructs, in structural order."""
        return tuple(v for v in self.structural if v in self.indicators)

    @property
    def n_free(self) -> int:
        """Number of free parameters (shared labels count once)."""
        return int(self.partable["free"].max()) if len(self.partable) else 0

    @property
    def measurement_parameters(self) -> list[str]:
        """Names of the loadings (``F=~x``) and factor covariances (``F~~G``): what a
        measurement model estimates, as targets of comparisons and studies.

        Example
        -------
        >>> parse_model("F =~ a + b + c\\nG =~ d + e + f").measurement_parameters[-2:]
        ['G=~f', 'F~~G']
        """
        rows = self.partable
        latent = set(self.latent)
        keep = (rows["op"] == "=~") | ((rows["op"] == "~~") & (rows["lhs"] != rows["rhs"])
                                       & rows["lhs"].isin(latent) & rows["rhs"].isin(latent))
        return rows.loc[keep, "name"].tolist()

    @property
    def higher_order(self) -> tuple[str, ...]:
        """Constructs measured (in part) by other constructs, e.g. ``G`` of
        ``G =~ F1 + F2 + F3``.

        Example
        -------
        >>> parse_model("F1 =~ a + b + c\\nF2 =~ d + e + f\\nG =~ F1 + F2").higher_order
        ('G',)
        """
        return tuple(c for c in self.constructs
                     if any(x in self.indicators for x in self.indicators[c]))

    @property
    def structural_items(self) -> tuple[str, ...]:
        """Items that take part in regressions (``x3 ~ sex``: a MIMIC model with differential
        item functioning): structural variables standing for themselves, their loadings
        arrows of B.

        Example
        -------
        >>> parse_model("F =~ a + b + c\\nF ~ x\\nc ~ x").structural_items
        ('c',)
        """
        items = {x for c in self.constructs for x in self.indicators[c]
                 if x not in self.indicators}
        return tuple(v for v in self.structural if v in items)

    def items_of(self, construct: str) -> tuple[str, ...]:
        """The observed items that measure ``construct``, through first-order constructs
        for a higher-order one, each once, in the order written.

        Example
        -------
        >>> parse_model("F1 =~ a + b\\nF2 =~ c + d\\nG =~ F1 + F2").items_of("G")
        ('a', 'b', 'c', 'd')
        """
        out: list[str] = []
        for x in self.indicators.get(construct, ()):
            out += self.items_of(x) if x in self.indicators else [x]
        return tuple(dict.fromkeys(out))

    @property
    def measurement_only(self) -> bool:
        """Whether the model has no regressions (a CFA or a PLS measurement model)."""
        return not self.paths

    @property
    def free_parameters(self) -> pd.DataFrame:
        """One row per free parameter (the first row carrying it), indexed by free number."""
        rows = self.partable[self.partable["free"] > 0]
        return rows.drop_duplicates("free").set_index("free")

    @property
    def labels(self) -> dict[str, list[str]]:
        """Label -> names of the parameters that carry it."""
        rows = self.partable[(self.partable["label"] != "") & (self.partable["op"] != ":=")]
        return rows.groupby("label", sort=False)["name"].apply(list).to_dict()

    @property
    def paths(self) -> list[tuple[str, str]]:
        """Structural regressions as (source, target) pairs, in model order; a product of
        two observed variables is a source like any other, a latent product is not (see
        :attr:`interactions`)."""
        rows = self.partable[(self.partable["op"] == "~")
                             & self.partable["rhs"].isin(self.structural)]
        return list(zip(rows["rhs"], rows["lhs"]))

    @property
    def interactions(self) -> tuple[Interaction, ...]:
        """The product terms of the regressions (``OCA ~ CID:EFF``), in model order.

        Example
        -------
        >>> spec = parse_model("F =~ a + b + c\\nG =~ d + e + f\\ny ~ F + G + w*F:G")
        >>> [(i.outcome, i.a, i.b, i.name, i.label, i.observed) for i in spec.interactions]
        [('y', 'F', 'G', 'y~F:G', 'w', False)]
        """
        constructs = set(self.indicators)
        rows = self.partable[(self.partable["op"] == "~")
                             & self.partable["rhs"].str.contains(":", regex=False)]
        out = []
        for r in rows.itertuples():
            a, b = r.rhs.split(":")
            out.append(Interaction(r.lhs, a, b, r.name, r.label,
                                   a not in constructs and b not in constructs))
        return tuple(out)

    @property
    def latent_interactions(self) -> tuple[Interaction, ...]:
        """The product terms that involve a construct (not a column of the data)."""
        return tuple(i for i in self.interactions if not i.observed)

    @property
    def arrows(self) -> list[tuple[str, str, str]]:
        """Every arrow of the structural system as (source, target, parameter name): the
        regressions and, in a model that has regressions, the loadings of structural
        indicators (a first-order construct on its higher-order construct, an item in a
        regression on its factor), so that effects run through them: ``sex -> visual ->
        x3`` in a MIMIC model with a direct effect on ``x3``. The effects algebra reads
        these; a measurement model (no regressions) has none.

        Example
        -------
        >>> parse_model("F =~ a + b + c\\nF ~ x\\nc ~ x").arrows
        [('x', 'F', 'F~x'), ('x', 'c', 'c~x'), ('F', 'c', 'F=~c')]
        """
        out = [(s, t, f"{t}~{s}") for s, t in self.paths]
        if out:
            structural = set(self.structural)
            rows = self.partable[self.partable["op"].isin(["=~", "<~"])
                                 & self.partable["rhs"].isin(structural)]
            out += [(r.lhs, r.rhs, r.name) for r in rows.itertuples()]
        return out

    def parameter(self, name: str) -> pd.Series:
        """The table row of a parameter by name (``CI~IS``) or label."""
        rows = self.partable[(self.partable["name"] == name) | (self.partable["label"] == name)]
        if rows.empty:
            raise ConnectiveError(f"{self.source}: no parameter named {name!r}")
        return rows.iloc[0]

    # -- matrices ---------------------------------------------------------------------------
    def pattern(self, matrix: str) -> Pattern:
        """Pattern of ``lambda``, ``beta``, ``psi`` or ``theta`` as labelled arrays.

        Example
        -------
        >>> spec = parse_model("F =~ x1 + x2 + x3")
        >>> spec.pattern("lambda").value.sel(observed="x1", structural="F").item()
        1.0
        """
        eta, obs = list(self.structural), list(self.observed)
        shapes = {"lambda": (("observed", obs), ("structural", eta)),
                  "beta": (("target", eta), ("source", eta)),
                  "psi": (("row", eta), ("col", eta)),
                  "theta": (("row", obs), ("col", obs))}
        if matrix not in shapes:
            raise ValueError(f"unknown matrix {matrix!r}; expected one of {', '.join(shapes)}")
        (rdim, rows), (cdim, cols) = shapes[matrix]
        free = np.zeros((len(rows), len(cols)), dtype=int)
        value = np.zeros((len(rows), len(cols)))
        name = np.full((len(rows), len(cols)), "", dtype=object)
        r_ix, c_ix = {v: i for i, v in enumerate(rows)}, {v: i for i, v in enumerate(cols)}

        def put(r, c, row):
            free[r, c] = row.free
            value[r, c] = row.ustart if row.free == 0 else np.nan
            name[r, c] = row.name

        if matrix == "lambda":
            for v in eta:
                if v in r_ix:  # observed structural variable: itself, loading 1, no error
                    value[r_ix[v], c_ix[v]] = 1.0
        structural = set(eta)
        for row in self.partable.itertuples():
            # a loading on a structural variable (a first-order construct of a higher-order
            # one, an item in a regression) is an arrow of B: beta[indicator, construct]
            by_arrow = row.op in ("=~", "<~") and row.rhs in structural
            if matrix == "lambda" and row.op in ("=~", "<~") and not by_arrow:
                put(r_ix[row.rhs], c_ix[row.lhs], row)
            elif matrix == "beta" and by_arrow:
                put(r_ix[row.rhs], c_ix[row.lhs], row)
            elif matrix == "beta" and row.op == "~" and row.rhs in structural:
                put(r_ix[row.lhs], c_ix[row.rhs], row)  # not a latent product: no cell
            elif row.op == "~~" and matrix in ("psi", "theta"):
                # an observed structural variable's variance belongs to psi, not theta
                in_psi = row.lhs in self.structural and row.rhs in self.structural
                if in_psi == (matrix == "psi"):
                    put(r_ix[row.lhs], c_ix[row.rhs], row)
                    put(r_ix[row.rhs], c_ix[row.lhs], row)
        coords = {rdim: rows, cdim: cols}
        dims = (rdim, cdim)
        return Pattern(xr.DataArray(free, coords, dims), xr.DataArray(value, coords, dims),
                       xr.DataArray(name, coords, dims))

    # -- structure --------------------------------------------------------------------------
    def indirect_paths(self, source: str | None = None,
                       target: str | None = None) -> list[tuple[str, ...]]:
        """Every directed path of two or more arrows (:attr:`arrows`), optionally from
        ``source`` / to ``target``.

        Example
        -------
        >>> spec = parse_model("CI ~ IS\\nCID ~ CI\\nOCA ~ CID + CI")
        >>> spec.indirect_paths("IS", "OCA")
        [('IS', 'CI', 'CID', 'OCA'), ('IS', 'CI', 'OCA')]
        """
        for v in (source, target):
            if v is not None and v not in self.structural:
                raise ConnectiveError(f"{v!r} is not a variable of the structural model; "
                                      f"expected one of {', '.join(self.structural)}")
        children: dict[str, list[str]] = {v: [] for v in self.structural}
        for src, tgt, _ in self.arrows:
            children[src].append(tgt)
        order = {v: i for i, v in enumerate(self.structural)}
        for v in children:
            children[v].sort(key=order.get)
        found: list[tuple[str, ...]] = []

        def walk(path: tuple[str, ...]) -> None:
            for child in children[path[-1]]:
                if child in path:
                    continue  # a cycle (only with allow_cycles): paths must be simple
                longer = path + (child,)
                if len(longer) >= 3 and (target is None or child == target):
                    found.append(longer)
                walk(longer)

        for start in self.structural if source is None else [source]:
            walk((start,))
        return found

    # -- text ---------------------------------------------------------------------------------
    def to_syntax(self, *, defaults: bool = False) -> str:
        """Model text that parses back to the same parameter table (round trip).

        With ``defaults=True`` the rows added by the defaults are written out too.

        Example
        -------
        >>> print(parse_model("F =~ x1 + a*x2 + start(0.5)*x3").to_syntax())
        F =~ x1 + a*x2 + start(0.5)*x3
        """
        lines: list[str] = []
        rows = self.partable if defaults else self.partable[self.partable["user"] == 1]
        rows = rows[rows["exo"] == 0]  # fixed.x moments: written, they would be random
        current: tuple | None = None
        for row in rows.itertuples():
            if row.op == ":=":
                lines.append(f"{row.lhs} := {row.rhs}")
                current = None
                continue
            term = _render_term(row, defaults=defaults, user=row.user == 1,
                                marker=self._is_marker(row))
            op, rhs = ("~", term) if row.op == "~1" else (row.op, term)
            if current == (row.lhs, op):
                lines[-1] += f" + {rhs}"
            else:
                lines.append(f"{row.lhs} {op} {rhs}")
                current = (row.lhs, op)
        return "\n".join(lines)

    def _is_marker(self, row) -> bool:
        if row.op != "=~" or not self.options.fixed_first:
            return False
        return self.indicators[row.lhs][0] == row.rhs

    def describe(self) -> str:
        """A short text summary: constructs, paths, parameters, defined effects."""
        out = [f"Model {self.source}"]
        n_items = len({x for v in self.indicators.values() for x in v
                       if x not in self.indicators})
        out.append(f"  {len(self.latent)} reflective and {len(self.composites)} composite "
                   f"constructs, {n_items} indicators, {len(self.observed)} observed variables, "
                   f"{self.n_free} free parameters"
                   + (" (factor variances fixed: std.lv)" if self.std_lv else
                      " (first loading of each factor fixed to 1)"))
        changed = self.options.changed()
        if changed:
            out.append("  lavaan options: " + ", ".join(f"{k} = {str(v).upper()}"
                                                        for k, v in changed.items()))
        if self.fixed_x:
            out.append(f"  covariates conditioned on (fixed.x): {', '.join(self.fixed_x)}")
        out += [f"  note: {note}" for note in self.notes]
        for c in self.constructs:
            op = "=~" if c in self.latent else "<~"
            out.append(f"  {c} {op} {' + '.join(self.indicators[c])}")
        out.append(f"  exogenous: {', '.join(self.exogenous)}")
        out.append(f"  endogenous: {', '.join(self.endogenous)}")
        for tgt in self.endogenous:
            preds = [s for s, t in self.paths if t == tgt]
            if preds:  # (a first-order factor of a higher-order one is endogenous too)
                out.append(f"  {tgt} ~ {' + '.join(preds)}")
        if self.higher_order:
            out.append(f"  higher-order: {', '.join(self.higher_order)}")
        if self.structural_items:
            out.append(f"  items in regressions: {', '.join(self.structural_items)}")
        for name, expr in self.defined.items():
            out.append(f"  {name} := {expr}")
        return "\n".join(out)


def _fmt(x: float) -> str:
    return repr(int(x)) if float(x).is_integer() else repr(float(x))


def _render_term(row, *, defaults: bool, user: bool, marker: bool) -> str:
    mods: list[str] = []
    if not math.isnan(row.ustart):
        # the marker's 1 is implied; write it only when a default rendering asks for all
        if not (marker and row.ustart == 1.0 and not defaults):
            mods.append(_fmt(row.ustart))
    elif marker:
        mods.append("NA")
    if row.label:
        mods.append(row.label)
    if not math.isnan(row.start):
        mods.append(f"start({_fmt(row.start)})")
    if row.prior:
        mods.append(f'prior("{row.prior}")')
    rhs = "1" if row.op == "~1" else row.rhs
    a, colon, b = rhs.partition(":")
    if colon and a == b:
        rhs = f"{a}^2"  # a quadratic term is written as the parser reads it
    return "*".join([*mods, rhs])


def parse_model(text: str, *, source: str = "<model>", std_lv: bool = False,
                allow_cycles: bool = False,
                options: LavaanOptions | dict[str, bool | None] | None = None) -> ModelSpec:
    """Parse lavaan-syntax model text into a checked :class:`ModelSpec`.

    lavaan's defaults apply (:mod:`connective.spec.defaults`), as set in the text's
    ``# options:`` comment and then by ``options`` (a mapping of option names, lavaan's
    ``auto.cov.y`` or ``auto_cov_y``, to True/False/None, None leaving the text's value;
    or a whole :class:`LavaanOptions`); ``std_lv=True`` is short for ``{"std.lv": True}``.

    Raises :class:`~connective.errors.ModelSyntaxError` (or its subclass ``ModelSpecError``)
    naming the line and column of the first problem.

    Example
    -------
    >>> spec = parse_model("IS =~ is1 + is2 + is3\\nCI =~ ci1 + ci2 + ci3\\nCI ~ IS")
    >>> spec.latent, spec.indicators["CI"], spec.n_free
    (('IS', 'CI'), ('ci1', 'ci2', 'ci3'), 13)
    >>> parse_model("F =~ a + b + c", options={"std.lv": True}).text
    'F =~ a + b + c\\n# options: std.lv = TRUE'
    """
    written = options_from_text(text, source)
    if isinstance(options, LavaanOptions):
        effective = options
    else:
        overrides = {LAVAAN_NAMES.get(k, k): v for k, v in (options or {}).items()}
        unknown = sorted(set(overrides) - set(LAVAAN_NAMES.values()))
        if unknown:
            raise ConnectiveError(f"unknown model option(s) {', '.join(unknown)}; expected "
                                  f"one of {', '.join(LAVAAN_NAMES)}")
        effective = written.merged(**overrides)
    if std_lv:
        effective = effective.merged(std_lv=True)
    if effective != written:  # the text says what was fitted
        text = with_header(text, effective)
    b = build_partable(parse_formulas(text, source), text=text, source=source,
                       options=effective, allow_cycles=allow_cycles)
    return ModelSpec(text=text, source=source, std_lv=effective.std_lv, partable=b.table,
                     latent=tuple(b.latent), composites=tuple(b.composites),
                     indicators={c: tuple(v) for c, v in b.indicators.items()},
                     observed=tuple(b.observed), structural=tuple(b.structural),
                     exogenous=tuple(b.exogenous), endogenous=tuple(b.endogenous),
                     defined=b.defined, options=effective, fixed_x=tuple(b.fixed_x),
                     notes=tuple(b.notes))


def read_model(path: str | Path, *, std_lv: bool = False, allow_cycles: bool = False,
               options: dict[str, bool | None] | None = None) -> ModelSpec:
    """Read and parse a model file (``options`` as for :func:`parse_model`); errors name
    the file.

    Example
    -------
    >>> from connective.resources import model_path
    >>> read_model(model_path("simca")).structural
    ('CID', 'INJ', 'EFF', 'OCA')
    """
    from connective.io import read_user_text

    text = read_user_text(path, "model file")
    return parse_model(text, source=str(path), std_lv=std_lv, allow_cycles=allow_cycles,
                       options=options)


__all__ = ["ModelSpec", "Pattern", "parse_model", "read_model", "parameter_name"]
