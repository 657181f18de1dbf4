"""PLSc honesty (issue 15, item 8): inadmissible bootstrap replicates are counted, reported
and excluded, or kept on request; before, they stayed in the intervals unannounced."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd

from connective.cli import main
from connective.pls import bootstrap_pls, estimate_pls
from connective.pls.errors import BootstrapWarning
from connective.spec import parse_model

SPEC = parse_model("A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A")


def weak_blocks(n=120, r=0.7, lam=0.6, seed=0) -> pd.DataFrame:
    """Two constructs correlated r, measured by items loading only lam: PLSc's correction
    often pushes bootstrap paths beyond 1."""
    rng = np.random.default_rng(seed)
    e1 = rng.standard_normal(n)
    e2 = r * e1 + np.sqrt(1 - r * r) * rng.standard_normal(n)
    return pd.DataFrame({f"{name}{k}": lam * e + np.sqrt(1 - lam ** 2) * rng.standard_normal(n)
                         for name, e in (("a", e1), ("b", e2)) for k in (1, 2, 3)})


def test_inadmissible_replicates_are_counted_and_excluded():
    result = estimate_pls(SPEC, weak_blocks(), consistent=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        excluded = bootstrap_pls(result, 300, seed=1, bca=False)
        kept = bootstrap_pls(result, 300, seed=1, bca=False, inadmissible="keep")
    path_kept = kept.replicates["params"].sel(param="B~A")
    path_excl = excluded.replicates["params"].sel(param="B~A")
    assert excluded.inadmissible == kept.inadmissible == int((abs(path_kept) > 1).sum()) > 0
    assert float(abs(path_excl).max()) <= 1 < float(abs(path_kept).max())
    assert excluded.n_boot == kept.n_boot - kept.inadmissible
    messages = [str(w.message) for w in caught if issubclass(w.category, BootstrapWarning)]
    assert any(f"{kept.inadmissible} of 300 PLSc bootstrap replicates" in m
               and "excluded from the intervals" in m for m in messages)


def test_pls_command_reports_and_records_them(tmp_path, capsys):
    weak_blocks().to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "m.lav").write_text(SPEC.text)
    assert main(["pls", str(tmp_path / "m.lav"), "--data", str(tmp_path / "d.csv"), "--out",
                 str(tmp_path / "p"), "--consistent", "--boot", "300", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    settings = json.loads((tmp_path / "p" / "summary.json").read_text())["settings"]
    assert settings["replicates_inadmissible"] > 0 and settings["inadmissible"] == "exclude"
    assert f"WARNING: {settings['replicates_inadmissible']} of 300 PLSc bootstrap" in out
