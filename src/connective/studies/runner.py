"""Running a study on Dask: one task per (condition, replication), resumable.

Without a scheduler address a local ``dask.distributed`` cluster of process workers is
started; with one, the same tasks run on that cluster. A task simulates its data set from
its own seed, runs every method that has no record yet, and writes each record atomically,
so a study that is interrupted (or crashes) resumes where it stopped and ends with the same
table. Workers keep what they build once (the study, compiled models) for all their tasks;
a record depends only on (study, condition, replication, seed), not on which worker ran it
or what it ran before. One study at a time may use a folder (an OS lock on ``DIR/.lock``,
released by the system when the process dies). The table and its plots are written as one
unit, ``DIR/results/`` (``results.csv``, ``coverage.png``, ``bias.png``).

Example
-------
>>> run_study("study.toml", "out/")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import time
from pathlib import Path

import pandas as pd

from connective.errors import ConnectiveError
from connective.folders import folder_lock, run_folder
from connective.io import atomic_write_csv, atomic_write_json
from connective.provenance import data_fingerprint, package_versions
from connective.studies.design import Study, read_study
from connective.studies.methods import run_method
from connective.studies.metrics import model_selection, operating_characteristics
from connective.studies.store import Store


@functools.lru_cache(maxsize=8)
def _study(path: str) -> Study:
    """The study, read once per worker process."""
    return read_study(path)


def run_replication(study_path: str, out_dir: str, condition_index: int, replication: int) -> dict:
    """Simulate one data set and run every method that has no record yet (a Dask task)."""
    from connective.data.simulate import simulate

    study = _study(study_path)
    condition = study.conditions[condition_index]
    store = Store(out_dir)
    todo = [m for m in study.methods if not store.exists(condition.id, m.name, replication)]
    seed = study.seed_for(condition, replication)
    settings = condition.settings
    sim = simulate(study.spec, int(settings["n"]), values=study.population(condition), seed=seed,
                   likert=int(settings["likert"]) if settings.get("likert") else None,
                   missing=float(settings.get("missing", 0.0)))
    frame = sim.frame[list(study.spec.observed)]
    fingerprint = data_fingerprint(frame)
    for method in todo:
        record = run_method(method, study.spec, frame, seed=seed, effects=study.effects)
        store.save(condition.id, method.name, replication,
                   {"seed": seed, "data_fingerprint": fingerprint, **record})
    return {"condition": condition.id, "replication": replication, "ran": [m.name for m in todo]}


def _pending(study: Study, store: Store, only: dict | None = None) -> list[tuple[int, int]]:
    chosen = [c for c in study.conditions
              if all(str(c.settings.get(k)) == str(v) for k, v in (only or {}).items())]
    if not chosen:
        raise ConnectiveError(f"no condition of {study.path.name} matches {only}; conditions: "
                              f"{', '.join(c.id for c in study.conditions)}")
    return [(c.index, r) for c in chosen for r in range(1, study.replications + 1)
            if any(not store.exists(c.id, m.name, r) for m in study.methods)]


def _check_output_folder(study: Study, out: Path) -> None:
    """A folder holds one study: refuse to mix records of two different study files."""
    text = study.path.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()
    marker = out / "study.json"
    if marker.is_file():
        import json

        previous = json.loads(marker.read_text())
        if previous.get("study_sha256") != digest:
            raise ConnectiveError(f"{out} holds results of another version of the study "
                                  f"({previous.get('study_file')}); use a new --out folder")
        return
    atomic_write_json(marker, {"study_file": str(study.path), "study_sha256": digest,
                               "study_text": text, "versions": package_versions()})


class _Progress:
    """Replications done: a bar in a terminal, timestamped lines in a log (progress.py)."""

    def __init__(self, total: int, stream=sys.stderr):
        from connective.progress import counter

        self.done, self.tick = 0, counter("replications", total, stream=stream)

    def step(self) -> None:
        self.done += 1
        self.tick(self.done)


def run_study(study_path: str | Path, out_dir: str | Path, *, scheduler: str | None = None,
              workers: int | None = None, progress: bool = True,
              only: dict | None = None) -> pd.DataFrame:
    """Run (or resume) a study and return its table of operating characteristics.

    ``only`` restricts the run to the conditions with these settings (e.g. ``{"n": 194}``).
    """
    study_path = Path(study_path).resolve()
    study = read_study(study_path)
    out = Path(out_dir).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConnectiveError(f"cannot create the study folder {out}: {exc.strerror}; choose "
                              "another --out folder") from None
    with folder_lock(out, "study"):
        _check_output_folder(study, out)
        store = Store(out)
        store.remove_partial_files()
        pending = _pending(study, store, only)
        _run_pending(study_path, out, pending, scheduler, workers, progress)
        return summarize_study(study, out)


def _run_pending(study_path: Path, out: Path, pending: list[tuple[int, int]],
                 scheduler: str | None, workers: int | None, progress: bool) -> None:
    if not pending:
        return
    from dask.distributed import Client, LocalCluster, as_completed

    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = client.map(run_replication, [str(study_path)] * len(pending),
                             [str(out)] * len(pending), [c for c, _ in pending],
                             [r for _, r in pending], pure=False)
        bar = _Progress(len(pending)) if progress else None
        for future in as_completed(futures):
            future.result()
            if bar:
                bar.step()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def summarize_study(study: Study, out: Path) -> pd.DataFrame:
    """Aggregate the records into ``results/results.csv`` (and plots, the folder replaced
    as one unit) and return the table."""
    store = Store(out)
    truths = {c.id: study.truth(c) for c in study.conditions}
    selecting = {m.name for m in study.methods if m.engine == "loo"}
    estimates = store.estimates()
    if selecting and len(estimates):  # model selections have no effects to score
        estimates = estimates[~estimates["method"].isin(selecting)]
    table = operating_characteristics(estimates, truths)
    order = {c.id: c.index for c in study.conditions}
    table = table.sort_values(["condition", "method", "effect"],
                              key=lambda s: s.map(order) if s.name == "condition" else s)
    table = table.reset_index(drop=True)
    with run_folder(out / "results", overwrite=True) as tmp:
        atomic_write_csv(tmp / "results.csv", table)
        if selecting:
            atomic_write_csv(tmp / "model_selection.csv", model_selection(
                [r for r in store.records() if r["method"] in selecting]))
        if len(table):
            from connective.studies.plots import plot_study

            plot_study(study, table, tmp)
    return table
