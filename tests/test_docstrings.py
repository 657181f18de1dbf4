"""The examples in the docstrings of the core modules run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["connective.errors", "connective.io", "connective.provenance", "connective.resources",
           "connective.moments", "connective.effects", "connective.spec.lexer",
           "connective.spec.parser", "connective.spec.expressions", "connective.spec.partable",
           "connective.spec.model", "connective.data.readers", "connective.data.validate",
           "connective.data.population", "connective.data.simulate", "connective.mediation", "connective.diagnostics",
           "connective.report.diagram", "connective.report.document",
           "connective.studies.design", "connective.studies.store", "connective.studies.metrics",
           "connective.studies.methods", "connective.studies.sbc",
           "connective.bayes.priors", "connective.bayes.model", "connective.bayes.groups",
           "connective.bayes.pooling", "connective.bayes.group_results",
           "connective.bayes.matrices", "connective.bayes.likelihood",
           "connective.bayes.fit_indices", "connective.progress", "connective.verdicts",
           "connective.pls.fit_quality", "connective.compare.bayes_vs_pls",
           "connective.bayes.marginal", "connective.compare.loo", "connective.compare.loo_refit",
           "connective.bayes.tape", "connective.bayes.tape_kernel", "connective.bayes.ordinal",
           "connective.bayes.ordered_probit_op", "connective.bayes.llvm_passes"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
