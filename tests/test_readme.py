"""The README's examples run as written (issue 16, item 7).

Every ```python block is executed. Every ```bash block is run line by line in a fresh
folder with bash, the way a reader would paste it, except the install block (``pip
install``): commands that only read and check (``validate``, ``simulate``, ``report``,
``python -c``) run in the default suite; the ones that fit models (``fit``, ``compare``,
``pls``, ``study``, ``demo``) are parsed by the command line there, with every input file
checked, and run in full with ``-m slow``. Files the README says a reader brings
(Bolger & Laurenceau's ``BLch9.csv``) come from ../shared/benchmarks/data.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
HEAVY = ("fit", "compare", "pls", "study", "demo", "loo")
#: files the README assumes the reader has, with where the tests find them
BROUGHT = {"BLch9.csv": "BLch9.csv"}


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), re.S)


def commands(block: str) -> list[str]:
    """The block's commands: comments dropped, backslash continuations joined."""
    text = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def bash_commands() -> list[list[str]]:
    return [commands(b) for b in blocks("bash") if "pip install" not in b]


@pytest.fixture
def reader_folder(tmp_path, benchmarks, monkeypatch):
    for name, source in BROUGHT.items():
        shutil.copy(benchmarks / "data" / source, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _env() -> dict:
    src = str(Path(__file__).resolve().parents[1] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "MPLBACKEND": "Agg"}


def _run(line: str, cwd: Path) -> None:
    # `connective` as this checkout's module (the installed script may be another checkout)
    line = re.sub(r"^connective ", f"{shlex.quote(sys.executable)} -m connective.cli ", line)
    line = re.sub(r"^python ", f"{shlex.quote(sys.executable)} ", line)
    run = subprocess.run(["bash", "-c", line], cwd=cwd, env=_env(), capture_output=True,
                         text=True, timeout=1800)
    assert run.returncode == 0, f"{line}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"


def _parse(line: str, cwd: Path) -> None:
    """A heavy command: its options parse and its input files are there."""
    from connective.cli import build_parser
    from connective.resources import model_path

    argv = shlex.split(line)[1:]
    args = build_parser().parse_args(argv)
    if getattr(args, "data", None):
        assert (cwd / args.data).is_file(), f"{line}: no file {args.data}"
    model = getattr(args, "model", None)
    if model and not (cwd / model).is_file():
        model_path(model)  # a bundled model's name, else a clear error


def test_python_examples_run(reader_folder):
    for code in blocks("python"):
        exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})


@pytest.mark.parametrize("index", range(len(bash_commands())))
def test_shell_examples_run_or_parse(reader_folder, index):
    for line in bash_commands()[index]:
        words = shlex.split(line)
        if words[0] == "connective" and words[1] in HEAVY:
            _parse(line, reader_folder)
        else:
            _run(line, reader_folder)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(bash_commands())))
def test_shell_examples_run_in_full(reader_folder, index):
    for line in bash_commands()[index]:
        _run(line, reader_folder)
