"""Summary statistics as input: a correlation or covariance matrix as a paper prints it,
with optional SDs and means and the sample size, instead of respondents' rows.

A file a person can type from a paper (TOML)::

    n = 194                        # or a list of pairwise Ns: the smallest is used
    names = ["is1", "is2", "ci1"]
    kind = "correlation"           # or "covariance"
    lower = '''
    1
    .45 1
    .30 .38 1
    '''                            # or full = ''' ... ''' (the whole matrix, checked symmetric)
    sds = [1.21, 1.10, 1.35]       # optional (correlations only): then a covariance matrix
    means = [4.2, 3.9, 4.4]        # optional: without them the model has no mean structure

or lavaan's ``getCov`` text: the lower triangle's numbers, with the names and N in comment
lines (``# names: a b c`` and ``# n: 932``).

The engines read rows, so the statistics become **moment-matched rows**
(:meth:`SummaryData.frame`): N rows whose sample means and covariance matrix (divisor N - 1)
are exactly the printed ones (as ``MASS::mvrnorm(empirical = TRUE)``). Every estimate of the
normal likelihood and of PLS is a function of those moments only, so the fits are those
from the matrix itself (lavaan's ``sample.cov``, whose ML fit uses the covariance rescaled
by (N - 1) / N, as ours of the rows does). What needs real respondents (LOO, the ordinal
likelihood, hierarchical models, the nonparametric bootstrap) is refused by the commands.

Example
-------
>>> s = parse_summary('n = 50\\nnames = ["a", "b"]\\nkind = "correlation"\\nlower = "1\\\\n.5 1"')
>>> s.kind, s.n, s.matrix.tolist()
('correlation', 50, [[1.0, 0.5], [0.5, 1.0]])
>>> f = s.frame()
>>> round(float(f.corr().iloc[0, 1]), 12), len(f)
(0.5, 50)
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from connective.errors import DataError

KINDS = ("correlation", "covariance")
_KEYS = {"n", "names", "kind", "lower", "full", "sds", "means", "source", "note"}


class SummaryDataError(DataError):
    """A summary-statistics file that cannot be used (names the file and what to fix)."""


@dataclass(frozen=True)
class SummaryData:
    """Printed moments: ``names``, ``matrix`` (correlations or covariances, ``kind``),
    ``sds`` and ``means`` (or None), ``n``; ``notes`` say what was done to them (the
    smallest of pairwise Ns, the nearest positive-definite matrix)."""

    names: tuple[str, ...]
    matrix: np.ndarray
    kind: str
    n: int
    source: str = "<summary>"
    sds: np.ndarray | None = None
    means: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    text: str = field(default="", repr=False)

    @property
    def covariance(self) -> np.ndarray:
        """The covariance matrix: as printed, or the correlations scaled by the SDs (the
        correlations themselves when there are no SDs)."""
        if self.kind == "covariance" or self.sds is None:
            return self.matrix
        return self.matrix * np.outer(self.sds, self.sds)

    @property
    def correlation_only(self) -> bool:
        """Correlations without SDs: a correlation-structure fit, whose intervals are
        approximate (the sampling distribution of a correlation matrix is not Wishart)."""
        return self.kind == "correlation" and self.sds is None

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the numbers used (names, matrix, SDs, means, N), not of the file's
        layout."""
        parts = [",".join(self.names), np.round(self.covariance, 12).tobytes(),
                 b"" if self.means is None else np.round(self.means, 12).tobytes(),
                 str(self.n)]
        h = hashlib.sha256()
        for p in parts:
            h.update(p if isinstance(p, bytes) else p.encode())
        return h.hexdigest()

    def describe(self) -> str:
        what = ("correlations without SDs (a correlation-structure fit: intervals approximate)"
                if self.correlation_only else f"{self.kind} matrix"
                + (" from correlations and SDs" if self.kind == "correlation" else ""))
        means = "with means" if self.means is not None else "no means (no mean structure)"
        return (f"Summary statistics {self.source}: {len(self.names)} variables, N = {self.n}, "
                f"{what}, {means}; no respondent rows")

    def frame(self, seed: int = 0) -> pd.DataFrame:
        """``n`` moment-matched rows: sample means and covariance (divisor N - 1) equal to
        the printed ones to rounding error (means 0 when none were printed).

        Example
        -------
        >>> s = parse_summary('n = 10\\nnames = ["a", "b"]\\nkind = "covariance"\\nfull = "4 1\\\\n1 9"')
        >>> s.frame().cov().round(10).values.tolist()
        [[4.0, 1.0], [1.0, 9.0]]
        """
        p = len(self.names)
        z = np.random.default_rng(seed).standard_normal((self.n, p))
        z -= z.mean(axis=0)
        # whiten the draws exactly, then colour them with the printed covariance
        white = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
        x = white @ np.linalg.cholesky(self.covariance).T
        x += 0.0 if self.means is None else self.means
        return pd.DataFrame(x, columns=list(self.names))

    def perturbed(self, decimals: int, rng: np.random.Generator) -> "SummaryData":
        """These statistics with every printed number moved within its rounding (uniform
        within half a unit of the last printed decimal: correlations, SDs, or covariances),
        redrawn until positive definite: one matrix the paper could have rounded from.

        Example
        -------
        >>> s = parse_summary('n = 50\\nnames = ["a", "b"]\\nkind = "correlation"\\nlower = "1 .5 1"')
        >>> p = s.perturbed(2, np.random.default_rng(0))
        >>> bool(abs(p.matrix[0, 1] - 0.5) <= 0.005)
        True
        """
        half = 0.5 * 10.0 ** -decimals
        p = len(self.names)
        for _ in range(1000):
            jitter = np.triu(rng.uniform(-half, half, (p, p)), 1)
            matrix = self.matrix + jitter + jitter.T
            if self.kind == "covariance":
                matrix = matrix + np.diag(rng.uniform(-half, half, p))
            if np.linalg.eigvalsh(_as_correlation(matrix))[0] > 1e-10:
                break
        else:  # pragma: no cover -- a matrix this close to singular was refused on reading
            raise SummaryDataError(f"{self.source}: no positive-definite matrix within the "
                                   "rounding of the printed one")
        sds = None if self.sds is None else self.sds + rng.uniform(-half, half, p)
        return SummaryData(self.names, matrix, self.kind, self.n, self.source, sds,
                           self.means, self.notes, self.text)

    def restricted(self, names) -> "SummaryData":
        """The statistics of the variables ``names`` only (those a model uses)."""
        idx = [self.names.index(v) for v in names]
        pick = (lambda a: None if a is None else a[idx])  # noqa: E731
        return SummaryData(tuple(names), self.matrix[np.ix_(idx, idx)], self.kind, self.n,
                           self.source, pick(self.sds), pick(self.means), self.notes, self.text)


