"""lavaan's Demo.twolevel (two-level SEM: a within and a between factor on y1-y3, regressed
on the respondents' x1-x3 and the organisations' w1, w2; 2,500 respondents in 200 clusters),
fitted by the Bayesian engine with default priors, against lavaan's ML estimates at both
levels (``../shared/benchmarks/reference/lavaan_tutorial/twolevel_parameterEstimates.csv``),
with the criteria of the one-level conformance cases (test_lavaan_conformance.py): a
posterior mean within max(0.1, 10%, 0.6 x lavaan's SE), std.all within 0.03 (or 0.4
posterior SDs), std.lv as estimates are. Wave 1 refused the model ("unknown operator ':'").
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from connective.bayes.twolevel import fit_twolevel
from connective.spec.levels import parse_twolevel

# the two-level model compiles for minutes on a new machine: run with -m slow
# (tests/bayes/test_twolevel.py checks the likelihood against lavaan's in the default run)
pytestmark = pytest.mark.slow

# the criteria are the one-level cases' (pytest's importlib mode: no sibling imports)
_spec = importlib.util.spec_from_file_location(
    "lavaan_conformance", Path(__file__).with_name("test_lavaan_conformance.py"))
_conformance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conformance)
_ours, judge, reference = _conformance._ours, _conformance.judge, _conformance.reference


@pytest.fixture(scope="module")
def demo(benchmarks):
    folder = benchmarks / "reference" / "lavaan_tutorial"
    two = parse_twolevel((folder / "twolevel.lav").read_text(), source="twolevel.lav")
    frame = pd.read_csv(benchmarks / "data" / "Demo.twolevel.csv")
    return fit_twolevel(two, frame, cluster="cluster", draws=1000, tune=1000, chains=2,
                        seed=11)


def test_both_levels_agree_with_lavaan(demo, benchmarks):
    summary = demo.summary()
    assert summary["divergences"] == 0 and summary["max_r_hat"] < 1.02, summary
    ref = reference("twolevel", benchmarks)
    ours = demo.parameters()
    full = pd.read_csv(benchmarks / "reference" / "lavaan_tutorial" /
                       "twolevel_parameterEstimates.csv", keep_default_na=False,
                       na_values=["", "NA"])
    assert len(ref) == len(full)  # every row lavaan prints is judged
    for level in (1, 2):
        rows = ref[full.loc[ref.index, "level"] == level]
        assert len(rows) > 15
        assert judge(rows, _ours(demo, ours[ours["level"] == level])) == [], level


def test_effects_per_level(demo, benchmarks):
    fx = demo.effects().set_index("effect")
    ref = pd.read_csv(benchmarks / "reference" / "lavaan_tutorial" /
                      "twolevel_parameterEstimates.csv", keep_default_na=False,
                      na_values=["NA"]).set_index(["lhs", "op", "rhs", "level"])
    assert fx.loc["x1 -> fw", "level"] == 1 and fx.loc["w1 -> fb.l2", "level"] == 2
    assert fx.loc["x1 -> fw", "est"] == pytest.approx(ref.loc[("fw", "~", "x1", 1), "est"],
                                                      abs=0.03)
    assert fx.loc["w1 -> fb.l2", "std.all"] == pytest.approx(
        ref.loc[("fb", "~", "w1", 2), "std.all"], abs=0.05)
