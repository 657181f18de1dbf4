"""Fixtures of the PLS tests: seminr's 7-construct mobi model with the single item
Complaints (``single_item("CUSCO")``; reference/seminr_mobi_extras/make_reference.R)."""

from __future__ import annotations

import pandas as pd
import pytest

MOBI_SINGLE = """
Image        =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
Expectation  =~ CUEX1 + CUEX2 + CUEX3
Quality      =~ PERQ1 + PERQ2 + PERQ3 + PERQ4 + PERQ5 + PERQ6 + PERQ7
Value        =~ PERV1 + PERV2
Satisfaction =~ CUSA1 + CUSA2 + CUSA3
Complaints   =~ CUSCO
Loyalty      =~ CUSL1 + CUSL2 + CUSL3
Expectation  ~ Image
Quality      ~ Expectation
Value        ~ Expectation + Quality
Satisfaction ~ Image + Expectation + Quality + Value
Complaints   ~ Satisfaction
Loyalty      ~ Image + Satisfaction + Complaints
"""


@pytest.fixture(scope="session")
def mobi_single_model() -> str:
    """The model text (lavaan syntax) of seminr's mobi demo with Complaints =~ CUSCO."""
    return MOBI_SINGLE


@pytest.fixture(scope="session")
def mobi_frame(benchmarks) -> pd.DataFrame:
    return pd.read_csv(benchmarks / "data" / "mobi.csv")
