"""Simulating survey data from a model and a standardised population.

Latent scores are drawn from the structural model, indicators from the measurement model;
indicators may be cut into k-point Likert answers, answers may go missing completely at
random, and respondents may sit in groups whose paths vary around the population values
(with an optional group-level predictor shifting some paths). Everything is seeded; the seed
actually used is recorded in the result, which always says it is synthetic.

Example
-------
>>> from connective.spec import parse_model
>>> spec = parse_model("F =~ x1 + x2 + x3\\nG =~ y1 + y2 + y3\\nG ~ F")
>>> sim = simulate(spec, 500, seed=1, likert=5)
>>> sim.frame.shape, sorted(set(sim.frame["x1"]))
((500, 7), [1, 2, 3, 4, 5])
>>> sim.population["synthetic"]
True
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import tomli_w

from connective import __version__
from connective.data.population import (DEFAULTS, default_thresholds, population_products,
                                        resolve_keys,
                                        standardized_population)
from connective.data.readers import population_path
from connective.errors import SimulationError
from connective.io import atomic_path, atomic_write_csv
from connective.moments import fill, structural_covariance
from connective.provenance import data_fingerprint
from connective.spec import ModelSpec

_SECTIONS = {"defaults", "values", "likert", "missing", "groups"}


@dataclass
class SimulatedSurvey:
    """Simulated data and the population that generated it (the truth travels along)."""

    frame: pd.DataFrame
    population: dict

    def write(self, path: str | Path) -> tuple[Path, Path]:
        """Write the data (CSV) and ``<stem>.population.toml`` beside it, atomically.

        Returns the two paths. The population file marks the data as synthetic.
        """
        path = Path(path)
        if path.suffix.lower() != ".csv":
            raise SimulationError(f"{path}: simulated data are written as CSV; name the output "
                                  "file ending in .csv")
        pop_path = population_path(path)
        atomic_write_csv(path, self.frame)
        record = {**self.population, "data_fingerprint": data_fingerprint(self.frame),
                  "data_file": path.name}
        with atomic_path(pop_path) as tmp:
            tmp.write_text(_population_header(record) + tomli_w.dumps(record), encoding="utf-8")
        return path, pop_path


def _population_header(record: dict) -> str:
    return ("# SYNTHETIC DATA: the population values that generated "
            f"{record['data_file']}\n# (standardised metric; written by connective "
            f"{record['connective_version']}; simulate again with the same model, n and seed "
            "to reproduce the data)\n\n")


def read_values_file(path: str | Path, *, extra_sections: tuple[str, ...] = ()) -> dict:
    """Read a population values TOML file (see :mod:`connective.data.population`);
    ``extra_sections``: those of a two-level model (:mod:`connective.data.simulate_levels`)."""
    path = Path(path)
    try:
        content = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SimulationError(f"values file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SimulationError(f"values file {path} is not valid TOML: {exc}") from None
    unknown = set(content) - _SECTIONS - set(extra_sections) - {
        "synthetic", "model", "model_sha256", "n", "seed", "connective_version",
        "data_fingerprint", "data_file", "group_paths"}
    if unknown:
        raise SimulationError(f"values file {path}: unknown section(s) {', '.join(sorted(unknown))}"
                              f"; expected {', '.join(sorted({*_SECTIONS, *extra_sections}))}")
    return content


def simulate(spec: ModelSpec, n: int, *, values: Mapping | None = None, seed: int | None = None,
             likert: int | None = None, missing: float | None = None,
             source: str = "the population values") -> SimulatedSurvey:
    """Simulate ``n`` respondents from ``spec`` (see the module doc).

    ``values`` is the content of a values file (sections ``defaults``, ``values``, ``likert``,
    ``missing``, ``groups``) or ``None`` for the documented defaults; ``likert`` and
    ``missing`` override the file's settings.
    """
    values = dict(values or {})
    if n < 1:
        raise SimulationError(f"the number of respondents must be positive, not {n}")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    rng = np.random.default_rng(seed)
    defaults = {**DEFAULTS, **values.get("defaults", {})}
    pop = standardized_population(spec, values.get("values", {}), defaults=defaults,
                                  source=source)
    likert_cfg = dict(values.get("likert", {}))
    if likert is not None:
        likert_cfg = {"categories": likert}
    rate = float(missing if missing is not None else values.get("missing", {}).get("rate", 0.0))
    if not 0 <= rate < 1:
        raise SimulationError(f"the missing-data rate must be in [0, 1), not {rate}")

    groups = _group_design(spec, values.get("groups"), n, pop, rng, source)
    theta = fill(spec, "theta", pop).to_numpy()
    lam = fill(spec, "lambda", pop).to_numpy()
    psi = fill(spec, "psi", pop).to_numpy()
    n_eta = len(spec.structural)
    zeta = rng.multivariate_normal(np.zeros(n_eta), psi, size=n, method="cholesky")
    eta = np.empty_like(zeta)
    products = population_products(spec, pop)
    for g, rows in groups["rows"].items():
        if products:
            eta[rows] = _with_products(zeta[rows], groups["beta"][g], products, spec, pop)
        else:
            inv = np.linalg.inv(np.eye(n_eta) - groups["beta"][g])
            eta[rows] = zeta[rows] @ inv.T
    x = eta @ lam.T
    # measurement error of the indicators (observed structural variables have none)
    items = [i for i, v in enumerate(spec.observed) if v not in spec.structural]
    if items:
        block = theta[np.ix_(items, items)]
        x[:, items] += rng.multivariate_normal(np.zeros(len(items)), block, size=n,
                                               method="cholesky")
    frame = pd.DataFrame(x, columns=list(spec.observed))

    record: dict = {"synthetic": True, "model": Path(spec.source).name,
                    "model_sha256": hashlib.sha256(spec.text.encode()).hexdigest(),
                    "n": n, "seed": seed,
                    "connective_version": __version__,
                    "defaults": defaults, "values": {k: round(v, 6) for k, v in pop.items()}}
    # answers: the indicators, items in regressions (x3 ~ sex) included
    items = [v for v in spec.observed if v not in spec.structural or v in spec.structural_items]
    if likert_cfg:
        k = int(likert_cfg.get("categories", 0))
        cuts = list(likert_cfg.get("thresholds", default_thresholds(k)))
        if len(cuts) != k - 1 or any(a >= b for a, b in zip(cuts, cuts[1:])):
            raise SimulationError(f"{source}: a {k}-point scale needs {k - 1} increasing "
                                  f"thresholds, got {cuts}")
        for item in items:
            frame[item] = np.searchsorted(cuts, frame[item].to_numpy()) + 1
        record["likert"] = {"categories": k, "thresholds": cuts}
    if rate > 0:
        holes = rng.random((n, len(items))) < rate
        frame[items] = frame[items].astype(float).mask(holes)
        record["missing"] = {"rate": rate, "mechanism": "MCAR"}
    if groups["column"]:
        frame.insert(0, groups["column"], groups["labels"])
        if groups["level_column"]:
            frame.insert(1, groups["level_column"], groups["level_labels"])
        record["groups"] = groups["record"]
        record["group_paths"] = groups["paths"]
    frame.insert(0, "id", np.arange(1, n + 1))
    return SimulatedSurvey(frame=frame, population=record)


def _with_products(zeta: np.ndarray, beta: np.ndarray, products: list, spec: ModelSpec,
                   pop: dict) -> np.ndarray:
    """Factor scores in topological order with the centred latent products in their
    outcomes' equations (see :mod:`connective.data.population`)."""
    cov = structural_covariance(fill(spec, "beta", pop), fill(spec, "psi", pop),
                                products).to_numpy()
    eta = np.zeros_like(zeta)
    for j in range(zeta.shape[1]):
        eta[:, j] = zeta[:, j] + eta @ beta[j]
        for outcome, a, b, g in products:
            if outcome == j:
                eta[:, j] += g * (eta[:, a] * eta[:, b] - cov[a, b])
    return eta


