"""Prior sets: a user's ``--priors FILE.toml`` and the SIMCA meta-analytic set
(``--priors simca``), merged over the defaults of :mod:`connective.bayes.priors`.

A priors file maps parameter names as lavaan writes them (``CI~IS``, ``IS=~is1``,
``OCA~~OCA``) or labels (``b_cid``) to priors in the model-file language, raw or
standardised (``[std]``, :mod:`connective.bayes.std_priors`)::

    # priors.toml
    [priors]
    "CID~CI" = "normal(0.3, 0.1)[std]"
    c_eff = "normal(0, 0.5)"

(the ``[priors]`` table may be left out). The file wins over the model file's ``prior()``
modifiers, which win over the defaults; a key that names no free parameter or label, and a
prior that does not parse or is not finite, is an error before anything is sampled.

The SIMCA set converts meta-analytic correlations among identity, injustice, efficacy and
action (``connective/datasets/simca_meta.toml``, each number with its source) through the
model (meta-analytic SEM, stage two on the pooled matrix): for every path t ~ s between two
constructs that carry roles, the standardised partial path of s among the role-carrying
predictors of t, ``R_PP^-1 r_Pt``. Its prior SD is the SD of that path over the predictive
distribution of the correlations (each ``r ~ normal(r, sqrt(se^2 + tau^2))``, draws with a
non-positive-definite matrix left out), so it holds both the pooled estimate's uncertainty
and the between-study heterogeneity. Paths with a predictor without a role keep their
defaults; the partial path controls for the role-carrying predictors only.

Roles map SIMCA's constructs to the user's names: ``--roles identity=CID,efficacy=EFF,
injustice=INJ,action=OCA`` or a ``# roles: ...`` line in the model file.

Example
-------
>>> from connective.spec import parse_model
>>> spec = parse_model("# roles: identity=CID, action=OCA\\nCID =~ a + b + c\\n"
...                    "OCA =~ d + e + f\\nOCA ~ w*CID")
>>> model_roles(spec)
{'identity': 'CID', 'action': 'OCA'}
>>> check_prior_keys({"w": "normal(0.3, 0.1)[std]"}, spec, where="p.toml")
{'w': 'normal(0.3, 0.1)[std]'}
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from connective.bayes.priors import parse_prior
from connective.errors import ConnectiveError

ROLES = ("identity", "injustice", "efficacy", "action")
SIMCA_TABLE = Path(__file__).resolve().parent.parent / "datasets" / "simca_meta.toml"
_ROLES_LINE = re.compile(r"^\s*#\s*roles\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)


@dataclass
class PriorSet:
    """The priors a fit uses beyond the defaults: ``priors`` (name or label -> text), where
    each came from (``origin``), and notes (the SIMCA conversion table, missing numbers)."""

    priors: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    name: str = "default"
    table: pd.DataFrame | None = None  # SIMCA: one row per converted path


def check_prior_keys(priors: dict, spec, *, where: str) -> dict[str, str]:
    """Check a mapping of parameter names or labels to prior texts against ``spec``: every
    key a free parameter or a label, every value a prior that parses with finite arguments,
    ``[std]`` only on loadings and regressions. Returns it as ``{str: str}``.

    >>> from connective.spec import parse_model
    >>> check_prior_keys({"Y~Z": "normal(0, 1)"}, parse_model("Y ~ X"), where="p.toml")
    Traceback (most recent call last):
    ...
    connective.errors.ConnectiveError: p.toml: key 'Y~Z' is neither a free parameter of <model> nor a label; its parameters are Y~X, Y~~Y (labels: none). Write names as lavaan does (CI~IS, IS=~is1, OCA~~OCA) and fix the key
    """
    table = spec.partable[spec.partable["free"] > 0] if "free" in spec.partable else \
        spec.partable
    names = list(dict.fromkeys(table["name"]))
    labels = sorted({str(x) for x in table["label"] if str(x)})
    ops = {}
    for row in table.itertuples():
        ops.setdefault(row.name, row)
        if str(row.label):
            ops.setdefault(str(row.label), row)
    out = {}
    for key, text in priors.items():
        key = str(key)
        if key not in ops:
            shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
            raise ConnectiveError(f"{where}: key {key!r} is neither a free parameter of "
                                  f"{spec.source} nor a label; its parameters are {shown} "
                                  f"(labels: {', '.join(labels) or 'none'}). Write names as "
                                  "lavaan does (CI~IS, IS=~is1, OCA~~OCA) and fix the key")
        if not isinstance(text, str):
            raise ConnectiveError(f"{where}: the prior of {key!r} must be a text in quotes, "
                                  f"e.g. \"normal(0, 0.5)\", not {text!r}")
        prior = parse_prior(text, where=f"{where}: key {key!r}")
        row = ops[key]
        if prior.on == "std" and row.op not in ("=~", "~"):
            kind = "variance" if row.op == "~~" and row.lhs == row.rhs else "parameter"
            what = (f"the standardised (residual) variance of {row.lhs} is 1 - R² of the paths "
                    f"into it and cannot take a prior of its own; put [std] priors on those "
                    f"paths instead" if kind == "variance" else
                    "a [std] prior is for loadings (=~) and regressions (~)")
            raise ConnectiveError(f"{where}: key {key!r}: {what}; or drop [std]")
        out[key] = text
    return out


def read_prior_file(path: str | Path, spec) -> dict[str, str]:
    """The priors of a TOML file (see the module docstring), checked against ``spec``."""
    path = Path(path)
    if not path.is_file():
        raise ConnectiveError(f"--priors {path}: no such file; give a TOML file of priors or "
                              "--priors simca")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConnectiveError(f"{path}: not a TOML file ({exc}); write one line per prior, "
                              "e.g. \"CID~CI\" = \"normal(0.3, 0.1)[std]\"") from None
    priors = raw.get("priors", raw) if isinstance(raw.get("priors"), dict) else raw
    if not priors:
        raise ConnectiveError(f"{path}: no priors in the file; write e.g. "
                              "\"CID~CI\" = \"normal(0.3, 0.1)[std]\"")
    return check_prior_keys(priors, spec, where=str(path))


def parse_roles(text: str, spec, *, where: str = "--roles") -> dict[str, str]:
    """``identity=CID,efficacy=EFF`` -> ``{"identity": "CID", ...}``, checked: SIMCA's roles
    only, each a construct of the model.

    >>> from connective.spec import parse_model
    >>> parse_roles("identity=F", parse_model("F =~ a + b + c"))
    {'identity': 'F'}
    """
    roles = {}
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        role, _, name = (x.strip() for x in part.partition("="))
        if role.lower() not in ROLES or not name:
            raise ConnectiveError(f"{where}: cannot read {part!r}; write role=CONSTRUCT with "
                                  f"the roles {', '.join(ROLES)}, e.g. identity=CID,action=OCA")
        structural = set(spec.latent) | set(spec.structural_items)
        if name not in structural:
            raise ConnectiveError(f"{where}: {name!r} (the {role} role) is not a construct of "
                                  f"{spec.source}; its constructs are "
                                  f"{', '.join(spec.latent)}")
        roles[role.lower()] = name
    return roles


def model_roles(spec) -> dict[str, str]:
    """The roles of the model file's ``# roles:`` line ({} without one)."""
    match = _ROLES_LINE.search(spec.text or "")
    return parse_roles(match.group(1), spec, where=f"{spec.source}: # roles") if match else {}


