"""Real surveys' quirks, found before anything is estimated: likely missing-value codes,
reverse-keyed items, straight-lining, copied columns and collinear items.

Each check reads the cleaned copy of the data and adds findings to a
:class:`~connective.data.validate.DataReport`; none changes the data.

Example
-------
>>> import pandas as pd
>>> likely_codes(pd.Series([1, 2, 3, 4, 5, 6, 7, -99, 2, 3]))
[-99.0]
>>> likely_codes(pd.Series([1, 2, 3, 4, 5]))
[]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_SHOW = 8


def likely_codes(values: pd.Series) -> list[float]:
    """Values at either end that stand further from the next answer than the other answers
    spread (-99, -9, 99 or 999 beside answers 1-7): most likely missing-value codes."""
    u = np.unique(values.dropna().to_numpy(dtype=float))
    codes = []
    while len(u) >= 3:
        low, high = u[1] - u[0], u[-1] - u[-2]
        cand, rest, gap = (u[-1], u[:-1], high) if high >= low else (u[0], u[1:], low)
        if gap <= max(rest[-1] - rest[0], 1.0):
            break
        codes.append(float(cand))
        u = rest
    return codes


def _conventional(code: float, rest_min: float) -> bool:
    """-9, -99, 9, 99, 999, 98, ...: written the way surveys write 'no answer'."""
    if not float(code).is_integer():
        return False
    digits = str(int(abs(code)))
    return (code < 0 <= rest_min) or (abs(code) >= 9 and set(digits) <= {"7", "8", "9"})


def masked(frame: pd.DataFrame, codes: dict[str, list[float]]) -> pd.DataFrame:
    """``frame`` with the likely codes found by :func:`check_codes` as missing."""
    if not codes:
        return frame
    out = frame.copy()
    for col, values in codes.items():
        out[col] = out[col].mask(out[col].isin(values))
    return out


def check_codes(clean: pd.DataFrame, columns: list[str], report) -> dict[str, list[float]]:
    """Flag likely missing-value codes in ``columns`` (those without a declared range): an
    error when written as surveys write codes (negative beside positive answers, 9s), else a
    warning. Returns the codes found per column, to be masked in the checks that follow."""
    by_column: dict[str, list[float]] = {}
    found: dict[float, list[tuple[str, int, float, float]]] = {}
    for col in columns:
        values = clean[col]
        codes = likely_codes(values)
        rest = values[~values.isin(codes)].dropna()
        for code in codes:
            found.setdefault(code, []).append((col, int((values == code).sum()), rest.min(),
                                               rest.max()))
        if codes:
            by_column[col] = codes
    if not found:
        return by_column
    declare = ",".join(f"{c:g}" for c in sorted(found))
    for code, hits in sorted(found.items()):
        cols = [h[0] for h in hits]
        lo, hi = min(h[2] for h in hits), max(h[3] for h in hits)
        cells = sum(h[1] for h in hits)
        level = "error" if _conventional(code, lo) else "warning"
        shown = ", ".join(cols[:_SHOW]) + (f" and {len(cols) - _SHOW} more" if len(cols) > _SHOW
                                           else "")
        report.add(level, "likely_code",
                   f"the value {code:g} stands far from the other answers of {shown} ({cells} "
                   f"cell{'s' * (cells > 1)}; the other answers run {lo:g}-{hi:g}): most likely "
                   f"a missing-value code; declare it with --missing-codes {declare} (if it is "
                   "a real answer, declare the items' range with --likert MIN-MAX)", cols[0])
    return by_column


def item_rest(block: pd.DataFrame) -> pd.Series:
    """Correlation of each item with the sum of the block's other items (pairwise answers).

    >>> b = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [1, 3, 2, 4, 5], "c": [5, 4, 3, 2, 1]})
    >>> item_rest(b).round(2).tolist()
    [0.3, 0.1, -0.3]
    """
    z = (block - block.mean()) / block.std(ddof=1)
    total = z.sum(axis=1, min_count=1)
    return pd.Series({c: z[c].corr(total - z[c].fillna(0)) for c in block.columns})


def standardized_alpha(block: pd.DataFrame) -> float:
    """Cronbach's alpha of the standardised items (as PLS reports it)."""
    k = block.shape[1]
    R = block.corr().to_numpy()
    return float(k / (k - 1) * (1 - k / R.sum()))


