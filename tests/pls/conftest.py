"""Fixtures of the PLS tests: seminr's 7-construct mobi model with the single item
Complaints (``single_item("CUSCO")``; reference/seminr_mobi_extras/make_reference.R), the
bundled ``models/mobi.lav``."""

from __future__ import annotations

import pandas as pd
import pytest

from connective.resources import model_path


@pytest.fixture(scope="session")
def mobi_single_model() -> str:
    """The model text (lavaan syntax) of seminr's mobi demo with Complaints =~ CUSCO."""
    return model_path("mobi").read_text()


@pytest.fixture(scope="session")
def mobi_frame(benchmarks) -> pd.DataFrame:
    return pd.read_csv(benchmarks / "data" / "mobi.csv")
