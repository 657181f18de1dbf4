"""Run folders written and read as one unit, and folders that one process at a time may use.

A run folder (``fit``, ``pls``, ``compare``, ``demo``, a report, a study's results) is
written into a hidden folder beside its target, ``.<name>.partial-XXXXXXXX``. At the end
every file is fsynced, ``run.json`` is written last with the run's id and the SHA-256 of
every file, and the folder takes the target's place in one rename (on Linux an atomic
exchange with the old folder, which is then removed). A SIGKILL at any moment leaves the old
folder or the new one, never a mix; the partial folder a killed run leaves behind is removed
by the next run with the same target (its lock, an OS file lock, died with the process).

An existing folder is replaced only with ``overwrite`` and only when it is a run folder that
holds nothing connective did not write (so a data file in it is never deleted). Readers call
:func:`check_run_folder`: a folder whose files are missing, changed or from another run is
refused. A subfolder with its own ``run.json`` (``bayes/`` in a comparison) is a unit of
its own: the parent lists only its ``run.json``. A *derived* unit (a report: made from the
run's files, remade at will) is no part of its parent, so a report written into a finished
run, or replaced, leaves the run as it was.

Example: :func:`run_folder`, :func:`check_run_folder`.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from connective.errors import RunFolderError
from connective.io import atomic_write_json, fsync_path, umask

MANIFEST = "run.json"
#: the hidden folders of runs under way (or killed) and of replaced runs; a new folder is
#: made as ``_NEW`` and renamed to ``_PARTIAL`` once locked, so that another run never
#: takes a live run's folder for a killed one's
_NEW, _PARTIAL, _OLD = ".new-", ".partial-", ".old-"


def new_run_id() -> str:
    """A run's id: UTC time and 8 random hex digits, e.g. ``20261201T113000Z-1a2b3c4d``."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + os.urandom(4).hex()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_target(target: str | Path, *, overwrite: bool = False) -> Path:
    """Check, before any work, that a run folder can be written at ``target``: it is absent
    or empty, or (with ``overwrite``) a run folder connective may replace, and its parent
    is writable. Returns the absolute target; raises :class:`RunFolderError` otherwise.

    Example
    -------
    >>> import tempfile, pathlib
    >>> check_target(pathlib.Path(tempfile.mkdtemp()) / "new").name
    'new'
    """
    target = Path(target).absolute()
    if target.exists() and not target.is_dir():
        raise RunFolderError(f"{target} is a file, not a folder; choose another --out folder")
    if _occupied(target):
        if not overwrite:
            raise RunFolderError(f"{target} already exists; use --overwrite to replace it (the "
                                 "whole folder is replaced), or choose another --out folder")
        _check_replaceable(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=f".{target.name}{_NEW}", dir=target.parent)
        shutil.rmtree(probe, ignore_errors=True)
    except OSError as exc:
        raise RunFolderError(f"cannot write the run folder {target}: {exc.strerror} "
                             f"({exc.filename or target.parent}); choose another --out "
                             f"folder or make {target.parent} writable") from None
    return target


@contextmanager
def run_folder(target: str | Path, *, overwrite: bool = False,
               derived: bool = False) -> Iterator[Path]:
    """Yield a new hidden folder beside ``target`` to write a run into; when the block ends
    without error, seal it (fsync, ``run.json``) and put it in place of ``target``. On an
    error nothing changes at ``target``. ``derived`` marks a unit made from its parent's
    files (a report), which the parent does not count as its own. See the module docstring.

    Example
    -------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with run_folder(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("first")
    >>> with run_folder(target, overwrite=True) as tmp:
    ...     _ = (tmp / "b.txt").write_text("second")
    >>> sorted(p.name for p in target.iterdir()), sorted(check_run_folder(target)["files"])
    (['b.txt', 'run.json'], ['b.txt'])
    """
    target = check_target(target, overwrite=overwrite)
    _remove_abandoned(target)
    new = tempfile.mkdtemp(prefix=f".{target.name}{_NEW}", dir=target.parent)
    os.chmod(new, 0o777 & ~umask())  # mkdtemp makes it 0700
    lock = os.open(new, os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)  # says "in use" to _remove_abandoned of other runs
    tmp = Path(new).with_name(Path(new).name.replace(_NEW, _PARTIAL, 1))
    os.rename(new, tmp)  # the lock goes with the folder
    try:
        yield tmp
        seal(tmp, new_run_id(), derived=derived)
        check_target(target, overwrite=overwrite)  # another run may have finished meanwhile
        _put_in_place(tmp, target)
    finally:
        os.close(lock)
        shutil.rmtree(tmp, ignore_errors=True)  # the partial run, or the replaced old one


def seal(folder: Path, run_id: str, *, derived: bool = False) -> dict:
    """fsync every file of ``folder`` and write ``run.json`` (the run's id and each file's
    SHA-256) last; returns the manifest."""
    files = {}
    for rel, path in sorted(_listing(folder).items()):
        fsync_path(path)
        files[rel] = sha256_file(path)
    manifest = {"run_id": run_id, **({"derived": True} if derived else {}), "files": files}
    atomic_write_json(folder / MANIFEST, manifest)
    for sub in sorted({folder, *(p.parent for p in _listing(folder).values())}, reverse=True):
        fsync_path(sub)  # the folders' entries too
    return manifest