def check_reverse_keyed(clean: pd.DataFrame, blocks: dict[str, list[str]],
                        scales: dict, report) -> None:
    """Name each item that correlates negatively with the rest of its reflective block, the
    most negative first (after flipping it, the block is checked again), with the --reverse
    flag to use."""
    for construct, items in blocks.items():
        if len(items) < 2:
            continue
        block = clean[items].astype(float)
        alpha = standardized_alpha(block)
        flagged: dict[str, float] = {}
        for _ in range(max(1, len(items) // 2)):
            r = item_rest(block) if len(items) > 2 else pd.Series(
                {items[1]: block[items[0]].corr(block[items[1]])})
            worst = r.idxmin()
            if not r[worst] < 0:
                break
            flagged[worst] = float(r[worst])
            block[worst] = -block[worst]
        if not flagged:
            continue
        need = [c for c in flagged if c not in scales]
        ranges = {f"{clean[c].min():g}-{clean[c].max():g}" for c in need}
        likert = (f" --likert {ranges.pop()}" if len(ranges) == 1
                  else " and the items' ranges with --likert" if ranges else "")
        listed = ", ".join(f"{c} (item-rest r = {r:.2f})" for c, r in flagged.items())
        report.add("warning", "reverse_keyed",
                   f"block {construct}: {listed} correlate{'s' * (len(flagged) == 1)} "
                   f"negatively with the rest of the block (its alpha as coded: {alpha:.2f}): "
                   f"reverse-keyed, most likely; declare with --reverse "
                   f"{','.join(flagged)}{likert}", next(iter(flagged)))


def check_straight_lining(clean: pd.DataFrame, blocks: dict[str, list[str]], report) -> None:
    """Count respondents who gave one answer to every item of a block (3 items or more), and
    those who gave one answer to every item of the model."""
    from connective.data.validate import _list_rows, _rows

    def same(items: list[str]) -> pd.Series:
        sub = clean[items]
        return sub.notna().all(axis=1) & (sub.nunique(axis=1) == 1)

    counts = []
    for construct, items in blocks.items():
        if len(items) >= 3:
            k = int(same(items).sum())
            if k:
                counts.append(f"{construct} {k} ({k / len(clean):.0%})")
    if counts:
        report.add("note", "straight_lining", "respondents giving the same answer to every "
                   "item of a block (straight-lining): " + ", ".join(counts))
    every = [c for items in blocks.values() for c in items]
    if len(blocks) >= 2 and len(every) >= 6:
        # a missing cell or two does not hide a straight-liner: most items, one answer
        sub = clean[every]
        mask = (sub.notna().sum(axis=1) >= 0.8 * len(every)) & (sub.nunique(axis=1) == 1)
        if mask.any():
            rows = _rows(mask)
            report.add("warning", "straight_lining_all",
                       f"{len(rows)} respondent{'s' * (len(rows) > 1)} ({len(rows) / len(clean):.1%})"
                       f" gave the same answer to all {len(every)} items (or all they answered, "
                       f"at least 80%; {_list_rows(rows)}): "
                       "straight-lining, not opinions; consider dropping those rows from the "
                       "data (a copy: the file is never changed)", "", rows)


def check_copies(clean: pd.DataFrame, columns: list[str], report) -> None:
    """Identical columns, and items that are exact linear combinations of others."""
    seen: dict = {}
    copies = []
    for col in columns:
        key = tuple(clean[col].fillna(np.inf).to_numpy().tolist())
        if key in seen:
            copies.append((seen[key], col))
        else:
            seen[key] = col
    for first, second in copies:
        report.add("error", "identical_columns", f"columns {first} and {second} are identical "
                   "in every row (a copied column); their covariance matrix is singular: drop "
                   "one of them from the model or fix the data", second)
    complete = clean[columns].dropna().to_numpy(dtype=float)
    if copies or len(columns) < 2 or len(complete) <= len(columns):
        return  # too few complete rows: the size check reports that
    problem = covariance_problem(complete, columns)
    if problem:
        report.add("error", "collinear", problem)


def covariance_problem(Y: np.ndarray, variables: list[str]) -> str | None:
    """Why the sample covariance of ``Y`` (NaN = missing) cannot be used, or None."""
    complete = ~np.isnan(Y).any(axis=1)
    n, p = int(complete.sum()), Y.shape[1]
    if complete.all() and n <= p:
        return (f"the data have {n} rows but the model has {p} observed variables; the "
                "sample covariance matrix cannot be positive definite: collect more "
                "data or use fewer items")
    cov = pd.DataFrame(Y).cov().to_numpy()  # pairwise (complete rows if all complete)
    if np.isnan(cov).any():
        i, j = np.argwhere(np.isnan(cov))[0]
        return (f"the variables {variables[i]} and {variables[j]} are never answered "
                "together, so their covariance cannot be estimated")
    w, V = np.linalg.eigh(cov)
    if w[0] <= 1e-10 * max(w[-1], 1e-300):
        vec = V[:, 0]
        involved = [variables[k] for k in np.argsort(-np.abs(vec))[:4] if abs(vec[k]) > 0.1]
        corr = pd.DataFrame(Y, columns=variables).corr().to_numpy().copy()
        np.fill_diagonal(corr, 0)
        i, j = np.unravel_index(np.nanargmax(np.abs(corr)), corr.shape)
        return ("the sample covariance matrix of the model's variables is not positive definite "
                f"(smallest eigenvalue {w[0]:.3g}): some variables are exact linear combinations "
                f"of others (involved: {', '.join(involved)}; the largest correlation is "
                f"{corr[i, j]:.3f} between {variables[i]} and {variables[j]}). Drop a duplicated "
                "or summed item, or remove the item that is a copy of another")
    return None
