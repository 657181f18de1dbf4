"""Arithmetic of ``:=`` defined parameters: parsed once, evaluated on any array type.

A defined parameter such as ``ind := a*b`` is kept as a small expression tree. It is never
handed to Python's ``eval``; :func:`evaluate` walks the tree with numpy operators, so the same
expression works on floats, numpy arrays and xarray objects (posterior draws or bootstrap
replicates) alike.

Example
-------
>>> from connective.spec.lexer import tokenize, SourceText
>>> toks = [t for t in tokenize("a*b + cp") if t.kind != "NEWLINE"]
>>> expr = parse_expression(toks, SourceText("a*b + cp"))
>>> expr.names()
('a', 'b', 'cp')
>>> float(evaluate(expr, {"a": 0.5, "b": 0.4, "cp": 0.2}))
0.4
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from connective.spec.lexer import SourceText, Token

#: Functions allowed in ``:=`` expressions.
FUNCTIONS = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs}
_BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4}


@dataclass(frozen=True)
class Expr:
    """Node of an expression tree: a number, a name, a unary minus, a binary operation or a call."""

    kind: str  # "num", "name", "neg", "bin", "call"
    value: Any = None  # number, name, operator or function name
    args: tuple["Expr", ...] = ()
    token: Token | None = None

    def names(self) -> tuple[str, ...]:
        """Names (labels or defined parameters) used, in order of first appearance."""
        out: list[str] = []

        def walk(node: Expr) -> None:
            if node.kind == "name" and node.value not in out:
                out.append(node.value)
            for arg in node.args:
                walk(arg)

        walk(self)
        return tuple(out)

    def name_tokens(self) -> list[Token]:
        """Tokens of every name used, for errors that point at one."""
        if self.kind == "name":
            return [self.token]
        return [t for arg in self.args for t in arg.name_tokens()]

    def __str__(self) -> str:
        if self.kind == "num":
            return _fmt_number(self.value)
        if self.kind == "name":
            return self.value
        if self.kind == "neg":
            return f"-{self._wrap(self.args[0], 3)}"
        if self.kind == "call":
            return f"{self.value}({self.args[0]})"
        left, right = self.args
        prec = _PRECEDENCE[self.value]
        # left-associative: the right operand needs brackets at equal precedence, except ^
        right_prec = prec if self.value == "^" else prec + 1
        return f"{self._wrap(left, prec)}{_spaced(self.value)}{self._wrap(right, right_prec)}"

    @staticmethod
    def _wrap(node: "Expr", min_prec: int) -> str:
        if node.kind == "bin" and _PRECEDENCE[node.value] < min_prec:
            return f"({node})"
        return str(node)


def _spaced(op: str) -> str:
    return f" {op} " if op in "+-" else op


def _fmt_number(x: float) -> str:
    return repr(int(x)) if float(x).is_integer() else repr(float(x))


def parse_expression(tokens: list[Token], src: SourceText) -> Expr:
    """Parse the tokens right of ``:=`` into an :class:`Expr` (precedence climbing).

    Example
    -------
    >>> from connective.spec.lexer import tokenize, SourceText
    >>> toks = [t for t in tokenize("(a + b)*c") if t.kind != "NEWLINE"]
    >>> str(parse_expression(toks, SourceText("(a + b)*c")))
    '(a + b)*c'
    """
    if not tokens:
        raise AssertionError("parse_expression needs at least one token")
    pos = 0

    def peek() -> Token | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> Token:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def at_end_error(expected: str) -> Exception:
        last = tokens[-1]
        return src.error(f"expression ends too early: expected {expected}",
                         (last.line, last.column + len(last.value)))

    def atom() -> Expr:
        tok = peek()
        if tok is None:
            raise at_end_error("a number, a label or '('")
        if tok.kind == "MINUS":
            take()
            return Expr("neg", args=(binary(3),), token=tok)
        if tok.kind == "PLUS":
            take()
            return binary(3)
        if tok.kind == "NUMBER":
            take()
            return Expr("num", float(tok.value), token=tok)
        if tok.kind == "LPAREN":
            take()
            inner = binary(0)
            close = peek()
            if close is None or close.kind != "RPAREN":
                raise src.error("unbalanced parentheses: this '(' is never closed", tok)
            take()
            return inner
        if tok.kind == "IDENT":
            take()
            nxt = peek()
            if nxt is not None and nxt.kind == "LPAREN":
                if tok.value not in FUNCTIONS:
                    raise src.error(f"unknown function {tok.value!r} in a defined parameter", tok,
                                    hint=f"supported functions: {', '.join(FUNCTIONS)}")
                take()
                arg = binary(0)
                close = peek()
                if close is None or close.kind != "RPAREN":
                    raise src.error("unbalanced parentheses: this '(' is never closed", nxt)
                take()
                return Expr("call", tok.value, (arg,), token=tok)
            return Expr("name", tok.value, token=tok)
        raise src.error(f"unexpected {tok.value!r} in a defined parameter", tok,
                        hint="use labels, numbers, + - * / ^ and parentheses")

    def binary(min_prec: int) -> Expr:
        left = atom()
        while (tok := peek()) is not None and tok.value in _PRECEDENCE and tok.kind != "OP":
            prec = _PRECEDENCE[tok.value]
            if prec < min_prec:
                break
            take()
            # ^ is right-associative, the others left-associative
            right = binary(prec if tok.value == "^" else prec + 1)
            left = Expr("bin", tok.value, (left, right), token=tok)
        return left

    expr = binary(0)
    if (tok := peek()) is not None:
        if tok.kind == "RPAREN":
            raise src.error("unbalanced parentheses: ')' without a matching '('", tok)
        raise src.error(f"unexpected {tok.value!r} in a defined parameter", tok,
                        hint="join terms with + - * / ^")
    return expr


def evaluate(expr: Expr, values: Mapping[str, Any]) -> Any:
    """Evaluate an expression with names looked up in ``values`` (floats or arrays).

    Example
    -------
    >>> import numpy as np
    >>> from connective.spec.lexer import tokenize, SourceText
    >>> toks = [t for t in tokenize("a*b") if t.kind != "NEWLINE"]
    >>> evaluate(parse_expression(toks, SourceText("a*b")), {"a": np.array([1., 2.]), "b": 3.})
    array([3., 6.])
    """
    if expr.kind == "num":
        return expr.value
    if expr.kind == "name":
        return values[expr.value]
    if expr.kind == "neg":
        return np.negative(evaluate(expr.args[0], values))
    if expr.kind == "call":
        return FUNCTIONS[expr.value](evaluate(expr.args[0], values))
    left, right = (evaluate(arg, values) for arg in expr.args)
    return _BINARY[expr.value](left, right)


#: a polynomial: monomial (sorted tuple of symbols, repeats for powers) -> coefficient
Polynomial = dict


class NotPolynomial(ValueError):
    """An expression with division by a symbol, a non-integer power or a function."""


def poly_mul(p: Polynomial, q: Polynomial) -> Polynomial:
    out: Polynomial = {}
    for mp, cp in p.items():
        for mq, cq in q.items():
            key = tuple(sorted(mp + mq))
            out[key] = out.get(key, 0.0) + cp * cq
    return out


def poly_add(p: Polynomial, q: Polynomial, sign: float = 1.0) -> Polynomial:
    out = dict(p)
    for m, c in q.items():
        out[m] = out.get(m, 0.0) + sign * c
    return out


def expand_polynomial(expr: Expr, values: Mapping[str, Polynomial]) -> Polynomial:
    """Expand an expression into a polynomial in the symbols of ``values`` (name ->
    polynomial). Used to take expectations of defined parameters exactly (a product of
    jointly normal group-specific paths has a closed-form mean). Raises
    :class:`NotPolynomial` for division by a symbol, non-integer powers and functions.

    Example
    -------
    >>> from connective.spec.lexer import tokenize, SourceText
    >>> toks = [t for t in tokenize("a*(b + 2*c)") if t.kind != "NEWLINE"]
    >>> expr = parse_expression(toks, SourceText("a*(b + 2*c)"))
    >>> sym = {k: {(k,): 1.0} for k in "abc"}
    >>> expand_polynomial(expr, sym)
    {('a', 'b'): 1.0, ('a', 'c'): 2.0}
    """
    if expr.kind == "num":
        return {(): float(expr.value)}
    if expr.kind == "name":
        return dict(values[expr.value])
    if expr.kind == "neg":
        return {m: -c for m, c in expand_polynomial(expr.args[0], values).items()}
    if expr.kind == "call":
        raise NotPolynomial(f"{expr.value}() is not a polynomial")
    left, right = (expand_polynomial(arg, values) for arg in expr.args)
    op = expr.value
    if op in "+-":
        return poly_add(left, right, 1.0 if op == "+" else -1.0)
    if op == "*":
        return poly_mul(left, right)
    constant = set(right) <= {()}
    if op == "/" and constant and right.get((), 0.0) != 0:
        return {m: c / right[()] for m, c in left.items()}
    k = right.get((), 0.0)
    if op == "^" and constant and float(k).is_integer() and k >= 0:
        out: Polynomial = {(): 1.0}
        for _ in range(int(k)):
            out = poly_mul(out, left)
        return out
    raise NotPolynomial(f"'{op}' with these operands is not a polynomial")
