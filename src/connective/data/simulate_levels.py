"""Simulated two-level surveys: respondents nested in organisations, drawn from a two-level
model (``level: 1`` / ``level: 2``) and a population file.

Each level is a standardised population of its own (:mod:`connective.data.population`):
the level-1 block's values give the within-organisation parts ``w_ij`` (every variable of
variance 1 within), the level-2 block's the organisation parts ``b_j``, scaled to variance
``between_variance`` (so an item of both levels has an intraclass correlation of
``between_variance / (1 + between_variance)``). A respondent's answer is ``b_j + w_ij``;
variables of level 1 only have no organisation part, variables of level 2 only no
respondent part (one value per organisation). The population file (TOML) is a one-level
values file with two more sections::

    [values]            # level 1 (within), as for a one-level model
    "fw =~ y2" = 0.8

    [between]           # level 2 (between): values by the level-2 block's names
    "fb =~ y2" = 0.9
    "fb ~ w1" = 0.4

    [clusters]
    n = 200             # organisations
    sizes = [5, 20]     # respondents per organisation: uniform from 5 to 20 (or one number)
    column = "cluster"
    between_variance = 0.3

Example
-------
>>> from connective.spec.levels import parse_twolevel
>>> two = parse_twolevel("level: 1\\n fw =~ y1 + y2 + y3\\nlevel: 2\\n fb =~ y1 + y2 + y3\\n fb ~ w")
>>> sim = simulate_twolevel(two, {"clusters": {"n": 20, "sizes": [5, 10]}}, seed=1)
>>> int(sim.frame.groupby("cluster")["w"].nunique().max()), sim.population["levels"]
(1, 2)
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Mapping

import numpy as np

from connective import __version__
from connective.data.simulate import SimulatedSurvey, simulate
from connective.errors import SimulationError
from connective.spec.levels import TwoLevelSpec

#: the clusters' defaults
CLUSTERS = {"n": 100, "sizes": [5, 20], "column": "cluster", "between_variance": 0.3}


def simulate_twolevel(two: TwoLevelSpec, values: Mapping | None = None, *,
                      seed: int | None = None,
                      source: str = "the population values") -> SimulatedSurvey:
    """Simulate organisations and their respondents (see the module docstring); the
    population record holds both levels' standardised values (``values``, ``between``), the
    cluster design and the seed.

    Example
    -------
    >>> sim = simulate_twolevel(two, {"clusters": {"n": 200}}, seed=3)  # doctest: +SKIP
    >>> sim.write("orgs.csv")  # doctest: +SKIP
    """
    values = dict(values or {})
    unknown = set(values) - {"defaults", "values", "between", "clusters"}
    if unknown:
        raise SimulationError(f"{source}: unknown section(s) {', '.join(sorted(unknown))} for a "
                              "two-level model; expected [defaults], [values] (level 1), "
                              "[between] (level 2) and [clusters]")
    cfg = {**CLUSTERS, **values.get("clusters", {})}
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    rng = np.random.default_rng(seed)
    J = int(cfg["n"])
    sizes = cfg["sizes"] if isinstance(cfg["sizes"], list) else [cfg["sizes"]] * 2
    if J < 2 or len(sizes) != 2 or not 1 <= int(sizes[0]) <= int(sizes[1]):
        raise SimulationError(f"{source}: [clusters] needs n >= 2 organisations and sizes = "
                              f"[smallest, largest] with 1 <= smallest <= largest; got n = {J}, "
                              f"sizes = {cfg['sizes']}")
    c = float(cfg["between_variance"])
    if c <= 0:
        raise SimulationError(f"{source}: between_variance must be positive, not {c}")
    n_j = rng.integers(int(sizes[0]), int(sizes[1]) + 1, size=J)
    N = int(n_j.sum())
    org = np.repeat(np.arange(1, J + 1), n_j)
    seeds = rng.integers(0, 2**31 - 1, size=2)
    common = {"defaults": values.get("defaults", {})}
    within = simulate(two.within, N, values={**common, "values": values.get("values", {})},
                      seed=int(seeds[0]), source=source)
    between = simulate(two.between, J, values={**common, "values": values.get("between", {})},
                       seed=int(seeds[1]), source=source)
    frame = within.frame.drop(columns="id")[list(two.within_only)].copy()
    parts = between.frame.drop(columns="id") * np.sqrt(c)
    for v in two.both:
        frame[v] = within.frame[v].to_numpy() + parts[v].to_numpy()[org - 1]
    for v in two.between_only:
        frame[v] = parts[v].to_numpy()[org - 1]
    frame = frame[list(two.observed)]
    frame.insert(0, cfg["column"], org)
    frame.insert(0, "id", np.arange(1, N + 1))
    record = {"synthetic": True, "model": Path(two.source).name,
              "model_sha256": hashlib.sha256(two.text.encode()).hexdigest(), "levels": 2,
              "n": N, "seed": seed, "connective_version": __version__,
              "clusters": {"n": J, "sizes": [int(s) for s in sizes], "column": cfg["column"],
                           "between_variance": c},
              "defaults": within.population["defaults"],
              "values": within.population["values"],
              "between": between.population["values"]}
    return SimulatedSurvey(frame=frame, population=record)


__all__ = ["simulate_twolevel", "CLUSTERS"]
