"""Where replications are kept: one JSON file per (condition, replication, method).

Every file is written atomically, so a file that exists is complete; a study resumes by
skipping what exists. A failed replication is a file too, with its error.

Layout: ``DIR/replications/<condition id>/<method>/rep_00001.json``.

Example
-------
>>> import tempfile
>>> store = Store(tempfile.mkdtemp())
>>> store.save("n=50", "pls", 1, {"status": "ok", "seed": 7, "effects": []})
>>> store.exists("n=50", "pls", 1), store.exists("n=50", "pls", 2)
(True, False)
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from connective.io import atomic_write_json


class Store:
    """Replication records of one study output folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, condition: str, method: str, replication: int) -> Path:
        return self.root / "replications" / condition / method / f"rep_{replication:05d}.json"

    def exists(self, condition: str, method: str, replication: int) -> bool:
        return self.path(condition, method, replication).is_file()

    def save(self, condition: str, method: str, replication: int, record: dict) -> None:
        record = {"condition": condition, "method": method, "replication": replication, **record}
        atomic_write_json(self.path(condition, method, replication), record)

    def remove_partial_files(self) -> None:
        """Remove the temporary files of records whose writer was killed (only while no
        study runs in the folder: the runner holds its lock)."""
        for tmp in (self.root / "replications").glob("*/*/.rep_*.tmp"):
            tmp.unlink(missing_ok=True)

    def records(self) -> list[dict]:
        files = sorted((self.root / "replications").glob("*/*/rep_*.json"))
        return [json.loads(f.read_text()) for f in files]

    def estimates(self) -> pd.DataFrame:
        """One row per (condition, method, replication, effect) of finished replications,
        plus rows with status 'failed' (effect empty) for replications that failed."""
        rows = []
        for rec in self.records():
            base = {k: rec[k] for k in ("condition", "method", "replication", "seed", "status")}
            base["converged"] = rec.get("converged", rec["status"] == "ok")
            if rec["status"] != "ok":
                rows.append({**base, "effect": "", "error": rec.get("error", "")})
            for eff in rec.get("effects", []):
                rows.append({**base, **eff})
        return pd.DataFrame(rows)