def check_run_folder(folder: str | Path) -> dict:
    """The manifest of a finished run folder, after checking that its files are the ones
    its run wrote; raises :class:`RunFolderError` naming what is missing, foreign or
    changed.

    Example
    -------
    >>> import tempfile
    >>> check_run_folder(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    connective.errors.RunFolderError: ...: it has no run.json, which connective writes last ...
    """
    folder = Path(folder)
    redo = "run the command that made it again (with --overwrite)"
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        expected = dict(manifest["files"])
    except FileNotFoundError:
        if not folder.is_dir():
            raise RunFolderError(f"{folder} does not exist; give a folder written by "
                                 "'connective fit', 'pls' or 'compare'") from None
        raise RunFolderError(f"{folder} is not a complete run folder: it has no {MANIFEST}, "
                             "which connective writes last (an interrupted run, or one made "
                             f"by an older connective); {redo}") from None
    except (ValueError, KeyError, TypeError):
        raise RunFolderError(f"{folder / MANIFEST} is not a run manifest; {redo}") from None
    found = _listing(folder)
    missing = sorted(set(expected) - set(found))
    foreign = sorted(set(found) - set(expected))
    changed = sorted(rel for rel in set(expected) & set(found)
                     if sha256_file(found[rel]) != expected[rel])
    if missing or foreign or changed:
        parts = [f"{what}: {', '.join(names)}" for what, names in
                 (("missing", missing), ("not written by this run", foreign),
                  ("changed since", changed)) if names]
        raise RunFolderError(f"{folder}: its files are not those of one run (run "
                             f"{manifest.get('run_id')}; {'; '.join(parts)}); {redo}")
    return manifest


@contextmanager
def folder_lock(folder: str | Path, what: str = "study") -> Iterator[None]:
    """Hold an OS file lock (``fcntl.flock``) on ``folder/.lock`` for the block; a second
    holder is refused at once with a clear message. The lock dies with its process (also
    on SIGKILL), so an interrupted run never blocks the next.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with folder_lock(folder):
    ...     with folder_lock(folder):
    ...         pass
    Traceback (most recent call last):
    ...
    connective.errors.RunFolderError: ...
    """
    path = Path(folder) / ".lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise RunFolderError(f"cannot write to {folder}: {exc.strerror}; choose another "
                             "--out folder or make it writable") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise RunFolderError(f"{folder} is in use by another running {what} (process "
                                 f"{holder}); wait for it to end or stop it, or use another "
                                 "--out folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)  # named in the message above
        yield
    finally:
        os.close(fd)


def _occupied(target: Path) -> bool:
    return target.is_dir() and any(target.iterdir())


def _hidden_partial(name: str, kinds=(_NEW, _PARTIAL, _OLD)) -> bool:
    return name.startswith(".") and any(kind in name for kind in kinds)


def _listing(folder: Path) -> dict[str, Path]:
    """The files of a run folder by relative path: subfolders included, except that of a
    subfolder with its own manifest only that manifest counts, and a derived one (a report)
    not at all; the folder's own manifest, lock and partial folders left out."""
    out: dict[str, Path] = {}

    def walk(here: Path, prefix: str) -> None:
        for entry in sorted(here.iterdir()):
            if _hidden_partial(entry.name) or (not prefix and entry.name in (MANIFEST,
                                                                             ".lock")):
                continue
            if entry.is_dir():
                if (entry / MANIFEST).is_file():
                    if not _derived(entry):
                        out[f"{prefix}{entry.name}/{MANIFEST}"] = entry / MANIFEST
                else:
                    walk(entry, f"{prefix}{entry.name}/")
            else:
                out[prefix + entry.name] = entry
    walk(folder, "")
    return out


def _derived(unit: Path) -> bool:
    try:
        return bool(json.loads((unit / MANIFEST).read_text(encoding="utf-8")).get("derived"))
    except (OSError, ValueError, AttributeError):
        return False  # unreadable: counted as a file of the parent, so a check names it


def _check_replaceable(target: Path) -> None:
    """Refuse to replace a folder connective did not write, or one holding other files."""
    try:
        listed = set(json.loads((target / MANIFEST).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        raise RunFolderError(f"{target} is not a run folder written by connective (no valid "
                             f"{MANIFEST}), so --overwrite does not delete it; remove it "
                             "yourself or choose another --out folder") from None
    others = sorted(set(_listing(target)) - listed)  # reports in it may go with it
    if others:
        raise RunFolderError(f"{target} holds files connective did not write there "
                             f"({', '.join(others)}), so --overwrite does not delete it; move "
                             "them away or choose another --out folder")


def _remove_abandoned(target: Path) -> None:
    """Remove the partial folders of killed runs with this target (no process holds their
    lock) and replaced folders left by a run killed just after its rename."""
    for entry in target.parent.glob(f".{target.name}.*"):
        if not (entry.is_dir() and _hidden_partial(entry.name, (_PARTIAL, _OLD))):
            continue
        try:
            fd = os.open(entry, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a run under way
        finally:
            os.close(fd)
        shutil.rmtree(entry, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _put_in_place(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target``; an existing ``target`` ends up at ``tmp`` (removed by
    the caller). One atomic exchange where the system has it (Linux renameat2)."""
    if not _occupied(target):
        os.replace(tmp, target)  # an empty folder is replaced by rename itself
    elif not _exchange(tmp, target):
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}{_OLD}", dir=target.parent))
        os.replace(target, old)  # a kill here leaves no folder at target, never a mix
        os.replace(tmp, target)
        os.replace(old, tmp)
    fsync_path(target.parent)


def _exchange(a: Path, b: Path) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        rename = libc.renameat2
    except (OSError, AttributeError):
        return False
    if rename(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False  # no exchange on this system or file system
    raise OSError(code, os.strerror(code), str(b))
