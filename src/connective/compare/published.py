"""The table a paper printed (paths, loadings, indirect effects), read so that it can stand
beside our PLS from the paper's matrix and the posterior (``compare --published TABLE``).

A CSV with one row per estimate: a name column (``name``, ``effect``, ``path``,
``parameter``, ``relationship`` or ``hypothesis``), whose entries may be written
``CI ~ IS`` (lavaan), ``IS -> CI`` (SmartPLS), ``IS -> CI -> CID`` (an indirect effect),
``IS =~ is1`` or ``is1 <- IS`` (a loading), or a ``:=`` name; an estimate column (``est``,
``estimate``, ``beta``, ``coefficient``, ``b`` or SmartPLS' ``Original sample (O)``); and
any of SE (``se``, ``Standard deviation (STDEV)``), t (``t``, ``T statistics
(|O/STDEV|)``), p (``p``, ``P values``; ``< .001`` read as .001) and an interval
(``lower``/``upper``, ``ci.lower``/``ci.upper``, ``2.5%``/``97.5%``). Where no interval is
printed, estimate +- 1.96 SE is used, the SE taken from t (SE = |estimate / t|) when only t
is printed, and the row says which (``interval_from``).

Example
-------
>>> import io
>>> from connective.spec import parse_model
>>> spec = parse_model("CI ~ IS\\nCID ~ CI")
>>> csv = io.StringIO("path,beta,t\\nIS -> CI,0.40,5.0\\nIS -> CI -> CID,0.12,2.4\\n")
>>> t = read_published(csv, spec)
>>> t[["effect", "kind", "est", "lower"]].round(3).values.tolist()
[['IS -> CI', 'direct', 0.4, 0.243], ['IS -> CI -> CID', 'indirect', 0.12, 0.022]]
"""

from __future__ import annotations

import re
import numpy as np
import pandas as pd

from connective.errors import DataError

NAME_COLUMNS = ("name", "effect", "path", "parameter", "relationship", "hypothesis")
COLUMNS = {
    "est": ("est", "estimate", "beta", "coefficient", "b", "original sample (o)",
            "path coefficient"),
    "se": ("se", "standard error", "standard deviation (stdev)", "stdev"),
    "t": ("t", "t value", "t-value", "t statistics (|o/stdev|)", "t statistic"),
    "p": ("p", "p value", "p-value", "p values", "pvalue"),
    "lower": ("lower", "ci.lower", "2.5%", "ci lower", "llci"),
    "upper": ("upper", "ci.upper", "97.5%", "ci upper", "ulci"),
}
Z95 = 1.959963984540054


def _number(value) -> float:
    if isinstance(value, (int, float, np.number)):
        return float(value)
    text = str(value).strip().replace("\u2212", "-")
    text = re.sub(r"^[<>≤]\s*", "", text).rstrip("*")  # "< .001", "0.41***"
    try:
        return float(text) if text else np.nan
    except ValueError:
        return np.nan


def read_published(path, spec) -> pd.DataFrame:
    """The published estimates as rows of our effect names: ``effect, kind, est, lower,
    upper, se, t, p, interval_from`` (kind ``direct``, ``indirect``, ``defined`` or
    ``loading``, named as in comparison.csv). Names that match nothing in ``spec`` are an
    error naming the row."""
    source = getattr(path, "name", str(path))
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DataError(f"published table {path} does not exist") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"published table {source} cannot be read as CSV: {exc}") from None
    lower = {c.strip().lower(): c for c in raw.columns}
    name_col = next((lower[c] for c in NAME_COLUMNS if c in lower), None)
    if name_col is None:
        raise DataError(f"{source}: no column naming the estimates; expected one of "
                        f"{', '.join(NAME_COLUMNS)} (e.g. 'path' with 'IS -> CI')")
    found = {k: next((lower[c] for c in names if c in lower), None) for k, names in COLUMNS.items()}
    if found["est"] is None:
        raise DataError(f"{source}: no estimate column; expected one of "
                        f"{', '.join(COLUMNS['est'])}")
    rows = []
    for i, r in raw.iterrows():
        name = str(r[name_col]).strip()
        if not name:
            continue
        effect, kind = _effect_name(name, spec, source, i + 2)
        values = {k: _number(r[c]) if c else np.nan for k, c in found.items()}
        est, se, t = values["est"], values["se"], values["t"]
        lo, hi = values["lower"], values["upper"]
        origin = "printed"
        if not (np.isfinite(lo) and np.isfinite(hi)):
            if not np.isfinite(se) and np.isfinite(t) and t != 0:
                se, origin = abs(est / t), "estimate +- 1.96 SE, SE = |estimate / t|"
            elif np.isfinite(se):
                origin = "estimate +- 1.96 SE"
            else:
                origin = "none printed"
            lo, hi = est - Z95 * se, est + Z95 * se
        rows.append({"effect": effect, "kind": kind, "est": est, "lower": lo, "upper": hi,
                     "se": se, "t": t, "p": values["p"], "interval_from": origin,
                     "printed_as": name})
    if not rows:
        raise DataError(f"{source}: no rows with a name")
    return pd.DataFrame(rows)


