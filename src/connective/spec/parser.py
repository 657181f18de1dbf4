"""Model text -> statements -> formulas, following lavaan's syntax.

A statement ends at a newline or ``;`` unless a bracket is still open, the line ends with an
operator (``+``, ``*`` ...) or the next line starts with ``+``. Each statement is one formula:
``lhs op rhs`` with

* ``=~`` reflective measurement, ``<~`` composite (PLS mode B), ``~`` regression,
  ``~~`` (co)variance, ``:=`` defined parameter;
* right-hand terms joined by ``+``, each ``modifier*...*variable`` where a modifier is a
  number (fixed value), ``NA`` (free), a label, ``start(x)``, ``label("a")`` or
  ``prior("normal(0, 0.5)")`` (kept as text, never evaluated);
* ``y ~ 1`` for an intercept;
* ``y ~ A:B`` for the product of two predictors (an interaction: latent x latent, latent x
  observed or observed x observed), with modifiers like any term (``b3*A:B``); a variable
  times itself (``A:A``) is a quadratic effect, written ``A^2``.

Example
-------
>>> formulas = parse_formulas("OCA ~ b1*EFF + start(0.3)*CID\\nind := a*b1")
>>> [(f.lhs, f.op, [t.name for t in f.terms]) for f in formulas[:1]]
[(('OCA',), '~', ['EFF', 'CID'])]
>>> formulas[0].terms[0].label, formulas[0].terms[1].start
('b1', 0.3)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connective.spec.expressions import Expr, parse_expression
from connective.spec.lexer import KNOWN_OPERATORS, SourceText, Token, tokenize

SUPPORTED_OPERATORS = ("=~", "<~", "~", "~~", ":=")
_UNSUPPORTED = {
    "==": "equality constraints are not supported; give the parameters one shared label "
          "instead (a*x1 + a*x2)",
    "<": "inequality constraints are not supported; use a prior() on the parameter instead",
    ">": "inequality constraints are not supported; use a prior() on the parameter instead",
    "|": "thresholds are estimated by the ordinal likelihood; remove this line",
    "~*~": "scaling factors are not supported",
}
_SUGGEST = {"->": "write a regression as 'outcome ~ predictor'",
            "<-": "write a regression as 'outcome ~ predictor'",
            "=>": "write a regression as 'outcome ~ predictor'",
            "=": "use '=~' for a measurement model, ':=' for a defined parameter",
            "~=": "use '=~' for a measurement model",
            ":": "use ':=' for a defined parameter"}
#: lavaan's block headers ('group: 1', 'level: 2') -> what they are, what to do instead
_BLOCKS = {
    "group": ("multiple-group models", "fit each group's data on its own, or model the groups "
              "with --group COLUMN (a hierarchical model: paths pooled across groups)"),
    "level": ("two-level models", "fit it with 'connective fit MODEL --data FILE --cluster "
              "COLUMN'; a one-level model has no 'level:' lines"),
    "class": ("latent class (mixture) models", "remove the block; fit one model per class"),
    "block": ("blocks", "remove the block header"),
}
_CONTINUES = {"PLUS", "MINUS", "STAR", "SLASH", "CARET", "COMMA", "OP", "BADOP"}
_MODIFIER_FUNCTIONS = ("start", "label", "prior", "equal")


@dataclass
class Term:
    """One right-hand term: a variable with its modifiers."""

    name: str
    token: Token
    fixed: float | None = None  # value of a fixed parameter (1*x, 0*x)
    free: bool = False  # NA*x: free although identification would fix it
    label: str | None = None
    start: float | None = None
    prior: str | None = None
    modifier_tokens: dict[str, Token] = field(default_factory=dict)
    #: the two factors of a product term (``A:B`` -> ("A", "B"); ``A^2`` -> ("A", "A"))
    product: tuple[str, str] | None = None


@dataclass
class Formula:
    """One statement: left-hand names, operator, right-hand terms (or expression for ``:=``)."""

    lhs: tuple[str, ...]
    lhs_tokens: tuple[Token, ...]
    op: str
    op_token: Token
    terms: list[Term] = field(default_factory=list)
    expression: Expr | None = None
    expression_text: str = ""


def parse_formulas(text: str, source: str = "<model>") -> list[Formula]:
    """Parse model text into formulas; raises :class:`ModelSyntaxError` with line and column.

    Example
    -------
    >>> [f.op for f in parse_formulas("F =~ x1 + x2 + x3; F ~~ F")]
    ['=~', '~~']
    """
    src = SourceText(text, source)
    return [_parse_statement(stmt, src) for stmt in _statements(tokenize(text, source), src)]


def _statements(tokens: list[Token], src: SourceText) -> list[list[Token]]:
    """Split tokens into statements, checking brackets on the way."""
    out: list[list[Token]] = []
    current: list[Token] = []
    open_parens: list[Token] = []
    for i, tok in enumerate(tokens):
        if tok.kind == "LPAREN":
            open_parens.append(tok)
        elif tok.kind == "RPAREN":
            if not open_parens:
                raise src.error("unbalanced parentheses: ')' without a matching '('", tok)
            open_parens.pop()
        if tok.kind in ("NEWLINE", "SEMI"):
            if open_parens or not current:
                continue
            if tok.kind == "NEWLINE":
                if current[-1].kind in _CONTINUES:
                    continue
                nxt = next((t for t in tokens[i + 1:] if t.kind != "NEWLINE"), None)
                if nxt is not None and nxt.kind == "PLUS":
                    continue
            out.append(current)
            current = []
        else:
            current.append(tok)
    if open_parens:
        raise src.error("unbalanced parentheses: this '(' is never closed", open_parens[-1])
    if current:
        out.append(current)
    return out


def _parse_statement(tokens: list[Token], src: SourceText) -> Formula:
    depth = 0
    op_index = None
    for i, tok in enumerate(tokens):
        depth += (tok.kind == "LPAREN") - (tok.kind == "RPAREN")
        if depth == 0 and tok.kind in ("OP", "BADOP"):
            op_index = i
            break
    if op_index is None:
        raise src.error("no operator in this statement", tokens[0],
                        hint=f"expected 'lhs op rhs' with op one of {' '.join(SUPPORTED_OPERATORS)}")
    op = tokens[op_index]
    if op.value == ":" and op_index == 1 and tokens[0].kind == "IDENT" \
            and tokens[0].value.lower() in _BLOCKS:
        what, instead = _BLOCKS[tokens[0].value.lower()]
        if tokens[0].value.lower() == "level":  # read by spec/levels.py, not here
            raise src.error("'level:' blocks make a two-level model, which needs a cluster "
                            "column", tokens[0], hint=instead)
        raise src.error(f"{what} ('{tokens[0].value}:' blocks) are not supported", tokens[0],
                        hint=instead)
    efa = next((t for t, nxt in zip(tokens[:op_index], tokens[1:op_index + 1])
                if t.kind == "IDENT" and t.value == "efa" and nxt.kind == "LPAREN"), None)
    if efa is not None:
        raise src.error("efa() blocks (exploratory factor analysis with rotation) are not "
                        "supported", efa,
                        hint="write the factors as a confirmatory model, one line each "
                             "(F1 =~ x1 + x2 + x3), with the loadings you expect")
    if op.kind == "BADOP":
        hint = _SUGGEST.get(op.value, "")
        raise src.error(f"unknown operator {op.value!r}", op,
                        hint=f"expected one of {' '.join(SUPPORTED_OPERATORS)}"
                             + (f"; {hint}" if hint else ""))
    if op.value in _UNSUPPORTED:
        raise src.error(f"operator {op.value!r} is not supported", op, hint=_UNSUPPORTED[op.value])
    assert op.value in KNOWN_OPERATORS
    lhs_tokens = _parse_lhs(tokens[:op_index], op, src)
    rhs = tokens[op_index + 1:]
    if not rhs:
        raise src.error(f"nothing to the right of {op.value!r}", op)
    formula = Formula(tuple(t.value for t in lhs_tokens), lhs_tokens, op.value, op)
    if op.value == ":=":
        formula.expression = parse_expression(rhs, src)
        formula.expression_text = str(formula.expression)
        return formula
    for term_tokens in _split(rhs, "PLUS", src):
        formula.terms.append(_parse_term(term_tokens, op, src))
    return formula


def _parse_lhs(tokens: list[Token], op: Token, src: SourceText) -> tuple[Token, ...]:
    if not tokens:
        raise src.error(f"nothing to the left of {op.value!r}", op)
    names = []
    for part in _split(tokens, "PLUS", src):
        if len(part) != 1 or part[0].kind != "IDENT":
            raise src.error(f"expected a variable name left of {op.value!r}", part[0])
        names.append(part[0])
    if op.value == ":=" and len(names) > 1:
        raise src.error("a defined parameter has one name", names[1])
    return tuple(names)


def _split(tokens: list[Token], kind: str, src: SourceText) -> list[list[Token]]:
    """Split at top-level tokens of ``kind``; an empty part is an error."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        depth += (tok.kind == "LPAREN") - (tok.kind == "RPAREN")
        if tok.kind == kind and depth == 0:
            if not parts[-1]:
                raise src.error(f"unexpected {tok.value!r}", tok)
            parts.append([])
        else:
            parts[-1].append(tok)
    if not parts[-1]:
        last = tokens[-1]
        raise src.error(f"expected a term after {last.value!r}", last)
    return parts


