"""Formulas -> lavaan-style parameter table, with identification defaults and model checks.

The parameter table is the one source of truth of a model: one row per parameter with
``lhs, op, rhs, user, free, ustart, label, start, prior, name, line, column``.
``user`` is 1 for rows written in the model text and 0 for rows added by the defaults
below; ``free`` numbers the free parameters from 1 (0 = fixed), and rows that share a label
share their number (an equality constraint, as in lavaan); ``ustart`` is the value of a fixed
parameter (NaN when free).

Defaults follow lavaan's ``sem()`` and ``cfa()`` rule by rule (``lav_partable_flat``); each
rule is a switch of :class:`~connective.spec.defaults.LavaanOptions`, which documents them.
The column ``exo`` marks, as in lavaan, the moments of exogenous observed covariates under
``fixed.x``: not free (``free`` 0), their values (``ustart`` NaN) the sample's, set when a
model is fitted to data.

A product term (``y ~ A:B``, an interaction) is a regression row whose ``rhs`` is the product's
name. A product of two observed variables is, as in lavaan, an observed exogenous variable of
its own (a column of the data, the product of the two answers; fixed.x applies). A product
involving a construct is no variable of the structural model: its moments follow from the
factors', so it gets no variance or covariance rows (lavaan adds them, then cannot estimate
the model); the engines that support latent interactions read them from
:attr:`connective.spec.ModelSpec.interactions`.

Example
-------
>>> from connective.spec.parser import parse_formulas
>>> table = build_partable(parse_formulas("F =~ x1 + x2 + x3"), text="F =~ x1 + x2 + x3").table
>>> table.loc[0, ["lhs", "op", "rhs"]].tolist(), int(table.loc[0, "free"]), table.loc[0, "ustart"]
(['F', '=~', 'x1'], 0, np.float64(1.0))
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pandas as pd

from connective.errors import ModelSpecError
from connective.spec.defaults import LavaanOptions
from connective.spec.lexer import SourceText, Token
from connective.spec.parser import Formula

COLUMNS = ["lhs", "op", "rhs", "user", "free", "ustart", "exo", "label", "start", "prior",
           "name", "line", "column"]
MEASUREMENT_OPS = ("=~", "<~")


def parameter_name(lhs: str, op: str, rhs: str) -> str:
    """Name of a parameter as lavaan's ``coef()`` writes it, e.g. ``CI~IS``, ``IS=~is1``."""
    if op == ":=":
        return lhs
    return f"{lhs}{op}{rhs}"


def _err(src: SourceText, message: str, at: Token | tuple[int, int], hint: str | None = None):
    return src.error(message, at, hint=hint, cls=ModelSpecError)


def _row(lhs, op, rhs, *, user, ustart=math.nan, label="", start=math.nan, prior="",
         line=0, column=0, free_flag=False, exo=0):
    return {"lhs": lhs, "op": op, "rhs": rhs, "user": user, "ustart": ustart, "exo": exo,
            "label": label, "start": start, "prior": prior, "line": line, "column": column,
            "_free_flag": free_flag}


def _key(lhs: str, op: str, rhs: str) -> tuple:
    # a ~~ b and b ~~ a are the same parameter
    return (op, *sorted((lhs, rhs))) if op == "~~" else (lhs, op, rhs)


