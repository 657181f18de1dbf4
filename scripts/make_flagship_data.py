"""Regenerate the bundled synthetic flagship survey from its population values.

    python scripts/make_flagship_data.py

Runs ``connective simulate connective_action --n 194 --seed 2022 --values
src/connective/datasets/flagship_values.toml`` and writes
src/connective/datasets/flagship_survey_synthetic.csv with its population file beside it.
The test suite checks that this reproduces the shipped file exactly.
"""

from __future__ import annotations

import sys

from connective.cli import main
from connective.resources import flagship_data_path, flagship_values_path

N, SEED = 194, 2022


def command(out: str) -> list[str]:
    return ["simulate", "connective_action", "--n", str(N), "--seed", str(SEED),
            "--values", str(flagship_values_path()), "--out", out, "--force"]


if __name__ == "__main__":
    sys.exit(main(command(sys.argv[1] if len(sys.argv) > 1 else str(flagship_data_path()))))
