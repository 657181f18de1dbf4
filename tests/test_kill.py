"""SIGKILL at any moment: ``connective fit`` leaves the old run folder or the new one, never a
mix, and ``connective study`` resumes to the uninterrupted table, byte for byte; the bundled
PLS-vs-Bayes study gives the same table on 1 and 2 workers. Slow (about 20 minutes on 2
cores): ``python -m pytest -m slow tests/test_kill.py``.

On 0d589bb the PLS-vs-Bayes study with 2 replications per condition gave other Bayesian
estimates for 1 of its 6 data sets on 2 workers than on 1 (n = 100, replication 2: 0.06032
against 0.06001), so 5 of the 45 rows of results.csv differed; now the two files are
byte-identical."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connective.folders import check_run_folder

pytestmark = pytest.mark.slow

KILLS = 10


def _start(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "connective.cli", *argv],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _timed(*argv: str) -> float:
    start = time.monotonic()
    proc = _start(*argv)
    _, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    return time.monotonic() - start


def _kill_after(delay: float, *argv: str) -> None:
    proc = _start(*argv)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the command and every process it started
        proc.wait()


def _delays(total: float) -> list[float]:
    """``KILLS`` moments spread over a run of ``total`` seconds, the last near its end."""
    return [total * (k + 0.5) / KILLS for k in range(KILLS)]


WRITER = """
import sys, time
from connective.folders import run_folder
with run_folder(sys.argv[1], overwrite=True) as tmp:
    for i in range(30):
        (tmp / f"part{i}.txt").write_text(sys.argv[2] * 200_000)
        time.sleep(0.01)
"""


def test_a_run_folder_killed_while_written_is_the_old_one_or_the_new_one(tmp_path):
    """Kills inside the writing itself: files, fsync, run.json, the exchange."""
    target = tmp_path / "run"
    writer = ["-c", WRITER, str(target)]

    def start(tag: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, *writer, tag], start_new_session=True)

    first = time.monotonic()
    assert start("a").wait() == 0
    total = time.monotonic() - first
    seen = []
    # spread over a little more than a run: under load a run takes longer than the first
    for k, delay in enumerate([total * 1.2 * (k + 0.5) / 20 for k in range(20)]):
        proc = start("bc"[k % 2])
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        check_run_folder(target)
        tags = {p.read_text()[0] for p in target.glob("part*.txt")}
        assert len(tags) == 1 and len(list(target.glob("part*.txt"))) == 30
        seen.append(tags.pop())
    print("run folder killed while written:", "".join(seen))
    assert seen[0] == "a"  # the first kill came long before the rename


def test_a_killed_fit_leaves_the_old_run_or_the_new_one(tmp_path, benchmarks):
    data = str(benchmarks / "data" / "mediation_sim.csv")
    out = tmp_path / "fit"

    def fit(seed: int) -> list[str]:
        return ["fit", "mediation", "--data", data, "--out", str(out), "--overwrite",
                "--draws", "300", "--tune", "300", "--chains", "2", "--seed", str(seed),
                "--quiet"]

    _timed(*fit(1))
    old = check_run_folder(out)
    total = _timed(*fit(2))
    new = check_run_folder(out)
    assert old["run_id"] != new["run_id"]
    outcomes = []
    for k, delay in enumerate(_delays(total)):
        before = check_run_folder(out)
        _kill_after(delay, *fit(10 + k))
        now = check_run_folder(out)  # complete and one run's: raises otherwise
        seed = json.loads((out / "summary.json").read_text())["run"]["seed"]
        if now == before:
            outcomes.append("old")
        else:
            assert seed == 10 + k  # the new run, whole
            outcomes.append("new")
        partial = [p.name for p in tmp_path.iterdir() if p.name != "fit"]
        assert all(re.fullmatch(r"\.fit\.(new|partial|old)-\w+", p) for p in partial), partial
    # the next run removes what killed runs left beside the folder
    _timed(*fit(99))
    check_run_folder(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit"]
    print("fit killed at", [f"{d:.1f} s" for d in _delays(total)], "->", outcomes)
    assert "old" in outcomes


STUDY = """
[study]
name = "kill"
model = "connective_action"
replications = 3
seed = 17
effects = ["instrumental", "obligatory"]

[conditions]
n = [150]
likert = [7]

[methods.pls]
engine = "pls"
boot = 300

[methods.bayes]
engine = "bayes"
draws = 150
tune = 150
chains = 2
"""


def _study_files_are_whole(out: Path) -> None:
    for record in (out / "replications").glob("*/*/rep_*.json"):
        json.loads(record.read_text())  # complete JSON
    if (out / "results").exists():
        check_run_folder(out / "results")


def test_a_killed_study_resumes_to_the_same_table_byte_for_byte(tmp_path):
    study = tmp_path / "kill.toml"
    study.write_text(STUDY)
    full = tmp_path / "full"
    _timed("study", str(study), "--out", str(full), "--workers", "2", "--quiet")  # compiles
    expected = (full / "results" / "results.csv").read_bytes()
    warm = tmp_path / "warm"  # the kills are spread over a run that loads compiled models
    total = _timed("study", str(study), "--out", str(warm), "--workers", "2", "--quiet")
    assert (warm / "results" / "results.csv").read_bytes() == expected
    done_at_kill = []
    for k, delay in enumerate(_delays(total)):
        part = tmp_path / f"part{k}"
        _kill_after(delay, "study", str(study), "--out", str(part), "--workers", "2", "--quiet")
        if part.exists():
            _study_files_are_whole(part)
            done_at_kill.append(len(list(part.glob("replications/*/*/rep_*.json"))))
        else:
            done_at_kill.append(0)
        # resumed on one worker: another schedule, a fresh compiled-model cache
        _timed("study", str(study), "--out", str(part), "--workers", "1", "--quiet")
        assert (part / "results" / "results.csv").read_bytes() == expected, f"kill {k}"
    print("study killed at", [f"{d:.1f} s" for d in _delays(total)], "with",
          done_at_kill, "of 6 records written")
    assert any(0 < n < 6 for n in done_at_kill)


def test_the_bundled_study_gives_the_same_table_on_1_and_2_workers(tmp_path, repo):
    folder = repo / "scripts" / "studies"
    text = (folder / "pls_vs_bayes.toml").read_text()
    (tmp_path / "population.toml").write_text((folder / "population.toml").read_text())
    study = tmp_path / "pls_vs_bayes_2.toml"
    study.write_text(text.replace("replications = 200", "replications = 2"))
    tables = {}
    for workers in (1, 2):
        out = tmp_path / f"workers{workers}"
        _timed("study", str(study), "--out", str(out), "--workers", str(workers), "--quiet")
        tables[workers] = (out / "results" / "results.csv").read_bytes()
    assert tables[1] == tables[2]
    assert tables[1].count(b"\n") == 1 + 3 * 3 * 5  # conditions x methods x effects