class _Builder:
    def __init__(self, formulas: list[Formula], src: SourceText, options: LavaanOptions,
                 allow_cycles: bool):
        self.formulas = formulas
        self.src = src
        self.options = options
        self.std_lv = options.std_lv
        self.allow_cycles = allow_cycles
        self.notes: list[str] = []  # what a user should know of the defaults applied
        self.rows: list[dict] = []
        self.tokens: dict[int, Token] = {}  # row index -> the token of its right-hand side
        self.lhs_tokens: dict[int, Token] = {}  # row index -> the token of its left-hand side
        self.products: dict[str, tuple[str, str, Token]] = {}  # product terms A:B, by name

    # -- user rows -------------------------------------------------------------------------
    def collect(self) -> None:
        seen: dict[tuple, Token] = {}
        for f in self.formulas:
            if f.op == ":=":
                continue
            for lhs_tok, term in itertools.product(f.lhs_tokens, f.terms):
                op, rhs = ("~1", "") if term.name == "1" else (f.op, term.name)
                key = _key(lhs_tok.value, op, rhs)
                if key in seen:
                    first = seen[key]
                    raise _err(self.src, f"duplicate definition of '{lhs_tok.value} {f.op} "
                               f"{term.name}'", term.token,
                               hint=f"it is already defined on line {first.line}; keep one")
                seen[key] = term.token
                if term.product is not None:
                    self.products.setdefault(term.name, (*term.product, term.token))
                self.tokens[len(self.rows)] = term.token
                self.lhs_tokens[len(self.rows)] = lhs_tok
                self.rows.append(_row(
                    lhs_tok.value, op, rhs, user=1,
                    ustart=term.fixed if term.fixed is not None else math.nan,
                    label=term.label or "", start=term.start if term.start is not None else math.nan,
                    prior=term.prior or "", line=term.token.line, column=term.token.column,
                    free_flag=term.free))

    def user_rows(self, *ops: str):
        return [(i, r) for i, r in enumerate(self.rows) if r["op"] in ops]

    # -- variables ----------------------------------------------------------------------------
    def classify(self) -> None:
        self.latent = list(dict.fromkeys(r["lhs"] for _, r in self.user_rows("=~")))
        self.composites = list(dict.fromkeys(r["lhs"] for _, r in self.user_rows("<~")))
        constructs = set(self.latent) | set(self.composites)
        for i, r in self.user_rows("<~"):
            if r["lhs"] in self.latent:
                first = next(r2 for r2 in self.rows if r2["op"] == "=~" and r2["lhs"] == r["lhs"])
                raise _err(self.src, f"{r['lhs']!r} is defined both as a reflective factor (=~, "
                           f"line {first['line']}) and as a composite (<~)",
                           self.lhs_tokens[i], hint="choose one measurement model per construct")
        self.indicators: dict[str, list[str]] = {c: [] for c in [*self.latent, *self.composites]}
        for i, r in self.user_rows(*MEASUREMENT_OPS):
            if r["rhs"] == r["lhs"]:
                raise _err(self.src, f"{r['lhs']!r} is both a factor and an indicator of itself",
                           self.tokens[i], hint="an indicator must be an observed variable or "
                                                "another construct")
            self.indicators[r["lhs"]].append(r["rhs"])
        # a construct measured by constructs is a higher-order construct; its first-order
        # constructs stay structural variables, their loadings on it arrows of B (all-y)
        items = list(dict.fromkeys(x for xs in self.indicators.values() for x in xs
                                   if x not in constructs))
        item_set = set(items)
        # an item in a regression (MIMIC with differential item functioning: x3 ~ sex, or an
        # item predicting an outcome) joins the structural variables as itself (lavaan's
        # all-y phantom): its loadings become arrows of B, its residual variance a psi cell
        in_regressions = {name for _, r in self.user_rows("~") for name in (r["lhs"], r["rhs"])}
        structural = [*self.latent, *self.composites]
        structural += [x for x in items if x in in_regressions]
        for _, r in self.user_rows("~", "~~", "~1"):
            for name in (r["lhs"], r["rhs"]):
                if (name and name not in item_set and name not in structural
                        and name not in self.products):
                    structural.append(name)
        self._check_products(constructs, item_set, structural)
        # a product of two observed variables is an observed variable itself (lavaan's rule)
        structural += [name for name, (a, b, _) in self.products.items()
                       if a not in constructs and b not in constructs]
        loads = {(r["lhs"], r["rhs"]): i for i, r in self.user_rows(*MEASUREMENT_OPS)}
        for i, r in self.user_rows("~"):
            if (r["rhs"], r["lhs"]) in loads:
                first = self.rows[loads[(r["rhs"], r["lhs"])]]
                raise _err(self.src, f"'{r['lhs']} ~ {r['rhs']}' repeats the loading "
                           f"'{r['rhs']} {first['op']} {r['lhs']}' (line {first['line']}): "
                           "both are the same arrow", self.tokens[i],
                           hint="keep the loading; a regression of an item on another "
                                "variable is a direct effect on the item")
        self.items = items
        self.structural_unordered = structural

    def _check_products(self, constructs: set[str], items: set[str],
                        structural: list[str]) -> None:
        """Each factor of a product must be a variable of the model's structural part."""
        for name, (a, b, tok) in self.products.items():
            for factor in dict.fromkeys((a, b)):
                if factor in constructs or (factor in structural and factor not in items):
                    continue
                if factor in items:
                    owner = next(c for c, xs in self.indicators.items() if factor in xs)
                    raise _err(self.src, f"{factor!r} in the product {name} is an indicator "
                               f"of {owner!r}", tok,
                               hint=f"use the construct ({owner}) in the product, or give "
                                    f"{factor} a regression of its own")
                raise _err(self.src, f"{factor!r} in the product {name} is not a variable "
                           "of the model", tok,
                           hint=f"add it as a main effect ('{self._outcome_of(name)} ~ {a} + "
                                f"{b} + {name}') or define it as a construct")

    def _outcome_of(self, product: str) -> str:
        return next(r["lhs"] for _, r in self.user_rows("~") if r["rhs"] == product)

    def order(self) -> None:
        """Topological order of the structural variables; cycles are an error unless allowed."""
        parents: dict[str, list[str]] = {v: [] for v in self.structural_unordered}
        edge_row: dict[tuple[str, str], int] = {}
        for i, r in self.user_rows("~"):
            # a latent product is no variable: its outcome comes after both its factors
            for parent in ([r["rhs"]] if r["rhs"] in parents else self.products[r["rhs"]][:2]):
                parents[r["lhs"]].append(parent)
                edge_row.setdefault((parent, r["lhs"]), i)
        for i, r in self.user_rows(*MEASUREMENT_OPS):  # F -> its structural indicators
            if r["rhs"] in parents:
                parents[r["rhs"]].append(r["lhs"])
                edge_row[(r["lhs"], r["rhs"])] = i
        order: list[str] = []
        placed: set[str] = set()
        remaining = list(self.structural_unordered)
        while remaining:
            ready = [v for v in remaining if all(p in placed for p in parents[v])]
            if not ready:
                if self.allow_cycles:
                    order.extend(remaining)
                    break
                cycle = _find_cycle(remaining, parents)
                i = edge_row[(cycle[0], cycle[1])]
                raise _err(self.src, "the structural model is non-recursive (it has the cycle "
                           f"{' -> '.join(cycle)}), which is not supported", self.tokens[i],
                           hint="remove one path of the cycle")
            for v in ready:
                order.append(v)
                placed.add(v)
                remaining.remove(v)
        self.structural = order
        # observed variables: indicators, then observed structural variables in causal order
        constructs = set(self.latent) | set(self.composites)
        item_set = set(self.items)
        self.observed = self.items + [v for v in order
                                      if v not in constructs and v not in item_set]
        self.endogenous = [v for v in order if parents[v]]
        self.exogenous = [v for v in order if not parents[v]]

    # -- defaults -----------------------------------------------------------------------------
    def add_defaults(self) -> None:
        """lavaan's rules (``lav_partable_flat``), in its terms: ``eqs_y`` / ``eqs_x`` are the
        outcomes / predictors of regressions; ``lv_x`` the factors that are neither outcome
        nor indicator; ``pure_y`` the outcomes that predict nothing and are no indicator;
        ``ov_x`` the observed predictors that are no outcome and no indicator."""
        opts = self.options
        existing = {_key(r["lhs"], r["op"], r["rhs"]): i for i, r in enumerate(self.rows)}

        def unmodified(r) -> bool:
            return math.isnan(r["ustart"]) and not r["_free_flag"]

        for factor in self.latent:
            first = next(r for r in self.rows if r["op"] == "=~" and r["lhs"] == factor)
            # marker identification, as lavaan: NA*x or a fixed value opts out
            if opts.fixed_first and unmodified(first):
                first["ustart"] = 1.0
        regressions = self.user_rows("~")
        eqs_y = {r["lhs"] for _, r in regressions}
        eqs_x = {r["rhs"] for _, r in regressions}
        # indicators (items and first-order constructs) are neither lv_x nor pure_y nor ov_x
        v_ind = {r["rhs"] for _, r in self.user_rows(*MEASUREMENT_OPS)}
        constructs = set(self.latent) | set(self.composites)
        observed_structural = [v for v in self.structural if v not in constructs]
        lv_x = [v for v in self.latent if v not in eqs_y and v not in v_ind]
        pure_y = [v for v in self.structural if v in eqs_y and v not in eqs_x
                  and v not in self.composites and v not in v_ind]
        ov_x = [v for v in observed_structural if v in eqs_x and v not in eqs_y
                and v not in v_ind]
        mentioned = {name for _, r in self.user_rows("~~", "~1") for name in (r["lhs"], r["rhs"])}
        fixed_x: list[str] = []
        if opts.fixed_x:
            random = [v for v in ov_x if v in mentioned]
            if random:  # lavaan's rule and its warning
                self.notes.append(
                    f"the model text gives a variance, covariance or intercept of the "
                    f"exogenous covariate(s) {', '.join(random)}: they are treated as random "
                    "(their moments are parameters) instead of fixed at the sample values; "
                    "remove those formulas to condition on them, or set fixed.x = FALSE")
            fixed_x = [v for v in ov_x if v not in random]
        single = self._single_indicators() if opts.auto_var and opts.auto_fix_single else set()

        def add(lhs, rhs, value=math.nan, exo=0):
            if _key(lhs, "~~", rhs) not in existing:
                existing[_key(lhs, "~~", rhs)] = len(self.rows)
                if not opts.auto_var and lhs == rhs and not exo:
                    value = 0.0
                self.rows.append(_row(lhs, "~~", rhs, user=0, ustart=value, exo=exo))

        for item in self.items:
            add(item, item, 0.0 if item in single else math.nan)
        for v in self.structural:
            if v in self.composites or v in fixed_x:
                continue
            if opts.std_lv and v in self.latent:
                i = existing.get(_key(v, "~~", v))
                if i is not None and unmodified(self.rows[i]):
                    self.rows[i]["ustart"] = 1.0  # as lavaan: std.lv fixes written ones too
                add(v, v, 1.0)
            else:
                add(v, v)
        orthogonal = 0.0 if opts.orthogonal else math.nan
        if opts.auto_cov_lv_x:
            for a, b in itertools.combinations(lv_x, 2):
                add(a, b, orthogonal)
        if opts.auto_cov_y:
            for a, b in itertools.combinations(pure_y, 2):
                both_latent = a in self.latent and b in self.latent
                add(a, b, orthogonal if both_latent else math.nan)
        for a, b in itertools.combinations_with_replacement(ov_x, 2):
            add(a, b, exo=int(a in fixed_x and b in fixed_x))
        self.fixed_x = fixed_x

    def _single_indicators(self) -> set[str]:
        """Items that are the only indicator of a factor and load on nothing else
        (lavaan's ``auto.fix.single`` fixes their residual variances to 0)."""
        loads = self.user_rows("=~")
        count = {f: sum(r["lhs"] == f for _, r in loads) for f in self.latent}
        uses = {x: sum(r["rhs"] == x for _, r in loads) for x in self.items}
        return {r["rhs"] for _, r in loads if count[r["lhs"]] == 1 and uses[r["rhs"]] == 1}

    # -- identification checks ---------------------------------------------------------------
    def check_identification(self) -> None:
        by_key = {_key(r["lhs"], r["op"], r["rhs"]): r for r in self.rows}
        for factor in self.latent:
            loadings = [(i, r) for i, r in self.user_rows("=~") if r["lhs"] == factor]
            variance = by_key[_key(factor, "~~", factor)]
            any_fixed = any(not math.isnan(r["ustart"]) and r["ustart"] != 0 for _, r in loadings)
            if not any_fixed and math.isnan(variance["ustart"]):
                i = loadings[0][0]
                raise _err(self.src, f"factor {factor!r} has no fixed loading and a free "
                           "variance, so its scale is not identified", self.tokens[i],
                           hint=f"fix a loading (1*{loadings[0][1]['rhs']}), fix the variance "
                                f"({factor} ~~ 1*{factor}) or set std.lv (--std-lv)")
            if len(loadings) == 1:
                item = loadings[0][1]["rhs"]
                if math.isnan(by_key[_key(item, "~~", item)]["ustart"]):
                    i = loadings[0][0]
                    raise _err(self.src, f"factor {factor!r} has one indicator and a free error "
                               f"variance, which cannot be identified", self.tokens[i],
                               hint=f"fix its error variance (e.g. {item} ~~ 0*{item}), keep "
                                    "auto.fix.single on (lavaan's default, which does that), or "
                                    f"use {item!r} directly as an observed variable")

    # -- defined parameters -------------------------------------------------------------------
    def defined(self) -> dict:
        labels = {r["label"] for r in self.rows if r["label"]}
        variables = set(self.observed) | set(self.structural)
        defined: dict = {}
        lines: dict[str, int] = {}
        for f in self.formulas:
            if f.op != ":=":
                continue
            name, tok = f.lhs[0], f.lhs_tokens[0]
            if name in defined:
                raise _err(self.src, f"duplicate definition of {name!r}", tok,
                           hint=f"it is already defined on line {lines[name]}; keep one")
            if name in labels:
                raise _err(self.src, f"{name!r} is already a parameter label", tok,
                           hint="give the defined parameter another name")
            if name in variables:
                raise _err(self.src, f"{name!r} is already a variable of the model", tok,
                           hint="give the defined parameter another name")
            for ref in f.expression.name_tokens():
                if ref.value not in labels and ref.value not in defined:
                    later = [g.lhs_tokens[0].line for g in self.formulas
                             if g.op == ":=" and g.lhs[0] == ref.value]
                    if later:
                        raise _err(self.src, f"{ref.value!r} is used before it is defined",
                                   ref, hint=f"{ref.value!r} is defined later (line {later[0]}); "
                                             "move its definition up")
                    known = f"; labels in this model: {', '.join(sorted(labels))}" if labels else ""
                    raise _err(self.src, f"label {ref.value!r} is not carried by any parameter",
                               ref, hint="label a path first, e.g. 'OCA ~ b*EFF', then use b "
                                         f"here{known}")
            defined[name] = f.expression
            lines[name] = tok.line
            self.rows.append(_row(name, ":=", f.expression_text, user=1, line=tok.line,
                                  column=tok.column))
        return defined

    # -- numbering ------------------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        label_index: dict[str, int] = {}
        label_fixed: dict[str, tuple[bool, int]] = {}
        n_free = 0
        for i, r in enumerate(self.rows):
            fixed = not math.isnan(r["ustart"]) or r["op"] == ":=" or bool(r["exo"])
            if r["label"]:
                if r["label"] in label_fixed and label_fixed[r["label"]][0] != fixed:
                    first_line = label_fixed[r["label"]][1]
                    raise _err(self.src, f"label {r['label']!r} is on a fixed and on a free "
                               "parameter", self.tokens.get(i, (r["line"], r["column"])),
                               hint=f"see line {first_line}; a shared label means equal values")
                label_fixed.setdefault(r["label"], (fixed, r["line"]))
            if fixed:
                r["free"] = 0
            elif r["label"] and r["label"] in label_index:
                r["free"] = label_index[r["label"]]
            else:
                n_free += 1
                r["free"] = n_free
                if r["label"]:
                    label_index[r["label"]] = n_free
            r["name"] = parameter_name(r["lhs"], r["op"], r["rhs"])
        table = pd.DataFrame(self.rows).drop(columns="_free_flag")
        return table[COLUMNS].astype({"user": int, "free": int, "exo": int, "line": int,
                                      "column": int})


