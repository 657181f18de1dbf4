"""Shared fixtures. Data sets with published reference numbers are read from
``../shared/benchmarks`` beside the repository (or $CONNECTIVE_BENCHMARKS); they are never
copied into the repository. Without that folder the tests that need it are skipped, unless
CONNECTIVE_REQUIRE_BENCHMARKS=1 (set by CI), which makes its absence an error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _benchmarks_dir() -> Path:
    return Path(os.environ.get("CONNECTIVE_BENCHMARKS", REPO.parent / "shared" / "benchmarks"))


@pytest.fixture(scope="session")
def benchmarks() -> Path:
    """The benchmarks folder (``data/`` and ``reference/`` inside)."""
    path = _benchmarks_dir()
    if not (path / "data").is_dir():
        if os.environ.get("CONNECTIVE_REQUIRE_BENCHMARKS") == "1":
            pytest.fail(f"benchmark data sets not found at {path}")
        pytest.skip(f"benchmark data sets not found at {path}")
    return path


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


#: the classic PoliticalDemocracy model (lavaan tutorial; shared/benchmarks/REFERENCE.md)
POLITICAL_DEMOCRACY = """
ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
"""


@pytest.fixture(scope="session")
def political_democracy_model() -> str:
    return POLITICAL_DEMOCRACY


#: seminr's mobi model ("mobi5"; shared/benchmarks/REFERENCE.md, PLS 1)
MOBI5 = """
Image        =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
Expectation  =~ CUEX1 + CUEX2 + CUEX3
Value        =~ PERV1 + PERV2
Satisfaction =~ CUSA1 + CUSA2 + CUSA3
Loyalty      =~ CUSL1 + CUSL2 + CUSL3
Expectation  ~ Image
Value        ~ Expectation
Satisfaction ~ Image + Expectation + Value
Loyalty      ~ Image + Satisfaction
"""


@pytest.fixture(scope="session")
def mobi_spec():
    from connective.spec import parse_model

    return parse_model(MOBI5, source="mobi5")