def _effect_name(name: str, spec, source: str, line: int) -> tuple[str, str]:
    """Our effect name and kind of a printed name."""
    text = re.sub(r"\s+", " ", name.replace("→", "->").replace("←", "<-")).strip()
    if text in spec.defined:
        return text, "defined"
    parts = None
    m = re.fullmatch(r"(\S+) ?~ ?(\S+)", text)
    if m and "=~" not in text and "~~" not in text:
        parts = [m.group(2), m.group(1)]
    elif "->" in text:
        parts = [p.strip() for p in text.split("->")]
    loading = re.fullmatch(r"(\S+) ?=~ ?(\S+)", text) or re.fullmatch(r"(\S+) ?<- ?(\S+)", text)
    if loading:
        factor, item = loading.groups() if "=~" in text else loading.groups()[::-1]
        if item in spec.indicators.get(factor, ()):
            return f"{factor}=~{item}", "loading"
        raise DataError(f"{source}, line {line}: {name!r} is no loading of the model; "
                        f"{factor!r} is measured by {', '.join(spec.indicators.get(factor, ())) or 'nothing'}")
    if parts and all(p in spec.structural for p in parts):
        arrows = {(s, t) for s, t, _ in spec.arrows}
        if all(pair in arrows for pair in zip(parts[:-1], parts[1:])):
            return " -> ".join(parts), "direct" if len(parts) == 2 else "indirect"
        missing = [f"{a} -> {b}" for a, b in zip(parts[:-1], parts[1:]) if (a, b) not in arrows]
        raise DataError(f"{source}, line {line}: {name!r} runs along {', '.join(missing)}, "
                        "which the model does not have; check the model or the name")
    unknown = [p for p in (parts or [text]) if p not in spec.structural]
    raise DataError(f"{source}, line {line}: cannot read {name!r} as an estimate of the "
                    f"model ({', '.join(unknown)} not among its constructs "
                    f"{', '.join(spec.structural)}); write paths as 'IS -> CI' or 'CI ~ IS', "
                    "indirect effects as 'IS -> CI -> CID', loadings as 'IS =~ is1'")


def add_published(table: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """``table`` (comparison.csv's rows) with the published estimates beside them:
    ``published_est/lower/upper``, ``same_verdict_published`` (the published interval and
    the posterior's reach the same verdict), and ``diff_PLS_published`` (our PLS from the
    paper's matrix minus the paper's PLS: a large one means its model or data differ)."""
    from connective.compare.bayes_vs_pls import interval_sign

    out = table.copy()
    pub = published.drop_duplicates("effect").set_index("effect")
    missing = [e for e in pub.index if e not in set(out["effect"])]
    if missing:
        raise DataError(f"the published table has {', '.join(missing)}, which the comparison "
                        "does not (loadings appear only in a measurement model's comparison)")
    for col in ("est", "lower", "upper"):
        out[f"published_{col}"] = out["effect"].map(pub[col])
    out["published_interval"] = out["effect"].map(pub["interval_from"])
    has = out["published_est"].notna()
    same = interval_sign(out["bayes_lower"], out["bayes_upper"]) == interval_sign(
        out["published_lower"], out["published_upper"])
    out["same_verdict_published"] = np.where(has, same, None)
    if "PLS_est" in out:
        out["diff_PLS_published"] = out["PLS_est"] - out["published_est"]
    return out


def published_sentences(table: pd.DataFrame) -> list[str]:
    """One sentence per published indirect effect: the paper's estimate and interval, ours
    from its matrix, and the posterior, and whether they agree."""
    out = []
    rows = table[table["published_est"].notna() & (table["kind"] == "indirect")]
    for r in rows.itertuples():
        ours = (f"; our PLS from its matrix {r.PLS_est:.2f} [{r.PLS_lower:.2f}, "
                f"{r.PLS_upper:.2f}]" if hasattr(r, "PLS_est") else "")
        verdict = "the same verdict" if r.same_verdict_published else "a different verdict"
        out.append(f"{r.effect}: published {r.published_est:.2f} [{r.published_lower:.2f}, "
                   f"{r.published_upper:.2f}]{ours}; the posterior {r.bayes_est:.2f} "
                   f"[{r.bayes_lower:.2f}, {r.bayes_upper:.2f}] reaches {verdict} "
                   "(above, below or containing 0).")
    return out