def _find_cycle(nodes: list[str], parents: dict[str, list[str]]) -> list[str]:
    """One cycle among nodes that cannot be ordered, as [a, b, ..., a] along the arrows."""
    children = {v: [c for c in nodes if v in parents[c]] for v in nodes}
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        if v in path:
            return path[path.index(v):] + [v]
        path.append(v)
        for c in children[v]:
            if (found := visit(c)) is not None:
                return found
        path.pop()
        return None

    for v in nodes:
        if (found := visit(v)) is not None:
            return found
    raise AssertionError("no cycle found among nodes that cannot be ordered")


@dataclass(frozen=True)
class BuiltTable:
    """A parameter table with what was learnt building it."""

    table: pd.DataFrame
    defined: dict
    latent: list[str]
    composites: list[str]
    indicators: dict[str, list[str]]
    observed: list[str]
    structural: list[str]
    exogenous: list[str]
    endogenous: list[str]
    fixed_x: list[str]
    notes: list[str]


def build_partable(formulas: list[Formula], *, text: str, source: str = "<model>",
                   options: LavaanOptions | None = None,
                   allow_cycles: bool = False) -> BuiltTable:
    """The parameter table of parsed formulas, with lavaan's defaults (``options``) added
    and the model checked.

    :func:`connective.spec.model.parse_model` wraps the result into a ``ModelSpec``.
    """
    b = _Builder(formulas, SourceText(text, source), options or LavaanOptions(), allow_cycles)
    if not formulas:
        raise _err(b.src, "the model is empty", (1, 1),
                   hint="write at least one formula, e.g. 'F =~ x1 + x2 + x3'")
    b.collect()
    b.classify()
    b.order()
    b.add_defaults()
    b.check_identification()
    defined = b.defined()
    return BuiltTable(b.table(), defined, b.latent, b.composites, b.indicators, b.observed,
                      b.structural, b.exogenous, b.endogenous, b.fixed_x, b.notes)