def _group_design(spec: ModelSpec, cfg: Mapping | None, n: int, pop: dict,
                  rng: np.random.Generator, source: str) -> dict:
    """Group memberships and group-specific B matrices (one group when ``cfg`` is None)."""
    beta = fill(spec, "beta", pop).to_numpy()
    if not cfg:
        return {"rows": {0: np.arange(n)}, "beta": {0: beta}, "column": None,
                "level_column": None}
    cfg = dict(cfg)
    names = [str(x) for x in cfg.get("names", [])]
    sizes = [int(x) for x in cfg.get("sizes", [])]
    if not names or len(names) != len(sizes) or sum(sizes) != n or min(sizes) < 1:
        raise SimulationError(f"{source}: [groups] needs 'names' and 'sizes' of equal length, "
                              f"sizes positive and adding up to n = {n} (they add up to "
                              f"{sum(sizes)})")
    sd = float(cfg.get("path_sd", 0.0))
    levels = [str(x) for x in cfg.get("levels", [])]
    level_column = cfg.get("level_column")
    if level_column and len(levels) != len(names):
        raise SimulationError(f"{source}: [groups] 'levels' needs one entry per group")
    shift = resolve_keys(spec, cfg.get("shift", {}), source=source)
    index = {v: i for i, v in enumerate(spec.structural)}
    order = rng.permutation(n)  # respondents in random order, not sorted by group
    rows, betas, paths = {}, {}, {}
    start = 0
    for g, (name, size) in enumerate(zip(names, sizes)):
        rows[g] = np.sort(order[start:start + size])
        start += size
        b = beta.copy()
        group_paths = {}
        for src, tgt in spec.paths:
            pname = f"{tgt}~{src}"
            value = pop[pname] + rng.normal(0.0, sd)
            if level_column and levels[g] == cfg.get("shift_level"):
                value += shift.get(pname, 0.0)
            b[index[tgt], index[src]] = value
            group_paths[pname] = round(float(value), 6)
        betas[g] = b
        paths[name] = group_paths
    labels = np.empty(n, dtype=object)
    level_labels = np.empty(n, dtype=object)
    for g, r in rows.items():
        labels[r] = names[g]
        if level_column:
            level_labels[r] = levels[g]
    record = {k: v for k, v in cfg.items() if k != "shift"}
    record["shift"] = shift
    return {"rows": rows, "beta": betas, "column": str(cfg.get("column", "group")),
            "labels": labels, "level_column": level_column, "level_labels": level_labels,
            "record": record, "paths": paths}