def printed_summary(frame: pd.DataFrame, *, decimals: int = 2, sds: bool = False,
                    header: str = "") -> str:
    """The TOML a reader would type from a paper that printed ``frame``'s correlations (and,
    with ``sds``, its SDs) to ``decimals`` decimals: the inverse of :func:`parse_summary`,
    for simulation studies and worked examples.

    Example
    -------
    >>> f = pd.DataFrame({"a": [1.0, 2, 3, 5], "b": [2.0, 1, 4, 4]})
    >>> parse_summary(printed_summary(f)).matrix.tolist()
    [[1.0, 0.75], [0.75, 1.0]]
    """
    R = frame.corr().to_numpy()
    rows = "\n".join(" ".join(f"{v:.{decimals}f}" for v in R[i, :i + 1]) for i in range(len(R)))
    names = ", ".join(f'"{c}"' for c in frame.columns)
    sd = f"sds = [{', '.join(f'{v:.{decimals}f}' for v in frame.std())}]\n" if sds else ""
    head = f"# {header}\n" if header else ""
    return (f'{head}n = {len(frame)}\nnames = [{names}]\nkind = "correlation"\n{sd}'
            f'lower = """\n{rows}\n"""\n')


def read_summary(path: str | Path, *, nearest_pd: bool = False) -> SummaryData:
    """Read a summary-statistics file (TOML, or lavaan's lower-triangle text; see the
    module docstring). ``nearest_pd`` replaces a matrix that rounding made non-positive-
    definite by the nearest one (Higham 2002), with a note.

    Example
    -------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); f = os.path.join(d, "m.txt")
    >>> _ = open(f, "w").write("# names: a b\\n# n: 40\\n 2.0\\n 0.5 1.0\\n")
    >>> read_summary(f).kind
    'covariance'
    """
    from connective.io import read_user_text

    text = read_user_text(path, "summary-statistics file", SummaryDataError, "utf-8-sig")
    return parse_summary(text, source=str(path), nearest_pd=nearest_pd)


def parse_summary(text: str, *, source: str = "<summary>", nearest_pd: bool = False
                  ) -> SummaryData:
    """Parse summary statistics from TOML text or lavaan's lower-triangle text."""
    if re.search(r"^\s*(n|names|lower|full|kind)\s*=", text, re.M):
        return _from_toml(text, source, nearest_pd)
    return _from_lower_text(text, source, nearest_pd)


def _err(source: str, message: str, hint: str) -> SummaryDataError:
    return SummaryDataError(f"{source}: {message}; {hint}")


