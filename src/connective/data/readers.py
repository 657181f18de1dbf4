"""Reading survey files into a DataFrame: CSV/TSV, Excel, SPSS ``.sav``, Stata ``.dta``.

Files are only ever read. Numeric codes are kept as numbers (SPSS and Stata value labels are
not turned into categories), since Likert answers are analysed as their codes. A data file
that was simulated by connective has a ``<stem>.population.toml`` beside it; its presence
marks the survey as synthetic wherever it is used.

Example
-------
>>> from connective.resources import flagship_data_path
>>> survey = read_survey(flagship_data_path())
>>> survey.synthetic, survey.frame.shape[0]
(True, 194)
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from connective.errors import DataError
from connective.provenance import data_fingerprint

READERS = {".csv": "CSV", ".txt": "CSV", ".tsv": "TSV", ".tab": "TSV", ".xlsx": "Excel",
           ".xlsm": "Excel", ".sav": "SPSS", ".zsav": "SPSS", ".dta": "Stata"}
_NEEDS = {"Excel": "openpyxl", "SPSS": "pyreadstat"}


@dataclass
class Survey:
    """A survey as read: the data, where it came from, its fingerprint, synthetic or not."""

    frame: pd.DataFrame
    source: str
    fingerprint: str
    synthetic: bool = False
    population: dict = field(default_factory=dict)  # the truth, for simulated data

    def describe(self) -> str:
        tag = " [SYNTHETIC: simulated from a stated population model]" if self.synthetic else ""
        return (f"Data {self.source}: {self.frame.shape[0]} rows, {self.frame.shape[1]} "
                f"columns{tag}")


def population_path(data_path: str | Path) -> Path:
    """Where the population values of a simulated data file are written."""
    data_path = Path(data_path)
    return data_path.with_name(f"{data_path.stem}.population.toml")


def read_frame(path: str | Path, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read a data file by its extension into a DataFrame (never modifies the file).

    Example
    -------
    >>> from connective.resources import flagship_data_path
    >>> "oca1" in read_frame(flagship_data_path()).columns
    True
    """
    path = Path(path)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: cannot read files ending in {path.suffix!r}; expected one of "
                        f"{', '.join(sorted(READERS))} (save the data as CSV if unsure)")
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    try:
        if kind in ("CSV", "TSV"):
            sep = _sniff_separator(path) if kind == "CSV" else "\t"
            # pandas renames repeated header names (x1, x1.1); read the header to catch them
            header = pd.read_csv(path, sep=sep, header=None, nrows=1).iloc[0].astype(str)
            frame = pd.read_csv(path, sep=sep)
            frame.columns = list(header) if header.duplicated().any() else frame.columns
        elif kind == "Excel":
            frame = pd.read_excel(path, sheet_name=sheet)
        elif kind == "SPSS":
            frame = pd.read_spss(path, convert_categoricals=False)
        else:
            frame = pd.read_stata(path, convert_categoricals=False)
    except ImportError:
        raise DataError(f"{path}: reading {kind} files needs the package {_NEEDS[kind]}; "
                        "install it with: pip install 'connective[formats]'") from None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot be read as a {kind} file: {exc}") from None
    if frame.columns.duplicated().any():
        dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise DataError(f"{path}: the column names {', '.join(map(str, dupes))} appear more "
                        "than once; give every column a unique name")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _sniff_separator(path: Path) -> str:
    """Comma, semicolon (European Excel exports) or tab, judged from the header line."""
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        head = fh.readline()
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_survey(path: str | Path, *, sheet: str | int = 0) -> Survey:
    """Read a survey file into a :class:`Survey` (data, source, fingerprint, synthetic flag).

    Example
    -------
    >>> from connective.resources import flagship_data_path
    >>> read_survey(flagship_data_path()).fingerprint.startswith("sha256:")
    True
    """
    frame = read_frame(path, sheet=sheet)
    population: dict = {}
    pop_file = population_path(path)
    if pop_file.is_file():
        try:
            population = tomllib.loads(pop_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise DataError(f"{pop_file}: the population values file is not valid TOML: "
                            f"{exc}") from None
    return Survey(frame=frame, source=str(path), fingerprint=data_fingerprint(frame),
                  synthetic=bool(population.get("synthetic", False)), population=population)
