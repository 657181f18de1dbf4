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
    #: the printed moments these rows were made from (data.summary), None for real rows
    summary: object = None

    def describe(self) -> str:
        if self.summary is not None:
            return self.summary.describe() + (" [SYNTHETIC]" if self.synthetic else "")
        tag = " [SYNTHETIC: simulated from a stated population model]" if self.synthetic else ""
        return (f"Data {self.source}: {self.frame.shape[0]} rows, {self.frame.shape[1]} "
                f"columns{tag}")


def population_path(data_path: str | Path) -> Path:
    """Where the population values of a simulated data file are written."""
    data_path = Path(data_path)
    return data_path.with_name(f"{data_path.stem}.population.toml")


def read_frame(path: str | Path, *, sheet: str | int = 0,
               encoding: str | None = None) -> pd.DataFrame:
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
            frame = _read_text(path, kind, encoding)
        elif kind == "Excel":
            frame = pd.read_excel(path, sheet_name=sheet)
        elif kind == "SPSS":
            frame = pd.read_spss(path, convert_categoricals=False)
        else:
            frame = pd.read_stata(path, convert_categoricals=False)
    except ImportError:
        raise DataError(f"{path}: reading {kind} files needs the package {_NEEDS[kind]}; "
                        "install it with: pip install 'connective[formats]'") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: byte {exc.object[exc.start]:#x} at position {exc.start} is "
                        f"not {exc.encoding}: the file was saved in another encoding, most "
                        "likely Latin-1 (Windows Excel); add --encoding latin-1 (or "
                        "--encoding cp1252), or save the file as UTF-8 CSV") from None
    except LookupError:
        raise DataError(f"--encoding {encoding!r} is not an encoding Python knows; use e.g. "
                        "utf-8, latin-1 or cp1252") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot be read as a {kind} file: {exc}") from None
    except Exception as exc:  # noqa: BLE001 -- a damaged file (truncated .xlsx: BadZipFile)
        raise DataError(f"{path}: cannot be read as a {kind} file ({type(exc).__name__}: "
                        f"{exc}); the file may be damaged or incomplete: save it again from "
                        "the program that made it") from None
    if frame.columns.duplicated().any():
        dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise DataError(f"{path}: the column names {', '.join(map(str, dupes))} appear more "
                        "than once; give every column a unique name")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_text(path: Path, kind: str, encoding: str | None) -> pd.DataFrame:
    """A CSV/TSV file; a semicolon-separated one may write decimals with commas (3,5)."""
    encoding = encoding or "utf-8-sig"
    sep = _sniff_separator(path, encoding) if kind == "CSV" else "\t"
    # pandas renames repeated header names (x1, x1.1); read the header to catch them
    header = pd.read_csv(path, sep=sep, header=None, nrows=1, encoding=encoding,
                         dtype=str).iloc[0].astype(str)
    frame = pd.read_csv(path, sep=sep, encoding=encoding)
    frame.columns = list(header) if header.duplicated().any() else frame.columns
    if sep != ",":
        for col in [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]:
            text = frame[col].dropna().astype(str).str.strip()
            if len(text) and text.str.fullmatch(r"[-+]?\d*,\d+|[-+]?\d+").all():
                frame[col] = pd.to_numeric(frame[col].str.replace(",", ".", regex=False))
    return frame


def _sniff_separator(path: Path, encoding: str = "utf-8-sig") -> str:
    """Comma, semicolon (European Excel exports) or tab, judged from the header line."""
    with path.open(encoding=encoding, errors="replace") as fh:
        head = fh.readline()
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_survey(path: str | Path, *, sheet: str | int = 0,
                encoding: str | None = None) -> Survey:
    """Read a survey file into a :class:`Survey` (data, source, fingerprint, synthetic flag).

    Example
    -------
    >>> from connective.resources import flagship_data_path
    >>> read_survey(flagship_data_path()).fingerprint.startswith("sha256:")
    True
    """
    frame = read_frame(path, sheet=sheet, encoding=encoding)
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