def _from_toml(text: str, source: str, nearest_pd: bool) -> SummaryData:
    try:
        content = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _err(source, f"not valid TOML ({exc})", "see `connective validate --help` for "
                   "the layout: n, names, kind, lower or full, optional sds and means") from None
    unknown = sorted(set(content) - _KEYS)
    if unknown:
        raise _err(source, f"unknown key(s) {', '.join(unknown)}",
                   f"expected {', '.join(sorted(_KEYS))}")
    names = content.get("names")
    if not isinstance(names, list) or not names or not all(isinstance(v, str) for v in names):
        raise _err(source, "no 'names' list", 'add names = ["item1", "item2", ...] in the '
                   "matrix's order")
    kind = content.get("kind")
    if kind not in KINDS:
        raise _err(source, f"'kind' is {kind!r}", 'write kind = "correlation" or kind = '
                   '"covariance"')
    if ("lower" in content) == ("full" in content):
        raise _err(source, "give the matrix once", "as lower = '''...''' (the lower triangle "
                   "as printed) or full = '''...''' (the whole matrix)")
    shape = "lower" if "lower" in content else "full"
    matrix = _matrix(str(content[shape]), len(names), shape, source)
    notes: list[str] = []
    n = _sample_size(content.get("n"), source, notes)
    sds = _vector(content, "sds", len(names), source)
    means = _vector(content, "means", len(names), source)
    if sds is not None and kind == "covariance":
        raise _err(source, "'sds' given with a covariance matrix", "SDs belong to a "
                   "correlation matrix; drop them (the covariances carry the variances)")
    if sds is not None and np.any(sds <= 0):
        raise _err(source, "an SD is not positive", "check the sds list")
    return _checked(tuple(names), matrix, kind, n, source, sds, means, notes, nearest_pd, text)


def _from_lower_text(text: str, source: str, nearest_pd: bool) -> SummaryData:
    names: list[str] = []
    n = None
    numbers: list[str] = []
    for line in text.splitlines():
        comment = re.match(r"^\s*#\s*(names|n)\s*:\s*(.*)$", line, re.I)
        if comment:
            if comment.group(1).lower() == "names":
                names = comment.group(2).replace(",", " ").split()
            else:
                n = comment.group(2).strip()
            continue
        numbers += line.split("#", 1)[0].split()
    if not names:
        raise _err(source, "no variable names", "add a line '# names: v1 v2 ...' (in the "
                   "matrix's order) or write the file as TOML with names = [...]")
    if n is None:
        raise _err(source, "no sample size", "add a line '# n: 932' (the number of "
                   "respondents)")
    notes: list[str] = []
    matrix = _matrix(" ".join(numbers), len(names), "lower", source)
    kind = "correlation" if np.allclose(np.diag(matrix), 1.0) else "covariance"
    return _checked(tuple(names), matrix, kind, _sample_size(n, source, notes), source, None,
                    None, notes, nearest_pd, text)


def _sample_size(value, source: str, notes: list[str]) -> int:
    if isinstance(value, str):
        values = [v for v in re.split(r"[,\s]+", value.strip()) if v]
    elif isinstance(value, list):
        values = value
    else:
        values = [value] if value is not None else []
    try:
        ns = [float(v) for v in values]
    except (TypeError, ValueError):
        ns = []
    if not ns or any(not float(v).is_integer() or v < 2 for v in ns):
        raise _err(source, f"the sample size is {value!r}", "give n = the number of "
                   "respondents (a whole number), or a list of pairwise Ns")
    if len(ns) > 1:
        notes.append(f"pairwise sample sizes {int(min(ns))}-{int(max(ns))}: the smallest, "
                     f"{int(min(ns))}, is used")
    return int(min(ns))


def _vector(content: dict, key: str, p: int, source: str) -> np.ndarray | None:
    if key not in content:
        return None
    v = content[key]
    if not isinstance(v, list) or len(v) != p or not all(
            isinstance(x, (int, float)) and math.isfinite(x) for x in v):
        raise _err(source, f"'{key}' must be a list of {p} numbers, one per name",
                   f"it has {len(v) if isinstance(v, list) else 'no list of'} entries")
    return np.asarray(v, dtype=float)


