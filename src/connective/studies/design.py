"""The study file: population model, condition grid, replications, methods.

A study is a TOML file::

    [study]
    name = "pls_vs_bayes"
    model = "connective_action"     # a bundled model or a path relative to this file
    values = "population.toml"      # optional population values (relative to this file)
    replications = 200
    seed = 2026
    effects = ["instrumental", "obligatory"]   # optional; default: every indirect and
                                               # defined effect of the model (loadings,
                                               # e.g. "F=~x2", factor correlations,
                                               # "F~~G", and latent interactions,
                                               # "OCA~CID:EFF", may be targets too; a model
                                               # without effects targets its loadings)

    [conditions]                    # a grid: every combination is a condition
    n = [100, 194, 500]             # respondents (required)
    likert = [7]                    # categories (0 = continuous indicators)
    missing = [0.0]                 # MCAR share
    loading = [0.7]                 # default standardised loading (if values gives none)
    interaction = [0.0, 0.2]        # default standardised latent interaction (OCA ~ CID:EFF)

    [methods.pls]                   # one table per method: engine plus its settings
    engine = "pls"
    boot = 500

    [methods.loo]                   # model selection: which model PSIS-LOO ranks first
    engine = "loo"                  # among the study's model (the truth) and rivals of
    candidates = ["simca"]          # the same items (results/model_selection.csv)
    likelihood = "ordinal"          # and loglik = "conditional" for the one given the
                                    # sampled factor scores (default: marginal)

    [data]                          # optional: the data options of the command line
    missing = "mean"                # (--missing, --missing-codes, --reverse, --likert)

Example
-------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.toml"
>>> _ = path.write_text('[study]\\nmodel = "mediation"\\nreplications = 2\\n'
...                     '[conditions]\\nn = [50, 100]\\n[methods.pls]\\nengine = "pls"\\n')
>>> study = read_study(path)
>>> [c.id for c in study.conditions], study.methods[0].name
(['n=50', 'n=100'], 'pls')
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from connective.data.options import DataOptions
from connective.data.simulate import read_values_file
from connective.effects import compute_effects
from connective.errors import ConnectiveError
from connective.resources import resolve_model
from connective.spec import ModelSpec, read_model

ENGINES = ("pls", "bayes", "loo")
_GRID_KEYS = {"n", "likert", "missing", "loading", "path", "interaction"}


@dataclass(frozen=True)
class Condition:
    """One cell of the grid; ``id`` names it in files and tables (e.g. ``n=100_likert=7``)."""

    index: int
    settings: dict

    @property
    def id(self) -> str:
        return "_".join(f"{k}={v}" for k, v in self.settings.items())


@dataclass(frozen=True)
class Method:
    name: str
    engine: str
    settings: dict
    data: DataOptions = DataOptions()  # how each simulated data set is cleaned first


@dataclass
class Study:
    name: str
    path: Path
    spec: ModelSpec
    values: dict
    conditions: list[Condition]
    replications: int
    seed: int
    methods: list[Method]
    effects: list[str] = field(default_factory=list)
    data: DataOptions = DataOptions()

    def population(self, condition: Condition) -> dict:
        """The values file content with the condition's settings applied."""
        values = {k: dict(v) if isinstance(v, dict) else v for k, v in self.values.items()}
        defaults = values.setdefault("defaults", {})
        for key in ("loading", "path", "interaction"):
            if key in condition.settings:
                defaults[key] = condition.settings[key]
        return values

    def truth(self, condition: Condition) -> pd.Series:
        """The population value of every studied effect (standardised metric)."""
        from connective.data.population import standardized_population

        values = self.population(condition)
        pop = standardized_population(self.spec, values.get("values", {}),
                                      defaults=values.get("defaults"))
        effects = compute_effects(self.spec, pop)
        truth = pd.Series(effects.values, index=effects["effect"].values.astype(str))
        # targets may be parameters too (a CFA's loadings, factor correlations)
        truth = pd.concat([truth, pd.Series({k: v for k, v in pop.items() if k not in truth})])
        return truth.loc[self.effects]

    def seed_for(self, condition: Condition, replication: int) -> int:
        """Seed of one replication: fixed by the study seed, the condition and the number."""
        seq = np.random.SeedSequence([self.seed, condition.index, replication])
        return int(seq.generate_state(1)[0])


