"""Bad input gives a clear error naming the construct or column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.errors import ConnectiveError, DataError, ModelError
from connective.pls import (CollinearBlockError, ConvergenceError, MissingDataError,
                            NonRecursiveModelError, PLSModelError, TooFewRowsError,
                            ZeroVarianceError, estimate_pls, example_data)
from connective.spec import parse_model

SAT = """
SAT ~ IMAG
IMAG <~ imag1 + imag2 + imag3
SAT  =~ sat1 + sat2 + sat3
"""


@pytest.fixture(scope="module")
def satisfaction(benchmarks):
    return pd.read_csv(benchmarks / "data" / "satisfaction.csv")


def test_collinear_formative_block_names_construct_and_columns(satisfaction):
    frame = satisfaction.copy()
    frame["imag3"] = frame["imag1"] + 2 * frame["imag2"]
    with pytest.raises(CollinearBlockError,
                       match=r"formative \(mode B\) block of construct IMAG has linearly "
                             r"dependent indicators \(imag1, imag2, imag3\)") as info:
        estimate_pls(parse_model(SAT), frame)
    assert isinstance(info.value, DataError)
    # the same columns in a mode A block are fine
    estimate_pls(parse_model(SAT.replace("<~", "=~")), frame)


def test_zero_variance_indicator_names_column_and_construct(satisfaction):
    frame = satisfaction.copy()
    frame["sat2"] = 7
    with pytest.raises(ZeroVarianceError,
                       match=r"column 'sat2' \(construct SAT\) has zero variance \(every usable "
                             r"row is 7\)"):
        estimate_pls(parse_model(SAT), frame)


def test_non_recursive_inner_model_names_cycle():
    spec = parse_model("A =~ a1 + a2\nB =~ b1 + b2\nC =~ c1 + c2\nB ~ A\nC ~ B\nA ~ C",
                       allow_cycles=True)
    frame = pd.DataFrame(np.random.default_rng(1).standard_normal((30, 6)),
                         columns=["a1", "a2", "b1", "b2", "c1", "c2"])
    with pytest.raises(NonRecursiveModelError, match=r"non-recursive \(it has the cycle "
                                                     r"A -> B -> C -> A\)") as info:
        estimate_pls(spec, frame)
    assert isinstance(info.value, ModelError)


def test_fewer_rows_than_indicators_names_construct():
    spec = parse_model("A =~ a1 + a2 + a3 + a4 + a5\nB =~ b1 + b2\nB ~ A")
    frame = pd.DataFrame(np.random.default_rng(2).standard_normal((4, 7)),
                         columns=["a1", "a2", "a3", "a4", "a5", "b1", "b2"])
    with pytest.raises(TooFewRowsError, match="construct A has 5 indicators but the data have "
                                              "only 4 usable rows"):
        estimate_pls(spec, frame)


def test_casewise_deletion_can_leave_too_few_rows():
    spec, frame = example_data(6)
    frame.loc[0:3, "is1"] = np.nan
    with pytest.raises(TooFewRowsError, match="construct IS has 3 indicators but the data have "
                                              "only 2 usable rows"):
        estimate_pls(spec, frame, missing="casewise")


def test_missing_values_without_treatment_name_columns():
    spec, frame = example_data(50)
    frame.loc[[3, 8], "ci2"] = np.nan
    frame.loc[5, "is1"] = np.nan
    with pytest.raises(MissingDataError, match=r"missing values in is1 \(1\), ci2 \(2\); choose "
                                               r"a treatment explicitly"):
        estimate_pls(spec, frame)


def test_missing_column_and_text_values():
    spec, frame = example_data(50)
    with pytest.raises(DataError, match="no column.* ci3"):
        estimate_pls(spec, frame.drop(columns="ci3"))
    frame["is2"] = frame["is2"].astype(object)
    frame.loc[4, "is2"] = "n/a"
    with pytest.raises(DataError, match=r"column 'is2' \(construct IS\) holds non-numeric "
                                        r"values such as 'n/a'"):
        estimate_pls(spec, frame)


def test_construct_without_paths_is_an_error():
    spec = parse_model("A =~ a1 + a2\nB =~ b1 + b2\nC =~ c1 + c2\nB ~ A")
    frame = pd.DataFrame(np.random.default_rng(3).standard_normal((30, 6)),
                         columns=["a1", "a2", "b1", "b2", "c1", "c2"])
    with pytest.raises(PLSModelError, match=r"construct\(s\) C take part in no structural path"):
        estimate_pls(spec, frame)


def test_non_convergence_is_a_clear_error(benchmarks):
    frame = pd.read_csv(benchmarks / "data" / "satisfaction.csv")
    spec = parse_model(SAT)
    with pytest.raises(ConvergenceError, match="did not converge within 2 iterations "
                                               r"\(stop criterion 1e-07, path scheme\)"):
        estimate_pls(spec, frame, max_iter=2)
    assert estimate_pls(spec, frame, max_iter=300).iterations > 2


def test_every_error_is_a_connective_error():
    for cls in (CollinearBlockError, ConvergenceError, MissingDataError, NonRecursiveModelError,
                PLSModelError, TooFewRowsError, ZeroVarianceError):
        assert issubclass(cls, ConnectiveError)