def _matrix(body: str, p: int, shape: str, source: str) -> np.ndarray:
    tokens = body.replace(",", " ").split()
    try:
        values = [float(t.replace("\u2212", "-")) for t in tokens]
    except ValueError:
        bad = next(t for t in tokens if not re.fullmatch(r"[-+\u2212]?[\d.]+(e[-+]?\d+)?", t, re.I))
        raise _err(source, f"the matrix holds {bad!r}, which is not a number",
                   "write the numbers as printed, separated by spaces") from None
    want = p * (p + 1) // 2 if shape == "lower" else p * p
    if len(values) != want:
        raise _err(source, f"the {shape} matrix has {len(values)} numbers; {p} names need "
                   f"{want}", "check that every row is complete and the names match the rows")
    m = np.zeros((p, p))
    if shape == "lower":
        m[np.tril_indices(p)] = values
        m = m + np.tril(m, -1).T
    else:
        m = np.asarray(values).reshape(p, p)
        if not np.allclose(m, m.T, atol=1e-9):
            i, j = np.argwhere(~np.isclose(m, m.T, atol=1e-9))[0]
            raise _err(source, f"the full matrix is not symmetric (row {i + 1}, column "
                       f"{j + 1}: {m[i, j]:g} against {m[j, i]:g})", "check the typing")
    return m


def _checked(names, matrix, kind, n, source, sds, means, notes, nearest_pd, text) -> SummaryData:
    p = len(names)
    if len(set(names)) != p:
        dup = sorted({v for v in names if names.count(v) > 1})
        raise _err(source, f"the name(s) {', '.join(dup)} appear twice", "each variable once")
    if not np.all(np.isfinite(matrix)):
        raise _err(source, "the matrix holds a value that is not finite", "check the typing")
    diag = np.diag(matrix)
    if kind == "correlation":
        off = np.flatnonzero(~np.isclose(diag, 1.0, atol=1e-9))
        if len(off):
            raise _err(source, f"a correlation matrix has {diag[off[0]]:g} on its diagonal "
                       f"({names[off[0]]})", 'a correlation matrix has 1 on its diagonal; '
                       'for variances write kind = "covariance"')
        if np.any(np.abs(matrix) > 1 + 1e-9):
            i, j = np.argwhere(np.abs(matrix) > 1 + 1e-9)[0]
            raise _err(source, f"the correlation of {names[i]} and {names[j]} is "
                       f"{matrix[i, j]:g}", "correlations lie between -1 and 1")
    elif np.any(diag <= 0):
        raise _err(source, f"the variance of {names[int(np.argmin(diag))]} is not positive",
                   "check the diagonal")
    if n <= p:
        raise _err(source, f"N = {n} is not larger than the number of variables ({p})",
                   "a covariance matrix of p variables needs more than p respondents")
    smallest = float(np.linalg.eigvalsh(_as_correlation(matrix))[0])
    if smallest <= 1e-10:
        if not nearest_pd:
            raise _err(source, f"the matrix is not positive definite (smallest eigenvalue of "
                       f"its correlations {smallest:.3g}), as rounding to the printed decimals "
                       "can make it", "check the typing, or use --nearest-pd to fit the "
                       "nearest positive-definite matrix (noted in every output)")
        fixed = nearest_correlation(_as_correlation(matrix))
        sd = np.sqrt(diag)
        change = float(np.max(np.abs(fixed - _as_correlation(matrix))))
        matrix = fixed if kind == "correlation" else fixed * np.outer(sd, sd)
        notes.append(f"the printed matrix was not positive definite (smallest eigenvalue "
                     f"{smallest:.3g}); the nearest positive-definite correlation matrix "
                     f"was used (--nearest-pd; largest change of a correlation {change:.4f})")
    return SummaryData(names, matrix, kind, n, source, sds, means, tuple(notes), text)


def _as_correlation(m: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(m))
    return m / np.outer(d, d)


def nearest_correlation(a: np.ndarray, *, tol: float = 1e-10, max_iter: int = 500,
                        floor: float = 1e-6) -> np.ndarray:
    """The nearest correlation matrix to ``a`` (Higham 2002's alternating projections with
    Dykstra's correction), its eigenvalues at least ``floor``.

    Example
    -------
    >>> a = np.array([[1, .9, .1], [.9, 1, .9], [.1, .9, 1]])
    >>> bool(np.linalg.eigvalsh(nearest_correlation(a))[0] > 0)
    True
    """
    y = a.copy()
    ds = np.zeros_like(a)
    for _ in range(max_iter):
        r = y - ds
        w, v = np.linalg.eigh((r + r.T) / 2)
        x = (v * np.maximum(w, floor)) @ v.T
        ds = x - r
        previous = y
        y = x.copy()
        np.fill_diagonal(y, 1.0)
        if np.max(np.abs(y - previous)) < tol:
            break
    w, v = np.linalg.eigh(y)
    y = (v * np.maximum(w, floor)) @ v.T
    d = np.sqrt(np.diag(y))
    return y / np.outer(d, d)


__all__ = ["SummaryData", "SummaryDataError", "read_summary", "parse_summary", "printed_summary",
           "nearest_correlation"]
