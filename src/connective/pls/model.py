"""The PLS view of a :class:`~connective.spec.ModelSpec`: blocks, modes and the inner model.

Every structural variable becomes a block: ``=~`` constructs are estimated with mode A,
``<~`` constructs with mode B, and an observed variable in the structural part (a pure path
model) is a block of one indicator, itself. Indicator columns are laid out block after block
(an indicator used by two blocks appears twice), which is the order of every matrix the
algorithm works on.

Example
-------
>>> from connective.spec import parse_model
>>> m = PLSModel.from_spec(parse_model("F =~ a + b\\nG <~ c + d\\nG ~ F"))
>>> m.constructs, m.modes, m.columns
(('F', 'G'), ('A', 'B'), ('a', 'b', 'c', 'd'))
>>> m.adjacency.tolist()  # adjacency[target, source]
[[False, False], [True, False]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from connective.pls.errors import NonRecursiveModelError, PLSModelError
from connective.spec import ModelSpec

if TYPE_CHECKING:
    from connective.pls.interaction import InteractionPlan


@dataclass(frozen=True, eq=False)
class PLSModel:
    """Blocks and inner model of a spec, as index arrays the algorithm uses.

    Attributes
    ----------
    constructs: structural variables in topological order.
    modes: ``"A"`` or ``"B"`` per construct (single-indicator blocks are ``"A"``).
    reflective: whether a construct is a common factor (``=~``), i.e. corrected by PLSc.
    observed_structural: whether a construct is an observed variable standing for itself.
    columns: the indicator of each column, block after block.
    block: the construct index of each column.
    adjacency: boolean ``[target, source]`` matrix of the structural paths.
    """

    spec: ModelSpec
    constructs: tuple[str, ...]
    modes: tuple[str, ...]
    reflective: tuple[bool, ...]
    observed_structural: tuple[bool, ...]
    columns: tuple[str, ...]
    block: np.ndarray
    adjacency: np.ndarray
    #: higher-order constructs (:mod:`connective.pls.higher_order`): the method, the
    #: stage-one model of the two-stage approach (its columns are the data's), and the
    #: (dimension, higher-order construct) pairs whose paths are second-order loadings
    #: under repeated indicators
    higher_order: str = ""
    stage_one: "PLSModel | None" = None
    second_order: tuple[tuple[str, str], ...] = ()
    #: latent product terms (:mod:`connective.pls.interaction`): the plan (method, product
    #: terms, display names) and the model without the products, whose columns are the
    #: data's (two-stage's stage one)
    interaction: "InteractionPlan | None" = None
    base: "PLSModel | None" = None

    @classmethod
    def from_spec(cls, spec: ModelSpec, *, higher_order: str = "two_stage",
                  interaction: str = "two_stage") -> "PLSModel":
        """Build the PLS view; raises on non-recursive models and isolated constructs.
        A model with higher-order constructs is rewritten by ``higher_order``
        (``two_stage``, the default, or ``repeated``; see
        :mod:`connective.pls.higher_order`).
        A model with latent product terms (``Y ~ X + W + X:W``) is rewritten by
        ``interaction`` (``two_stage``, the default, ``product_indicator`` or
        ``orthogonal``; see :mod:`connective.pls.interaction`).

        Example
        -------
        >>> from connective.spec import parse_model
        >>> spec = parse_model("A =~ a1 + a2\\nB =~ b1 + b2\\nG =~ A + B\\nY =~ y1 + y2\\nY ~ G")
        >>> m = PLSModel.from_spec(spec)
        >>> m.columns, m.data_model.columns
        (('A', 'B', 'y1', 'y2'), ('a1', 'a2', 'b1', 'b2', 'y1', 'y2'))
        """
        if spec.higher_order:
            from connective.pls import higher_order as ho

            if higher_order == "repeated":
                rewritten = ho.repeated_indicators_spec(spec)
                pairs = tuple((d, h) for h in spec.higher_order for d in spec.indicators[h])
                return _replace(cls.from_spec(rewritten), higher_order="repeated",
                                second_order=pairs)
            plan = ho.two_stage_plan(spec, method=higher_order)
            return _replace(cls.from_spec(plan.stage_two), higher_order="two_stage",
                            stage_one=cls.from_spec(plan.stage_one))
        if spec.interactions:
            from connective.pls.interaction import interaction_plan

            plan = interaction_plan(spec, interaction)
            m = cls.from_spec(plan.augmented)
            show = plan.display
            return _replace(m, constructs=tuple(map(show, m.constructs)),
                            columns=tuple(map(show, m.columns)), interaction=plan,
                            base=cls.from_spec(plan.base))
        if spec.structural_items:
            raise PLSModelError(
                f"{spec.source}: the item(s) {', '.join(spec.structural_items)} take part in "
                "regressions (a direct effect on an item, as in a MIMIC model with "
                "differential item functioning); PLS path modelling relates constructs only: "
                "fit it with the Bayesian engine (connective fit MODEL --data FILE --out DIR), "
                "or give the item a single-item construct of its own")
        if spec.options.growth or spec.options.latent_means_free:
            raise PLSModelError(
                f"{spec.source}: PLS path modelling has no mean structure, so it cannot fit "
                "a growth model or latent means (growth / int.lv.free); fit it with the "
                "Bayesian engine: connective fit MODEL --data FILE --out DIR --growth")
        constructs = tuple(spec.structural)
        index = {c: i for i, c in enumerate(constructs)}
        adjacency = np.zeros((len(constructs), len(constructs)), dtype=bool)
        for src, tgt in spec.paths:
            adjacency[index[tgt], index[src]] = True
        _check_recursive(constructs, adjacency)
        linked = adjacency.any(axis=0) | adjacency.any(axis=1)
        if spec.paths and len(constructs) > 1 and not linked.all():
            lonely = [c for c, ok in zip(constructs, linked) if not ok]
            raise PLSModelError(
                f"{spec.source}: the construct(s) {', '.join(lonely)} take part in no structural "
                "path; PLS path modelling needs every construct in the inner model (add a path "
                "or remove the construct)")
        if not constructs:
            raise PLSModelError(f"{spec.source}: the model has no constructs to estimate")
        columns, block, modes, reflective, observed = [], [], [], [], []
        for j, c in enumerate(constructs):
            items = spec.indicators.get(c)
            observed.append(items is None)
            items = (c,) if items is None else items
            columns += items
            block += [j] * len(items)
            modes.append("B" if c in spec.composites and len(items) > 1 else "A")
            reflective.append(c in spec.latent and len(items) > 1)
        return cls(spec=spec, constructs=constructs, modes=tuple(modes),
                   reflective=tuple(reflective), observed_structural=tuple(observed),
                   columns=tuple(columns), block=np.asarray(block), adjacency=adjacency)

    @property
    def data_model(self) -> "PLSModel":
        """The model whose columns are the data's: stage one of a two-stage higher-order
        model, the model without the products of an interaction model, else this one."""
        if self.base is not None:
            return self.base
        return self.stage_one if self.stage_one is not None else self

    @property
    def paths(self) -> list[tuple[str, str]]:
        """Structural paths (source, target) in the names of :attr:`constructs` (a latent
        product term is ``X:W``)."""
        if self.interaction is not None:
            return list(self.interaction.paths)
        return self.spec.paths

    @property
    def product_constructs(self) -> tuple[str, ...]:
        """The interaction terms (``X:W``) of a model with product terms."""
        if self.interaction is None:
            return ()
        return tuple(t.interaction.product for t in self.interaction.products)

    @property
    def n_constructs(self) -> int:
        return len(self.constructs)

    @property
    def single_items(self) -> list[str]:
        """Constructs measured by one item (``CUSA =~ cusa``): weight and loading 1, as
        seminr's ``single_item()`` and SmartPLS treat them."""
        return [c for j, c in enumerate(self.constructs)
                if not self.observed_structural[j] and len(self.block_columns(j)) == 1]

    @property
    def measurement_only(self) -> bool:
        """A model without structural paths (a CFA): in the inner weighting every construct
        is related to every other, as cSEM's ``.PLS_ignore_structural_model``."""
        return not self.adjacency.any()

    @property
    def related(self) -> np.ndarray:
        """Which constructs enter each other's inner proxies (symmetric, boolean): adjacent
        ones, or all pairs in a measurement-only model."""
        if self.measurement_only:
            return ~np.eye(self.n_constructs, dtype=bool)
        return self.adjacency | self.adjacency.T

    @property
    def membership(self) -> np.ndarray:
        """0/1 matrix ``[column, construct]``."""
        m = np.zeros((len(self.columns), self.n_constructs))
        m[np.arange(len(self.columns)), self.block] = 1.0
        return m

    def block_columns(self, j: int) -> np.ndarray:
        """Column positions of construct ``j``'s indicators."""
        return np.flatnonzero(self.block == j)

    def predecessors(self, j: int) -> np.ndarray:
        """Indices of the constructs with a path into construct ``j``."""
        return np.flatnonzero(self.adjacency[j])

    @property
    def endogenous(self) -> list[int]:
        return [j for j in range(self.n_constructs) if self.adjacency[j].any()]

    @property
    def indicator_names(self) -> list[tuple[str, str]]:
        """(construct, indicator) per column."""
        return [(self.constructs[b], c) for b, c in zip(self.block, self.columns)]


def _replace(model: PLSModel, **changes) -> PLSModel:
    from dataclasses import replace

    return replace(model, **changes)


def _check_recursive(constructs: tuple[str, ...], adjacency: np.ndarray) -> None:
    """Raise :class:`NonRecursiveModelError` naming one cycle if the inner model has one."""
    n = len(constructs)
    state = [0] * n  # 0 new, 1 on stack, 2 done
    stack: list[int] = []

    def visit(v: int) -> list[int] | None:
        state[v] = 1
        stack.append(v)
        for w in np.flatnonzero(adjacency[:, v]):  # v -> w
            if state[w] == 1:
                return stack[stack.index(w):] + [int(w)]
            if state[w] == 0:
                found = visit(int(w))
                if found:
                    return found
        stack.pop()
        state[v] = 2
        return None

    for v in range(n):
        if state[v] == 0:
            cycle = visit(v)
            if cycle:
                names = " -> ".join(constructs[i] for i in cycle)
                raise NonRecursiveModelError(
                    f"the inner model is non-recursive (it has the cycle {names}); PLS path "
                    "modelling estimates recursive models only: remove one path of the cycle")