def _parse_term(tokens: list[Token], op: Token, src: SourceText) -> Term:
    factors = _split(tokens, "STAR", src)
    *modifiers, var = factors
    if len(var) == 1 and var[0].kind == "NUMBER" and var[0].value == "1" and op.value == "~":
        term = Term("1", var[0])  # intercept: y ~ 1
    elif len(var) == 1 and var[0].kind == "IDENT" and var[0].value != "NA":
        term = Term(var[0].value, var[0])
    elif any(t.value == ":" for t in var) or any(t.kind == "CARET" for t in var):
        term = _product_term(var, op, src)
    else:
        raise src.error("expected a variable name", var[0],
                        hint="a term is 'modifier*variable', e.g. 'a*x', '1*x', 'NA*x', 'start(0.5)*x'")
    for mod in modifiers:
        _apply_modifier(term, mod, src)
    return term


def product_name(a: str, b: str) -> str:
    """The name of the product term of ``a`` and ``b`` as lavaan writes it (``CID:EFF``).

    Example
    -------
    >>> product_name("CID", "EFF")
    'CID:EFF'
    """
    return f"{a}:{b}"


def _product_term(var: list[Token], op: Token, src: SourceText) -> Term:
    """``A:B`` (an interaction) or ``A^2`` (a quadratic effect) on the right of ``~``."""
    if op.value != "~":
        raise src.error(f"a product term cannot stand right of {op.value!r}", var[0],
                        hint="an interaction is a predictor in a regression, e.g. "
                             "'OCA ~ CID + EFF + CID:EFF'")
    if len(var) == 3 and var[1].kind == "CARET":
        if var[0].kind != "IDENT" or var[2].kind != "NUMBER" or var[2].value != "2":
            raise src.error("expected a quadratic term 'A^2'", var[1],
                            hint="only the square of a variable (A^2) is supported")
        return Term(product_name(var[0].value, var[0].value), var[0],
                    product=(var[0].value, var[0].value))
    names = var[0::2]
    if (len(var) % 2 == 0 or any(t.kind != "IDENT" or t.value == "NA" for t in names)
            or any(t.value != ":" for t in var[1::2])):
        raise src.error("expected an interaction 'A:B' of two variable names", var[0],
                        hint="write the product of two predictors as A:B, e.g. "
                             "'OCA ~ CID + EFF + CID:EFF'")
    if len(names) > 2:
        raise src.error("three-way (and higher) interactions are not supported", names[2],
                        hint="use products of two variables (A:B)")
    a, b = names
    if a.value == b.value:
        raise src.error(f"{a.value}:{a.value} is {a.value!r} times itself", b,
                        hint=f"if you mean a quadratic effect of {a.value}, write "
                             f"{a.value}^2; otherwise write the product of two different "
                             "variables")
    return Term(product_name(a.value, b.value), a, product=(a.value, b.value))


