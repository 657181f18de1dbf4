"""Replications per minute of the moderation study (scripts/studies/moderation.toml at small
settings) with the study runner's Bayes method building a model per replication (as before
an interaction model could be reused) and reusing one compiled model per data shape (now:
``studies.methods._fit_reusing`` -> ``bayes.sample.with_data`` ->
``bayes.interaction.with_new_data``), in one process, one after the other, on the same data
sets and seeds. "Before" empties the worker's model cache before every replication, which
is exactly what the runner did for interaction models before.

    PYTHONPATH=src nice -n 15 python scripts/benchmark_study_reuse.py \\
        --replications 3 --draws 200 --boot 100

Prints per mode the seconds of each replication (all methods), of its Bayes fit, and the
replications per minute; then the ratio, and whether the two modes' records are equal
(estimates bit for bit: a reused model must give a fresh one's draws).

Measured (the command above: n = 150, interaction 0 and 0.2, 3 replications each, Bayes
2 x 200 draws, PLS 100 bootstrap replicates; 2 cores shared with other jobs, load 3-5):
building per replication 6 replications in 246 s = 1.46 per minute (Bayes fits 50 s for the
first, median 32 s later); reusing one compiled model 157 s = 2.29 per minute (first 64 s,
later median 18 s): 1.57x, records equal bit for bit. The first fit of either mode compiles;
more replications per condition raise the ratio towards the later fits' 32 / 18.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

STUDY = Path(__file__).parent / "studies" / "moderation.toml"


def small_study(folder: Path, args) -> Path:
    """moderation.toml with small settings, beside its model and population files."""
    text = STUDY.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^replications = \d+", f"replications = {args.replications}", text)
    text = re.sub(r"(?m)^n = \[.*\]", f"n = [{args.n}]", text)
    text = re.sub(r"(?m)^interaction = \[.*\]", "interaction = [0.0, 0.2]", text)
    text = re.sub(r"(?m)^draws = \d+", f"draws = {args.draws}", text)
    text = re.sub(r"(?m)^tune = \d+", f"tune = {args.draws}", text)
    text = re.sub(r"(?m)^boot = \d+", f"boot = {args.boot}", text)
    for name in ("model", "values"):  # the study's own files, by absolute path
        match = re.search(rf'(?m)^{name} = "(.+)"', text)
        text = text.replace(match.group(0),
                            f'{name} = "{(STUDY.parent / match.group(1)).as_posix()}"')
    path = folder / "moderation_small.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(study_path: Path, out: Path, reuse: bool) -> tuple[list[float], list[float], float]:
    from connective.studies import methods
    from connective.studies.design import read_study
    from connective.studies.runner import run_replication
    from connective.studies.store import Store

    study = read_study(study_path)
    methods._COMPILED.clear()
    total, bayes = [], []
    started = time.perf_counter()
    for condition in study.conditions:
        for r in range(1, study.replications + 1):
            if not reuse:
                methods._COMPILED.clear()  # a model built for every replication
            t0 = time.perf_counter()
            run_replication(str(study_path), str(out), condition.index, r)
            total.append(time.perf_counter() - t0)
            record = json.loads(Store(out).path(condition.id, "bayes", r).read_text())
            bayes.append(record["seconds"])
            print(f"  {'reuse' if reuse else 'build'} {condition.id} #{r}: {total[-1]:6.1f} s "
                  f"(Bayes {bayes[-1]:6.1f} s, {record['status']})", flush=True)
    return total, bayes, time.perf_counter() - started


def records(out: Path) -> dict:
    found = {}
    for path in sorted(out.rglob("*.json")):
        if path.name == "study.json":
            continue
        data = json.loads(path.read_text())
        data.pop("seconds", None)
        found[str(path.relative_to(out))] = data
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--n", type=int, default=150)
    parser.add_argument("--draws", type=int, default=200, help="draws and tuning steps")
    parser.add_argument("--boot", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        study = small_study(folder, args)
        results = {}
        for reuse in (False, True):
            out = folder / ("reuse" if reuse else "build")
            out.mkdir()
            results[reuse] = run(study, out, reuse)
        print(f"\nmoderation study, n = {args.n}, interaction 0 and 0.2, {args.replications} "
              f"replications each, Bayes 2 x {args.draws} draws, PLS {args.boot} bootstrap")
        for reuse, (total, bayes, wall) in results.items():
            print(f"  {'reuse one compiled model' if reuse else 'build per replication':26s}: "
                  f"{len(total)} replications in {wall:6.1f} s = "
                  f"{60 * len(total) / wall:5.2f} per minute; Bayes fits "
                  f"{sum(bayes):6.1f} s (first {bayes[0]:.1f} s, later median "
                  f"{sorted(bayes[1:])[len(bayes[1:]) // 2]:.1f} s)")
        ratio = results[False][2] / results[True][2]
        same = records(folder / "build") == records(folder / "reuse")
        print(f"  ratio (replications per minute, reuse / build): {ratio:.2f}x; records equal "
              f"(estimates bit for bit): {same}")


if __name__ == "__main__":
    main()