# -- the SIMCA set ---------------------------------------------------------------------------

@dataclass
class MetaTable:
    """Pooled correlations among roles: ``r``, ``se``, ``tau`` (NaN when not found) and each
    pair's source text."""

    r: dict[frozenset, float]
    se: dict[frozenset, float]
    tau: dict[frozenset, float]
    source: dict[frozenset, str]
    path: Path


def read_meta_table(path: str | Path = SIMCA_TABLE) -> MetaTable:
    """Read the correlations file (``datasets/simca_meta.toml`` or a user's copy)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConnectiveError(f"--simca-table {path}: cannot read it ({exc}); give a copy of "
                              f"{SIMCA_TABLE.name} with the numbers filled in") from None
    sources = raw.get("sources", {})
    out = MetaTable({}, {}, {}, {}, path)

    def number(x):
        return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else math.nan

    for i, row in enumerate(raw.get("correlation", [])):
        roles = row.get("roles", [])
        if len(roles) != 2 or any(r not in ROLES for r in roles):
            raise ConnectiveError(f"{path}: correlation {i + 1} has roles {roles!r}; expected "
                                  f"two of {', '.join(ROLES)}")
        key = frozenset(roles)
        out.r[key], out.se[key], out.tau[key] = (number(row.get(k)) for k in ("r", "se", "tau"))
        cite = sources.get(row.get("source", ""), {}).get("citation", row.get("source", "?"))
        out.source[key] = f"{cite.split('(')[0].strip()} ({row.get('source', '?')}), " \
                          f"{row.get('where', '?')}; verified: {row.get('verified', False)}"
    return out


def simca_priors(spec, roles: dict[str, str], table: MetaTable | None = None, *,
                 draws: int = 4000, seed: int = 2008) -> PriorSet:
    """The SIMCA prior set of ``spec`` (module docstring): ``[std]`` normal priors on the
    paths between role-carrying constructs. Stops, naming the numbers, when the table lacks
    one the model needs."""
    table = table or read_meta_table()
    if not roles:
        raise ConnectiveError("--priors simca needs the roles of the model's constructs: "
                              "--roles identity=CID,efficacy=EFF,injustice=INJ,action=OCA (or "
                              "a '# roles: ...' line in the model file)")
    by_name = {v: k for k, v in roles.items()}
    rows = spec.partable[(spec.partable["op"] == "~")]
    targets: dict[str, list] = {}
    for r in rows.itertuples():
        if r.lhs in by_name and r.rhs in by_name:
            targets.setdefault(r.lhs, []).append(r)
    if not targets:
        raise ConnectiveError(f"{spec.source}: no path runs between two constructs with roles "
                              f"({', '.join(f'{k}={v}' for k, v in roles.items())}); the SIMCA "
                              "set has nothing to set")
    needed = set()
    for t, preds in targets.items():
        names = [by_name[t]] + [by_name[p.rhs] for p in preds]
        needed |= {frozenset((a, b)) for i, a in enumerate(names) for b in names[i + 1:]}
    missing = sorted(("-".join(sorted(k)), what) for k in needed
                     for what, d in (("r", table.r), ("se", table.se), ("tau", table.tau))
                     if math.isnan(d.get(k, math.nan)))
    if missing:
        listed = ", ".join(f"{w} of {pair}" for pair, w in missing)
        raise ConnectiveError(f"{table.path}: the SIMCA set lacks numbers this model needs "
                              f"({listed}): they could not be found in the papers and are not "
                              f"guessed. Copy {table.path}, fill them in from the papers "
                              "(with their table and page), and pass the copy with "
                              "--simca-table FILE")
    rng = np.random.default_rng(seed)
    out = PriorSet(name="simca")
    records = []
    for t, preds in targets.items():
        vars_ = [by_name[p.rhs] for p in preds] + [by_name[t]]
        k = len(vars_)
        mean = np.eye(k)
        spread = np.zeros((k, k))
        for i in range(k):
            for j in range(i + 1, k):
                key = frozenset((vars_[i], vars_[j]))
                mean[i, j] = mean[j, i] = table.r[key]
                spread[i, j] = spread[j, i] = math.hypot(table.se[key], table.tau[key])
        beta = np.linalg.solve(mean[:-1, :-1], mean[:-1, -1])
        noise = rng.normal(size=(draws, k, k))
        noise = np.triu(noise, 1)
        noise = noise + np.swapaxes(noise, 1, 2)
        sample = np.clip(mean + noise * spread, -0.999, 0.999)
        sample[:, np.arange(k), np.arange(k)] = 1.0
        ok = np.linalg.eigvalsh(sample)[:, 0] > 0
        betas = np.linalg.solve(sample[ok, :-1, :-1], sample[ok, :-1, -1][..., None])[..., 0]
        sds = betas.std(axis=0)
        for p, b, s in zip(preds, beta, sds):
            name = f"{p.lhs}~{p.rhs}"
            text = f"normal({b:.3f}, {s:.3f})[std]"
            out.priors[name] = text
            out.origin[name] = "simca"
            records.append({"name": name, "roles": f"{by_name[p.lhs]} ~ {by_name[p.rhs]}",
                            "controls": ", ".join(v for v in vars_[:-1] if v != by_name[p.rhs]),
                            "mean": b, "sd": s, "kept_draws": int(ok.sum()),
                            "prior": text,
                            "source": table.source.get(frozenset((by_name[p.lhs],
                                                                  by_name[p.rhs])), "")})
    out.table = pd.DataFrame(records)
    return out


def resolve_prior_set(choice: str | None, spec, *, roles: str | None = None,
                      simca_table: str | None = None) -> PriorSet:
    """What ``--priors`` names: nothing (the defaults and the model file's priors), a TOML
    file, or ``simca`` (with ``--roles`` or the model's ``# roles:`` line)."""
    if not choice or choice == "default":
        if simca_table:
            raise ConnectiveError("--simca-table works with --priors simca")
        return PriorSet()
    if choice == "simca":
        mapping = parse_roles(roles, spec) if roles else model_roles(spec)
        table = read_meta_table(simca_table) if simca_table else None
        return simca_priors(spec, mapping, table)
    if simca_table:
        raise ConnectiveError("--simca-table works with --priors simca")
    priors = read_prior_file(choice, spec)
    return PriorSet(priors=priors, origin={k: str(choice) for k in priors}, name=str(choice))


def prior_table(bm, prior_set: PriorSet | None = None) -> pd.DataFrame:
    """Every prior a built model uses (``bm.priors``), with its scale and where it came from
    (default, model file, a priors file, simca): the run folder's ``priors.csv``."""
    spec = bm.spec
    written = {r.name: r.prior for r in spec.partable.itertuples() if str(r.prior)}
    labels = {r.name: str(r.label) for r in spec.partable.itertuples() if str(r.label)}
    origin = dict(prior_set.origin) if prior_set else {}
    rows = []
    for name, text in bm.priors.items():
        source = origin.get(name) or origin.get(labels.get(name, "\0"))
        if source is None:
            source = "model file" if name in written else "default"
        scale = "standardised" if text.endswith("[std]") else "raw"
        rows.append({"name": name, "prior": text, "scale": scale, "origin": source})
    return pd.DataFrame(rows, columns=["name", "prior", "scale", "origin"])