def _number(tokens: list[Token]) -> float | None:
    """Value of ``[-]NUMBER``, else None."""
    if len(tokens) == 1 and tokens[0].kind == "NUMBER":
        return float(tokens[0].value)
    if len(tokens) == 2 and tokens[0].kind in ("MINUS", "PLUS") and tokens[1].kind == "NUMBER":
        return float(tokens[1].value) * (-1.0 if tokens[0].kind == "MINUS" else 1.0)
    return None


def _set(term: Term, what: str, value, tok: Token, src: SourceText) -> None:
    slot = "fixed" if what in ("fixed", "free") else what
    if slot in term.modifier_tokens:
        first = term.modifier_tokens[slot]
        raise src.error(f"two {slot} modifiers for {term.name!r}", tok,
                        hint=f"the first is at column {first.column}; keep one")
    term.modifier_tokens[slot] = tok
    if what == "free":
        term.free = True
    else:
        setattr(term, what, value)


def _parse_modifier_call(name: Token, tokens: list[Token], src: SourceText):
    """The single argument of ``start(0.5)``, ``label("a")``, ``prior("normal(0,1)")``."""
    if name.value not in _MODIFIER_FUNCTIONS:
        hint = ("group-specific modifiers c(...) are not supported; use one value or label"
                if name.value == "c" else f"supported modifiers: {', '.join(_MODIFIER_FUNCTIONS)}")
        raise src.error(f"unknown modifier {name.value}()", name, hint=hint)
    if tokens[1].kind != "LPAREN" or tokens[-1].kind != "RPAREN":
        raise src.error(f"expected {name.value}(...)", tokens[1])
    inner = tokens[2:-1]
    if name.value == "start":
        value = _number(inner)
        if value is None:
            raise src.error("start() takes a number", inner[0] if inner else tokens[1])
        return value
    if len(inner) == 1 and inner[0].kind == "STRING":
        return inner[0].value
    if len(inner) == 1 and inner[0].kind == "IDENT" and name.value in ("label", "equal"):
        return inner[0].value
    raise src.error(f'{name.value}() takes a quoted text, e.g. {name.value}("...")',
                    inner[0] if inner else tokens[1])


def _apply_modifier(term: Term, tokens: list[Token], src: SourceText) -> None:
    first = tokens[0]
    if (value := _number(tokens)) is not None:
        _set(term, "fixed", value, first, src)
    elif len(tokens) == 1 and first.kind == "IDENT" and first.value == "NA":
        _set(term, "free", True, first, src)
    elif len(tokens) == 1 and first.kind == "IDENT":
        _set(term, "label", first.value, first, src)
    elif first.kind == "IDENT" and len(tokens) >= 3:
        value = _parse_modifier_call(first, tokens, src)
        what = "label" if first.value == "equal" else first.value
        _set(term, what, value, first, src)
    else:
        raise src.error("this modifier is not understood", first,
                        hint="modifiers are numbers (1*x), NA*x, labels (a*x), start(), prior()")
