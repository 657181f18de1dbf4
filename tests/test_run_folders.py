"""Run folders are written as one unit, checked before the work, read only when their files
are one run's (connective.folders; one study per folder: tests/studies)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from connective.cli import main
from connective.resources import flagship_data_path

TINY_FIT = ["--draws", "30", "--tune", "30", "--chains", "1", "--quiet"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _pls(capsys, out, *extra):
    return run(capsys, "pls", "connective_action", "--data", flagship_data_path(), "--out", out,
               "--quiet", *extra)


@pytest.fixture(scope="module")
def two_fits(tmp_path_factory, benchmarks):
    """Two tiny ``connective fit`` folders of one model and survey, seeds 1 and 2."""
    root = tmp_path_factory.mktemp("fits")
    for seed in (1, 2):
        assert main(["fit", "mediation", "--data", str(benchmarks / "data" / "mediation_sim.csv"),
                     "--out", str(root / f"seed{seed}"), "--seed", str(seed), *TINY_FIT]) == 0
    return root


def test_pls_into_a_fit_folder_is_refused_and_overwrite_replaces_it_whole(two_fits, capsys,
                                                                          tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(two_fits / "seed1", folder)
    code, _, err = _pls(capsys, folder)
    assert code == 2 and "already exists; use --overwrite to replace it" in err
    assert (folder / "posterior.nc").is_file()  # refused: nothing touched
    code, _, _ = _pls(capsys, folder, "--overwrite")
    assert code == 0
    assert not (folder / "posterior.nc").exists()  # no other engine's posterior survives
    code, _, err = run(capsys, "loo", folder, two_fits / "seed2")
    assert code == 2 and "has no posterior.nc" in err


def test_loo_and_report_refuse_a_folder_mixing_two_runs(two_fits, capsys, tmp_path):
    mixed = tmp_path / "mixed"
    shutil.copytree(two_fits / "seed1", mixed)
    shutil.copy2(two_fits / "seed2" / "posterior.nc", mixed / "posterior.nc")
    code, _, err = run(capsys, "loo", mixed, two_fits / "seed2")
    assert code == 2 and "not those of one run" in err and "changed since: posterior.nc" in err
    code, _, err = run(capsys, "report", mixed)
    assert code == 2 and "not those of one run" in err
    assert not (mixed / "report").exists()
    # a stray file is refused as well; the folders as written are read
    (two_fits / "seed2" / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "report", two_fits / "seed2")
    assert code == 2 and "not written by this run: notes.txt" in err
    (two_fits / "seed2" / "notes.txt").unlink()
    code, out, _ = run(capsys, "loo", two_fits / "seed1", two_fits / "seed2")
    assert code == 0 and "elpd" in out


def test_a_report_is_made_from_a_run_and_leaves_it_as_it_was(two_fits, capsys, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(two_fits / "seed1", folder)
    assert run(capsys, "report", folder)[0] == 0
    code, _, err = run(capsys, "report", folder)
    assert code == 2 and "report already exists; use --overwrite" in err
    assert run(capsys, "report", folder, "--overwrite")[0] == 0
    code, out, _ = run(capsys, "loo", folder, two_fits / "seed2")  # the run is still one run
    assert code == 0 and "elpd" in out


def test_an_interrupted_write_leaves_the_old_run_whole(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "pls"
    assert _pls(capsys, folder)[0] == 0
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    import connective.pls.run as pls_run

    real = pls_run.atomic_write_json

    def interrupted(path, obj):  # the last file of the run: the others are written by now
        raise KeyboardInterrupt

    monkeypatch.setattr(pls_run, "atomic_write_json", interrupted)
    code, _, err = _pls(capsys, folder, "--overwrite", "--boot", "30", "--seed", "4")
    assert code == 130 and "no partial results were written" in err
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pls"]  # nothing half-written beside
    monkeypatch.setattr(pls_run, "atomic_write_json", real)
    assert _pls(capsys, folder, "--overwrite", "--boot", "30", "--seed", "4")[0] == 0
    assert (folder / "replicates.nc").is_file()


def test_overwrite_never_deletes_files_connective_did_not_write(capsys, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    data = folder / "survey.csv"
    shutil.copy2(flagship_data_path(), data)
    code, _, err = run(capsys, "pls", "connective_action", "--data", data, "--out", folder,
                       "--overwrite", "--quiet")
    assert code == 2 and "not a run folder written by connective" in err
    assert data.read_bytes() == flagship_data_path().read_bytes()


def test_an_unwritable_output_folder_is_refused_before_sampling(capsys, tmp_path, monkeypatch,
                                                                benchmarks):
    import connective.bayes

    def must_not_sample(*args, **kwargs):
        pytest.fail("sampled before checking the output folder")

    monkeypatch.setattr(connective.bayes, "fit", must_not_sample)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    code, _, err = run(capsys, "fit", "mediation", "--data",
                       benchmarks / "data" / "mediation_sim.csv", "--out", blocker / "out",
                       *TINY_FIT)
    assert code == 2 and "cannot write the run folder" in err and "choose another --out" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_a_read_only_parent_is_refused_before_the_work(capsys, tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        code, _, err = _pls(capsys, parent / "out", "--boot", "30")
    finally:
        parent.chmod(0o755)
    assert code == 2 and "cannot write the run folder" in err


def test_run_files_get_the_users_umask(capsys, tmp_path):
    old = os.umask(0o027)
    try:
        assert _pls(capsys, tmp_path / "pls", "--boot", "20", "--seed", "1")[0] == 0
    finally:
        os.umask(old)
    modes = {p.name: (p.is_dir(), stat.S_IMODE(p.stat().st_mode))
             for p in [tmp_path / "pls", *(tmp_path / "pls").rglob("*")]}
    assert len(modes) > 5
    assert modes == {name: (is_dir, 0o750 if is_dir else 0o640)
                     for name, (is_dir, _) in modes.items()}


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fds")
def test_results_are_fsynced_before_the_rename(capsys, tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def spy(fd):
        synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    assert _pls(capsys, tmp_path / "pls")[0] == 0
    final = {p.name for p in (tmp_path / "pls").iterdir()} - {"run.json"}
    # each result file, under its own name, in the hidden folder that was then renamed
    before_rename = {p.name for p in synced if p.parent.name.startswith(".pls.partial-")}
    assert final and final <= before_rename
    assert any(p.name.startswith(".run.json.") for p in synced)
