"""Higher-order constructs in PLS (``G =~ F1 + F2 + F3``): the two approaches SmartPLS and
seminr offer, as model rewrites the engine then estimates.

* **two-stage** (the default; SmartPLS' default, seminr's ``higher_composite(...,
  method = two_stage)``, the "embedded" variant of Ringle, Sarstedt & Straub 2012): stage 1
  estimates the model without the higher-order construct, its antecedents pointing at each
  of its dimensions and its dimensions at each of its outcomes; stage 2 estimates the
  model as written, the higher-order construct measured by the dimensions' stage-1 scores.
  Both stages run on every bootstrap replicate, so the intervals carry stage 1's error.
  Because scores are linear in the standardised items, stage 2's correlation matrix
  follows from stage 1's weights and the item correlations (:func:`stage_two_correlations`),
  which keeps the whole estimation a function of the item correlations, as the rest of the
  engine is.
* **repeated indicators** (Lohmoeller 1989; Becker, Klein & Wetzels 2012): the
  higher-order construct is measured by all items of its dimensions, which it explains by
  structural paths ``F1 ~ G`` (reported as its loadings ``G=~F1``).

Example
-------
>>> from connective.spec import parse_model
>>> spec = parse_model("A =~ a1 + a2\\nB =~ b1 + b2\\nG =~ A + B\\nY =~ y1 + y2\\nY ~ G")
>>> plan = two_stage_plan(spec)
>>> plan.stage_one.paths, plan.stage_two.indicators["G"]
([('A', 'Y'), ('B', 'Y')], ('A', 'B'))
>>> repeated_indicators_spec(spec).indicators["G"]
('a1', 'a2', 'b1', 'b2')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connective.pls.errors import PLSModelError
from connective.spec import ModelSpec, parse_model

METHODS = ("two_stage", "repeated")


@dataclass(frozen=True)
class TwoStagePlan:
    """The two models of the two-stage approach: ``stage_one`` (no higher-order
    construct) and ``stage_two`` (each higher-order construct measured by its dimensions'
    scores, in columns named after the dimensions); ``dimensions`` maps each higher-order
    construct to its dimensions."""

    stage_one: ModelSpec
    stage_two: ModelSpec
    dimensions: dict[str, tuple[str, ...]]


def _check(spec: ModelSpec, method: str) -> dict[str, tuple[str, ...]]:
    if method not in METHODS:
        raise PLSModelError(f"unknown higher-order method {method!r}; expected one of "
                            f"{', '.join(METHODS)} (--higher-order two_stage|repeated)")
    dims = {}
    for h in spec.higher_order:
        parts = spec.indicators[h]
        items = [x for x in parts if x not in spec.indicators]
        if items:
            raise PLSModelError(
                f"{spec.source}: {h} is measured by constructs and by the item(s) "
                f"{', '.join(items)}; PLS's higher-order approaches need a higher-order "
                "construct measured by constructs only: give the items a construct of their "
                f"own (e.g. {h}_items =~ {' + '.join(items)}) and use it as a dimension")
        nested = [x for x in parts if x in spec.higher_order]
        if nested:
            raise PLSModelError(f"{spec.source}: {h} is measured by the higher-order "
                                f"construct(s) {', '.join(nested)}; PLS estimates second-order "
                                "constructs only here (no third order)")
        dims[h] = tuple(parts)
    return dims


def _formula(r) -> str:
    """One parameter-table row written back (with its label, which := parameters use)."""
    return f"{r.lhs} {r.op} {r.label + '*' if r.label else ''}{r.rhs}"


def _rows(spec: ModelSpec):
    """The written loadings, weights and paths (what PLS estimates; it ignores ~~ and ~1)."""
    table = spec.partable
    return table[(table["user"] == 1) & table["op"].isin(["=~", "<~", "~"])].itertuples()


def _defined(spec: ModelSpec) -> list[str]:
    rows = spec.partable[spec.partable["op"] == ":="]
    return [f"{r.lhs} := {r.rhs}" for r in rows.itertuples()]


def two_stage_plan(spec: ModelSpec, *, method: str = "two_stage") -> TwoStagePlan:
    """The stage-one and stage-two models of ``spec`` (see the module docstring).

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("A =~ a1 + a2\\nB =~ b1 + b2\\nG =~ A + B\\nX =~ x1 + x2\\nG ~ X")
    >>> two_stage_plan(spec).stage_one.paths
    [('X', 'A'), ('X', 'B')]
    """
    dims = _check(spec, method)  # an unknown method is refused here
    dimension_of = {d for ds in dims.values() for d in ds}
    one: list[str] = []
    two: list[str] = []
    for r in _rows(spec):
        if r.op != "~":
            # stage 1 measures the dimensions (not the higher-order construct); stage 2
            # the higher-order construct by the dimensions' scores (not the dimensions)
            line = f"{r.lhs} {r.op} {r.rhs}"
            if r.lhs not in dims:
                one.append(line)
            if r.lhs not in dimension_of:
                two.append(line)
            continue
        two.append(_formula(r))
        # X -> G becomes X -> each dimension, G -> Y each dimension -> Y (G -> H both)
        one += [f"{t} ~ {s}" for t in dims.get(r.lhs, (r.lhs,))
                for s in dims.get(r.rhs, (r.rhs,))]
    source = spec.source
    return TwoStagePlan(stage_one=parse_model("\n".join(one), source=f"{source} (stage 1)"),
                        stage_two=parse_model("\n".join(two + _defined(spec)),
                                              source=f"{source} (stage 2)"),
                        dimensions=dims)


def repeated_indicators_spec(spec: ModelSpec) -> ModelSpec:
    """``spec`` with each higher-order construct measured by all items of its dimensions
    and explaining each dimension by a path (``F1 ~ G``), the repeated-indicators approach.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("A =~ a1 + a2\\nB =~ b1 + b2\\nG =~ A + B")
    >>> repeated_indicators_spec(spec).paths
    [('G', 'A'), ('G', 'B')]
    """
    dims = _check(spec, "repeated")
    lines = [_formula(r) for r in _rows(spec) if not (r.op != "~" and r.lhs in dims)]
    for h, parts in dims.items():
        op = "<~" if h in spec.composites else "=~"
        lines.append(f"{h} {op} {' + '.join(x for d in parts for x in spec.indicators[d])}")
        lines += [f"{d} ~ {h}" for d in parts]
    return parse_model("\n".join(lines + _defined(spec)),
                       source=f"{spec.source} (repeated indicators)")


def stage_two_correlations(R: np.ndarray, weights: np.ndarray, stage_one, stage_two
                           ) -> np.ndarray:
    """Correlations of stage two's columns (items, and dimension scores named after their
    constructs) from the item correlations ``R (..., p, p)`` over stage one's columns and
    stage one's weights ``(..., p)`` (scores of unit variance): ``R W`` between items and
    scores, ``W' R W`` between scores.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> from connective.pls.model import PLSModel
    >>> one = PLSModel.from_spec(parse_model("A =~ a + b\\nY =~ y\\nY ~ A"))
    >>> two = PLSModel.from_spec(parse_model("Y =~ y\\nG =~ A\\nY ~ G"))
    >>> R = np.array([[1, .5, .3], [.5, 1, .3], [.3, .3, 1.]])
    >>> w = np.array([1, 1, np.sqrt(3)]) / np.sqrt(3)
    >>> stage_two_correlations(R, w, one, two).round(4).tolist()
    [[1.0, 0.3464], [0.3464, 1.0]]
    """
    W = weights[..., :, None] * stage_one.membership  # (..., p, J)
    RW = R @ W
    SS = np.swapaxes(W, -1, -2) @ RW
    # correlations of stage one's columns and its scores in one matrix, then stage two's
    # columns picked from it: an item by its (first) column, a dimension by its score
    p = len(stage_one.columns)
    Z = np.concatenate([np.concatenate([R, RW], axis=-1),
                        np.concatenate([np.swapaxes(RW, -1, -2), SS], axis=-1)], axis=-2)
    item_pos = {c: i for i, c in reversed(list(enumerate(stage_one.columns)))}
    score_pos = {c: p + j for j, c in enumerate(stage_one.constructs)}
    pos = np.array([item_pos[c] if c in item_pos else score_pos[c] for c in stage_two.columns])
    out = Z[..., pos[:, None], pos[None, :]]
    return out
