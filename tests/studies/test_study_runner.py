"""Studies: a tiny study is killed midway, resumed, and ends with the same table as an
uninterrupted run; one study at a time per folder; failures are recorded; operating
characteristics are right."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from connective.errors import ConnectiveError
from connective.studies.design import read_study
from connective.studies.runner import run_study
from connective.studies.store import Store

TINY = """
[study]
name = "tiny"
model = "connective_action"
replications = 3
seed = 11
effects = ["instrumental", "obligatory"]

[conditions]
n = [150, 250]
likert = [7]

[methods.pls]
engine = "pls"
boot = 800
"""


def _write(tmp_path: Path, text: str = TINY, name: str = "tiny.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _done(out: Path) -> int:
    return len(list((out / "replications").glob("*/*/rep_*.json")))


def test_killed_study_resumes_to_the_same_table(tmp_path):
    study = _write(tmp_path)
    full = tmp_path / "full"
    run_study(study, full, workers=1, progress=False)

    part = tmp_path / "part"
    cmd = [sys.executable, "-m", "connective.cli", "study", str(study), "--out", str(part),
           "--workers", "1", "--quiet"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _done(part) < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole study: client, scheduler and worker
    proc.wait()
    at_kill = _done(part)
    assert 1 <= at_kill < 6, f"the kill came at {at_kill} of 6 replications"
    assert not (part / "results" / "results.csv").exists()

    table = run_study(study, part, workers=1, progress=False)
    assert _done(part) == 6
    expected = pd.read_csv(full / "results" / "results.csv")
    pd.testing.assert_frame_equal(pd.read_csv(part / "results" / "results.csv"), expected)
    assert len(table) == 2 * 2  # two conditions x two effects


def test_one_study_per_folder_and_a_kill_releases_the_lock(tmp_path):
    study = _write(tmp_path, TINY.replace("replications = 3", "replications = 6")
                   .replace("boot = 800", "boot = 300"))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "connective.cli", "study", str(study),
                             "--out", str(out), "--workers", "1", "--quiet"],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while _done(out) < 1 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, "the study ended before the test could try a second one"
        lock = out / ".lock"
        assert lock.is_file() and lock.read_text() == str(proc.pid), "the study took no lock"
        with pytest.raises(ConnectiveError, match=f"is in use by another running study "
                                                  f"\\(process {proc.pid}\\)"):
            run_study(study, out, workers=1, progress=False)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # client, scheduler and worker
        proc.wait()
    table = run_study(study, out, workers=1, progress=False)  # the kill released the lock
    assert _done(out) == 12 and len(table) == 2 * 2


def test_failed_replications_are_recorded(tmp_path):
    study = _write(tmp_path, TINY.replace('boot = 800', 'boot = 50\nscheme = "bogus"')
                   .replace("replications = 3", "replications = 2"))
    table = run_study(study, tmp_path / "out", workers=1, progress=False)
    records = Store(tmp_path / "out").records()
    assert len(records) == 4 and all(r["status"] == "failed" for r in records)
    assert all("scheme" in r["error"] for r in records)
    # nothing to aggregate, but nothing silently dropped either
    assert (table["failure_rate"] == 1.0).all() and (table["n_ok"] == 0).all()
    assert table["coverage"].isna().all() and len(table) == 2 * 2


def test_truth_and_seeds(tmp_path):
    study = read_study(_write(tmp_path))
    c0, c1 = study.conditions
    truth = study.truth(c0)
    # defaults: paths 0.3, so each two-path chain is 0.09
    assert truth.to_dict() == pytest.approx({"instrumental": 0.09, "obligatory": 0.09})
    assert study.seed_for(c0, 1) == study.seed_for(c0, 1) != study.seed_for(c1, 1)


def test_another_study_in_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    run_study(_write(tmp_path, TINY.replace("replications = 3", "replications = 1")
                     .replace("boot = 800", "boot = 50")), out, workers=1, progress=False)
    other = _write(tmp_path, TINY.replace("seed = 11", "seed = 12"), name="other.toml")
    with pytest.raises(ConnectiveError, match="holds results of another version of the study"):
        run_study(other, out, workers=1, progress=False)


@pytest.mark.parametrize("text,message", [
    ("[conditions]\nn = [10]", "needs a \\[study\\] table"),
    ('[study]\nmodel = "mediation"\n[conditions]\nsize = [10]\n[methods.a]\nengine = "pls"',
     "unknown condition"),
    ('[study]\nmodel = "mediation"\n[conditions]\nn = [10]\n[methods.a]\nengine = "lavaan"',
     "needs engine = one of pls, bayes"),
    ('[study]\nmodel = "mediation"\neffects = ["nope"]\n[conditions]\nn = [10]\n'
     '[methods.a]\nengine = "pls"', "effects \\['nope'\\] are neither effects nor loadings"),
])
def test_bad_study_files(tmp_path, text, message):
    with pytest.raises(ConnectiveError, match=message):
        read_study(_write(tmp_path, text))


def test_bundled_study_file(repo):
    study = read_study(repo / "scripts" / "studies" / "pls_vs_bayes.toml")
    assert [c.settings["n"] for c in study.conditions] == [100, 194, 500]
    assert {m.name: m.engine for m in study.methods} == {"pls": "pls", "plsc": "pls",
                                                         "bayes": "bayes"}
    assert study.replications == 200
    # the truth is the flagship population: b_eff * c_eff = 0.40 * 0.30
    assert study.truth(study.conditions[0])["instrumental"] == pytest.approx(0.12)


def test_only_must_match_a_condition(tmp_path):
    with pytest.raises(ConnectiveError, match="no condition of tiny.toml matches"):
        run_study(_write(tmp_path), tmp_path / "out", only={"n": "999"}, progress=False)


def test_bayes_replications_with_missing_answers_each_get_their_own_model():
    """Each data set with missing answers has its own missingness patterns, which a compiled
    model cannot take: every such replication must still be fitted, not fail."""
    import numpy as np

    from connective.spec import parse_model
    from connective.studies import methods

    spec = parse_model("M ~ X\nY ~ M + X")
    rng = np.random.default_rng(8)
    estimates = []
    for gap in ("Y", "M"):  # two data sets, different answers missing
        x = rng.normal(size=150)
        m = 0.5 * x + rng.normal(size=150)
        frame = pd.DataFrame({"X": x, "M": m, "Y": 0.4 * m + rng.normal(size=150)})
        frame.loc[0, gap] = np.nan
        table, _, _ = methods._bayes(spec, frame, seed=3, draws=200, tune=200, chains=1)
        estimates.append(float(table.set_index("effect").loc["X -> M -> Y", "est"]))
    # standardised a*b near 0.45 * 0.37 = 0.17 in both data sets
    assert all(0.05 < e < 0.35 for e in estimates), estimates


def test_the_study_console_opens_with_the_verdict_of_its_fits(tmp_path, capsys):
    from connective.cli import main

    study = _write(tmp_path)
    assert main(["study", str(study), "--out", str(tmp_path / "out"), "--workers", "1",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith("Verdict of the fits")
    table = pd.read_csv(tmp_path / "out" / "results" / "results.csv")
    for method, part in table.drop_duplicates(["condition", "method"]).groupby("method"):
        total = int((part["n_ok"] + part["n_failed"]).sum())
        assert f"{method}: {int(part['n_failed'].sum())} of {total} replications failed" in out