def read_study(path: str | Path) -> Study:
    """Read and check a study file; errors name the file and the key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConnectiveError(f"study file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConnectiveError(f"study file {path} is not valid TOML: {exc}") from None

    def need(table: dict, key: str, where: str):
        if key not in table:
            raise ConnectiveError(f"{path}: [{where}] needs '{key}'")
        return table[key]

    if "study" not in raw:
        raise ConnectiveError(f"{path}: the study file needs a [study] table")
    head = raw["study"]
    model_ref = need(head, "model", "study")
    model_file = path.parent / model_ref
    spec = read_model(model_file if model_file.is_file() else resolve_model(model_ref))
    values = read_values_file(path.parent / head["values"]) if "values" in head else {}
    grid = dict(need(raw, "conditions", "conditions"))
    unknown = set(grid) - _GRID_KEYS
    if unknown:
        raise ConnectiveError(f"{path}: unknown condition(s) {', '.join(sorted(unknown))}; "
                              f"expected {', '.join(sorted(_GRID_KEYS))}")
    need(grid, "n", "conditions")
    grid = {k: v if isinstance(v, list) else [v] for k, v in grid.items()}
    conditions = [Condition(i, dict(zip(grid, combo)))
                  for i, combo in enumerate(itertools.product(*grid.values()))]
    data = DataOptions.from_mapping(raw.get("data", {}), f"{path} [data]")
    methods = []
    for name, settings in need(raw, "methods", "methods").items():
        settings = dict(settings)
        engine = settings.pop("engine", None)
        if engine not in ENGINES:
            raise ConnectiveError(f"{path}: [methods.{name}] needs engine = one of "
                                  f"{', '.join(ENGINES)} (got {engine!r})")
        if engine == "loo":
            settings["candidates"] = _candidates(spec, settings.get("candidates"), path, name)
        methods.append(Method(name, engine, settings, data))
    replications = int(head.get("replications", 100))
    if replications < 1:
        raise ConnectiveError(f"{path}: replications must be at least 1")
    study = Study(name=str(head.get("name", path.stem)), path=path, spec=spec, values=values,
                  conditions=conditions, replications=replications,
                  seed=int(head.get("seed", 1)), methods=methods, data=data)
    study.effects = _effects(study, head.get("effects"), path)
    return study


def _candidates(spec: ModelSpec, names, path: Path, method: str) -> dict[str, ModelSpec]:
    """The rival models of a ``loo`` method (bundled names or paths relative to the study
    file), each of the study model's items: LOO ranks models of the same answers only."""
    if not names or not isinstance(names, list):
        raise ConnectiveError(f"{path}: [methods.{method}] (engine loo) needs candidates = "
                              "[...], the models LOO ranks against the study's model (the "
                              "truth), e.g. candidates = [\"simca_encapsulation\"]")
    out = {}
    for ref in names:
        file = path.parent / ref
        rival = read_model(file if file.is_file() else resolve_model(ref))
        if set(rival.observed) != set(spec.observed):
            raise ConnectiveError(
                f"{path}: [methods.{method}] candidate {ref!r} models other items than "
                f"{spec.source} ({len(rival.observed)} against {len(spec.observed)}); LOO "
                "ranks models of the same items only")
        out[Path(ref).stem] = rival
    return out


def _effects(study: Study, wanted, path: Path) -> list[str]:
    from connective.effects import effect_table

    table = effect_table(study.spec)
    available = (table["effect"].tolist() + study.spec.measurement_parameters
                 + [i.name for i in study.spec.latent_interactions])
    if wanted is None:
        chosen = table[table["kind"].isin(["indirect", "defined"])]["effect"].tolist()
        # a measurement model has no effects: its loadings are what a study can recover
        return chosen or [n for n in study.spec.measurement_parameters if "=~" in n]
    missing = [e for e in wanted if e not in available]
    if missing:
        raise ConnectiveError(f"{path}: effects {missing} are neither effects nor loadings or "
                              f"factor correlations of {study.spec.source}; it has "
                              f"{', '.join(available)}")
    return list(wanted)