def simulate_within_mediation(n_groups: int, n_per_group: int, *, a: float = 0.2,
                              b: float = 0.2, cp: float = 0.1,
                              sd: tuple[float, float, float] = (0.15, 0.15, 0.05),
                              corr_ab: float = 0.5, residual_sd: float = 1.0,
                              intercept_sd: float = 0.5, seed: int | None = None
                              ) -> SimulatedSurvey:
    """Repeated measures nested in persons (a diary study) with person-specific paths
    ``m = d_m + a_j x + e``, ``y = d_y + b_j m + cp_j x + e``: (a_j, b_j, cp_j) normal
    around (a, b, cp) with SDs ``sd`` and corr(a_j, b_j) = ``corr_ab``. The population's
    average indirect effect is ``a b + cov(a_j, b_j)``, recorded with the truth.

    Example
    -------
    >>> sim = simulate_within_mediation(20, 10, seed=1)
    >>> sim.frame.shape, round(sim.population["indirect"], 4)
    ((200, 4), 0.0513)
    """
    if n_groups < 2 or n_per_group < 2:
        raise SimulationError("a within-person design needs at least 2 persons with 2 "
                              "observations each")
    rng = np.random.default_rng(seed)
    s = np.asarray(sd, dtype=float)
    corr = np.eye(3)
    corr[0, 1] = corr[1, 0] = corr_ab
    cov = corr * np.outer(s, s)
    paths = rng.multivariate_normal([a, b, cp], cov, size=n_groups)
    person = np.repeat(np.arange(n_groups), n_per_group)
    x = rng.normal(size=n_groups)[person] * 0.5 + rng.normal(size=len(person))
    d_m, d_y = rng.normal(0.0, intercept_sd, size=(2, n_groups))
    m = d_m[person] + paths[person, 0] * x + rng.normal(0.0, residual_sd, len(person))
    y = d_y[person] + paths[person, 1] * m + paths[person, 2] * x + \
        rng.normal(0.0, residual_sd, len(person))
    frame = pd.DataFrame({"id": person + 1, "x": x, "m": m, "y": y})
    record = {"synthetic": True, "design": "within-person mediation", "seed": seed,
              "n_groups": n_groups, "n_per_group": n_per_group,
              "values": {"m~x": a, "y~m": b, "y~x": cp},
              "sd": {"m~x": s[0], "y~m": s[1], "y~x": s[2]},
              "cov_ab": float(cov[0, 1]), "indirect": float(a * b + cov[0, 1]),
              "group_paths": {int(j + 1): dict(zip(("m~x", "y~m", "y~x"), map(float, p)))
                              for j, p in enumerate(paths)},
              "connective_version": __version__}
    return SimulatedSurvey(frame=frame, population=record)
