"""Labels every result carries: model, data fingerprint, seed, package versions.

Example
-------
>>> import pandas as pd
>>> fp = data_fingerprint(pd.DataFrame({"x": [1.0, 2.0]}))
>>> fp.startswith("sha256:"), len(fp)
(True, 71)
>>> sorted(package_versions())[:2]
['arviz', 'connective']
"""

from __future__ import annotations

import hashlib
import platform
from datetime import datetime, timezone
from importlib import metadata

import numpy as np
import pandas as pd

_PACKAGES = ("connective", "numpy", "pandas", "xarray", "scipy", "pymc", "pytensor", "arviz",
             "nutpie")


def data_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of a data set's column names and values (not of the file's bytes), so the
    same data read from CSV or Excel have the same fingerprint."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, frame.columns)).encode())
    for col in frame.columns:
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        if np.isnan(values).all() and frame[col].notna().any():
            h.update("\x1e".join(frame[col].astype(str)).encode())
        else:
            h.update(np.ascontiguousarray(values).tobytes())
    return "sha256:" + h.hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages a result depends on."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return dict(sorted(out.items()))


def run_label(*, model: str, model_text: str, data_source: str, fingerprint: str,
              seed: int | None, synthetic: bool, settings: dict | None = None) -> dict:
    """The record written as ``summary.json`` (and into netcdf attrs) beside every result.
    ``data_resolved``: the data file's absolute path, so a report made from another working
    directory still finds it."""
    from pathlib import Path

    resolved = Path(data_source)
    return {
        "model": model,
        "model_sha256": hashlib.sha256(model_text.encode()).hexdigest(),
        "model_text": model_text,
        "data": data_source,
        "data_resolved": str(resolved.resolve()) if resolved.is_file() else None,
        "data_fingerprint": fingerprint,
        "synthetic_data": synthetic,
        "seed": seed,
        "settings": settings or {},
        "versions": package_versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
