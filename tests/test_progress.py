"""Progress of long work (issue 16, item 6): a bar in a terminal, timestamped lines when the
output is a file or a pipe, and no wait over 10 s without a word."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time

from connective.progress import counter, stage
from connective.resources import flagship_data_path

STAMP = r"\[\d\d:\d\d:\d\d\]"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_timestamped_lines_at_most_every_interval_and_the_last():
    out = io.StringIO()
    tick = counter("bootstrap", 1000, stream=out, every=3600)
    for done in range(1, 1001):
        tick(done)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the first, then nothing for an hour but the end
    assert re.fullmatch(STAMP + r" bootstrap: 1/1000 \(0%\), 0 s, about \d+ s left", lines[0])
    assert re.fullmatch(STAMP + r" bootstrap: 1000/1000 \(100%\)", lines[1])
    term = Terminal()
    tick = counter("bootstrap", 4, stream=term)
    for done in range(1, 5):
        tick(done)
    assert term.getvalue().count("\r") == 4 and term.getvalue().endswith("4/4\n")


def test_a_stage_says_it_is_still_working():
    out = io.StringIO()
    with stage("sampling", stream=out, every=0.05):
        time.sleep(0.28)
    lines = out.getvalue().splitlines()
    assert re.fullmatch(STAMP + r" sampling \.\.\.", lines[0])
    assert 3 <= sum(line.split("] ")[1].startswith("still sampling (") for line in lines) <= 6
    assert re.fullmatch(STAMP + r" sampling: done in 0\.\d s", lines[-1])


def test_a_command_sent_to_a_file_reports_its_bootstrap(tmp_path):
    run = subprocess.run([sys.executable, "-m", "connective.cli", "pls", "connective_action",
                          "--data", str(flagship_data_path()), "--out", str(tmp_path / "p"),
                          "--boot", "300", "--seed", "1"], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    assert re.search(STAMP + r" bootstrap: 300/300 \(100%\)", run.stderr), run.stderr
    assert "\r" not in run.stderr  # no bar redrawn into a file
