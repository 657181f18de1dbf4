"""One set of data options for every command and study file: missing values, missing-value
codes, reverse-keyed items, Likert ranges (per item, by name pattern), file encoding, sheet.

The command line (``--missing casewise --missing-codes -99,-98 --reverse is3 --likert
"ipol*=1-6,*=1-5"``) and a study file's ``[data]`` table are read into the same
:class:`DataOptions`; :meth:`DataOptions.check` validates a survey with them, and
:meth:`DataOptions.flags` writes them back as command-line flags for hints and reports.

Example
-------
>>> opts = DataOptions.from_text(likert="ipol*=1-6,*=1-5", missing_codes="-99,-98")
>>> opts.scales(["ipol1", "is1"])
{'ipol1': (1.0, 6.0), 'is1': (1.0, 5.0)}
>>> opts.missing_codes, opts.flags()
((-99.0, -98.0), '--missing-codes -99,-98 --likert ipol*=1-6,*=1-5')
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Iterable, Mapping

from connective.errors import ConnectiveError

Scale = tuple[float, float]
#: --missing: fiml uses every answer (the Bayesian engine's default), casewise drops
#: respondents with a missing answer, mean replaces a missing answer by the item's mean
MISSING = ("fiml", "casewise", "mean")


class DataOptionError(ConnectiveError):
    """A data option whose value cannot be read; the message names the option."""


def parse_codes(text: str, option: str = "--missing-codes") -> tuple:
    """``"-99,-98,."`` -> ``(-99.0, -98.0, '.')``: numbers where they read as numbers.

    >>> parse_codes("-99, NA")
    (-99.0, 'NA')
    """
    out: list = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        try:
            out.append(float(part))
        except ValueError:
            out.append(part)
    if str(text).strip() and not out:
        raise DataOptionError(f"{option} {text!r}: expected comma-separated codes, e.g. -99,-98")
    return tuple(out)


def parse_items(text: str | Iterable[str], option: str = "--reverse") -> tuple[str, ...]:
    """``"is3, oca2"`` -> ``('is3', 'oca2')``.

    >>> parse_items("is3, oca2")
    ('is3', 'oca2')
    """
    parts = str(text).split(",") if isinstance(text, str) else list(text)
    return tuple(p.strip() for p in parts if str(p).strip())


def parse_range(text: str, option: str = "--likert") -> Scale:
    """``"1-7"`` (or ``"1:7"``, ``"-2-2"``) -> ``(1.0, 7.0)``; the lower end first.

    >>> parse_range("-2-2")
    (-2.0, 2.0)
    """
    body = str(text).strip()
    cut = body.find("-", 1) if ":" not in body else body.find(":")
    try:
        lo, hi = float(body[:cut]), float(body[cut + 1:])
    except ValueError:
        raise DataOptionError(f"{option} {text!r}: expected a range like 1-7") from None
    if not lo < hi:
        raise DataOptionError(f"{option} {text!r}: the range must run from a lower to a higher "
                              f"value, e.g. {min(lo, hi):g}-{max(lo, hi):g}")
    return lo, hi


def parse_likert(text: str | Mapping | None, option: str = "--likert"
                 ) -> tuple[tuple[str, Scale], ...]:
    """``"1-7"`` (every item) or ``"ipol*=1-6,*=1-5"`` (name patterns, first match wins).

    >>> parse_likert("ipol*=1-6,*=1-5")
    (('ipol*', (1.0, 6.0)), ('*', (1.0, 5.0)))
    """
    if text is None or text == "":
        return ()
    if isinstance(text, Mapping):
        return tuple((str(k), parse_range(v, f"{option} {k}")) for k, v in text.items())
    out = []
    for part in (p.strip() for p in str(text).split(",") if p.strip()):
        pattern, _, scale = part.rpartition("=")
        out.append((pattern.strip() or "*", parse_range(scale, option)))
    return tuple(out)


@dataclass(frozen=True)
class DataOptions:
    """How to read and clean a survey; the same for validate, fit, pls, compare and studies."""

    missing: str | None = None
    missing_codes: tuple = ()
    reverse: tuple[str, ...] = ()
    likert: tuple[tuple[str, Scale], ...] = ()
    encoding: str | None = None
    sheet: str | int = 0

    def __post_init__(self):
        if self.missing is not None and self.missing not in MISSING:
            raise DataOptionError(f"--missing {self.missing!r}: expected one of "
                                  f"{', '.join(MISSING)}")

    @classmethod
    def from_text(cls, *, missing: str | None = None, missing_codes="", reverse="",
                  likert=None, encoding: str | None = None, sheet: str | int = 0,
                  where: str = "") -> "DataOptions":
        """Options from their written form (command line or study file values)."""
        prefix = f"{where}: " if where else ""
        try:
            codes = (parse_codes(missing_codes) if isinstance(missing_codes, str)
                     else tuple(missing_codes))
            sheet = int(sheet) if str(sheet).isdigit() else sheet
            return cls(missing=missing, missing_codes=codes, reverse=parse_items(reverse),
                       likert=parse_likert(likert), encoding=encoding, sheet=sheet)
        except DataOptionError as exc:
            raise DataOptionError(f"{prefix}{exc}") from None

    @classmethod
    def from_args(cls, args) -> "DataOptions":
        """Options from parsed command-line arguments (see commands/_options.py)."""
        return cls.from_text(**{k: getattr(args, k) for k in
                                ("missing", "missing_codes", "reverse", "likert", "encoding",
                                 "sheet") if getattr(args, k, None) is not None})

    @classmethod
    def from_mapping(cls, table: Mapping, where: str) -> "DataOptions":
        """Options from a study file's ``[data]`` table (keys as the flags, with _)."""
        known = {"missing", "missing_codes", "reverse", "likert", "encoding", "sheet"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise DataOptionError(f"{where}: unknown key(s) {', '.join(unknown)}; expected "
                                  f"{', '.join(sorted(known))}")
        return cls.from_text(**dict(table), where=where)

    def scales(self, items: Iterable[str]) -> dict[str, Scale]:
        """Each item's Likert range: the first pattern of ``likert`` its name matches."""
        out = {}
        for item in items:
            for pattern, scale in self.likert:
                if fnmatch.fnmatchcase(item, pattern):
                    out[item] = scale
                    break
        return out

    def unmatched_patterns(self, items: Iterable[str]) -> list[str]:
        """Patterns of ``likert`` that name no item (a typo, most likely)."""
        items = list(items)
        return [p for p, _ in self.likert if not fnmatch.filter(items, p)]

    def flags(self) -> str:
        """The options as command-line flags (for hints and reports)."""
        parts = []
        if self.missing:
            parts.append(f"--missing {self.missing}")
        if self.missing_codes:
            parts.append("--missing-codes " + ",".join(_show(c) for c in self.missing_codes))
        if self.reverse:
            parts.append("--reverse " + ",".join(self.reverse))
        if self.likert:
            text = ",".join(f"{p}={lo:g}-{hi:g}" for p, (lo, hi) in self.likert)
            single = len(self.likert) == 1 and self.likert[0][0] == "*"
            parts.append(f"--likert {text[2:] if single else text}")
        if self.encoding:
            parts.append(f"--encoding {self.encoding}")
        return " ".join(parts)

    def to_dict(self) -> dict:
        """JSON-ready form, recorded in run folders and read back by :meth:`from_mapping`."""
        return {"missing": self.missing, "missing_codes": list(self.missing_codes),
                "reverse": list(self.reverse),
                "likert": {p: f"{lo:g}-{hi:g}" for p, (lo, hi) in self.likert},
                "encoding": self.encoding, "sheet": self.sheet}

    def read(self, path):
        """Read the survey file with these options (encoding, sheet)."""
        from connective.data.readers import read_survey

        return read_survey(path, sheet=self.sheet, encoding=self.encoding)

    def check(self, survey, spec, *, group: str | None = None, keep: Iterable[str] = (),
              raise_on_error: bool = True):
        """Validate ``survey`` against ``spec`` with these options (a ValidatedSurvey)."""
        from connective.data.validate import validate_survey

        items = [v for v in spec.observed
                 if v not in spec.structural or v in spec.structural_items]
        unmatched = self.unmatched_patterns(items)
        if unmatched:
            raise DataOptionError(f"--likert: the pattern(s) {', '.join(unmatched)} match no "
                                  f"item of {spec.source}; its items are {', '.join(items)}")
        checked = validate_survey(survey, spec, scale=self.scales(items) or None,
                                  missing_codes=self.missing_codes, reverse=self.reverse,
                                  missing=self.missing, group=group, keep=keep,
                                  raise_on_error=raise_on_error)
        checked.options = self.to_dict()
        return checked


def _show(code) -> str:
    return f"{code:g}" if isinstance(code, float) else str(code)
