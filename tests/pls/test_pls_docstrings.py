"""The examples in the docstrings of the PLS modules run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["connective.commands.pls", "connective.pls", "connective.pls.algorithm", "connective.pls.bootstrap",
           "connective.pls.consistent", "connective.pls.data", "connective.pls.errors",
           "connective.pls.estimate", "connective.pls.fit", "connective.pls.model",
           "connective.pls.quality", "connective.pls.results", "connective.pls.subsets",
           "connective.pls.predict", "connective.pls.mga", "connective.pls.micom",
           "connective.pls.ipma", "connective.pls.analyses", "connective.bayes.predictive"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
