"""The analyses a SmartPLS user runs after estimation, as one request of a PLS run:
PLSpredict (``--predict``), MICOM and multigroup analysis (``--mga``), IPMA (``--ipma``).

:class:`PLSAnalyses` says what to run; :meth:`PLSAnalyses.run` runs it on a result and
returns the CSV tables a run folder holds (``predict.csv``, ``micom.csv``, ``mga.csv``,
``ipma_constructs.csv``, ``ipma_indicators.csv``), a summary for ``summary.json`` and text
for the terminal. Every analysis gets its own seed from one seed (recorded), so adding one
does not change the others' numbers.

Example
-------
>>> from connective.pls import estimate_pls, example_data
>>> spec, frame = example_data(120)
>>> out = PLSAnalyses(predict=True, ipma="CI").run(estimate_pls(spec, frame), frame, seed=5)
>>> sorted(out.tables)
['ipma_constructs.csv', 'ipma_indicators.csv', 'predict.csv']
>>> out.summary["predict"]["folds"], out.summary["seed"]
(10, 5)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from connective.pls.ipma import ipma_pls
from connective.pls.mga import group_condition, mga_pls
from connective.pls.micom import micom_pls
from connective.pls.predict import predict_pls
from connective.pls.results import PLSResult


@dataclass
class AnalysesOutput:
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    text: list[str] = field(default_factory=list)
    results: dict = field(default_factory=dict)  # the analysis objects, by name


@dataclass
class PLSAnalyses:
    """What to run beyond estimation. ``predict_folds=None`` is leave-one-out."""

    predict: bool = False
    predict_technique: str = "DA"
    predict_folds: int | None = 10
    predict_repetitions: int = 10
    predict_target: str | None = None
    predict_bayes: bool = False
    bayes_draws: int = 500
    bayes_tune: int = 500
    bayes_chains: int = 2
    mga: str | None = None
    mga_boot: int = 2000
    mga_bayes: bool = False
    permutations: int = 1000
    ipma: str | None = None
    ipma_scale: Mapping[str, tuple[float, float]] | None = None

    @property
    def any(self) -> bool:
        return bool(self.predict or self.mga or self.ipma)

    def run(self, result: PLSResult, frame: pd.DataFrame, *, seed: int | None = None,
            progress: bool = False) -> AnalysesOutput:
        """Run the requested analyses on ``result`` (estimated on ``frame``)."""
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        s_pred, s_mga, s_micom, s_bayes, s_mga_bayes = (
            int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(5))
        out = AnalysesOutput(summary={"seed": seed})
        if self.predict:
            pred = predict_pls(result, technique=self.predict_technique,
                               folds=self.predict_folds,
                               repetitions=1 if self.predict_folds is None else self.predict_repetitions,
                               seed=s_pred, progress=progress)
            out.tables["predict.csv"] = pred.table().reset_index()
            out.summary["predict"] = {**pred.settings(),
                                      "verdict": pred.verdict(self.predict_target),
                                      "target": self.predict_target, "notes": pred.notes}
            out.text.append(pred.summary())
            out.results["predict"] = pred
            if self.predict_bayes:
                self._bayes(pred, s_bayes, progress, out)
        if self.mga:
            groups = group_condition(frame.loc[result.data.index], self.mga)
            micom = micom_pls(result, groups.first, labels=groups.labels,
                              n_perm=self.permutations, seed=s_micom, progress=progress)
            mga = mga_pls(result, groups.first, labels=groups.labels, n_boot=self.mga_boot,
                          n_perm=self.permutations, seed=s_mga, frame=frame, progress=progress)
            out.tables["micom.csv"] = micom.table().reset_index()
            out.tables["mga.csv"] = mga.table().reset_index()
            out.summary["mga"] = {"groups": self.mga, "labels": list(groups.labels),
                                  "n": [mga.groups[0].n, mga.groups[1].n],
                                  "boot": self.mga_boot, "permutations": self.permutations,
                                  "micom_verdict": micom.verdict(),
                                  "boot_used": [b.n_boot for b in mga.boots],
                                  "notes": mga.notes}
            out.text += [micom.summary(), mga.summary()]
            out.results.update(micom=micom, mga=mga)
            if self.mga_bayes:
                self._mga_bayes(result, groups, mga, s_mga_bayes, out)
        if self.ipma:
            ipma = ipma_pls(result, self.ipma, scale=self.ipma_scale)
            out.tables["ipma_constructs.csv"] = ipma.constructs.reset_index()
            out.tables["ipma_indicators.csv"] = ipma.indicators.reset_index()
            out.summary["ipma"] = {"target": self.ipma,
                                   "target_performance": ipma.target_performance,
                                   "notes": ipma.notes}
            out.text.append(ipma.summary())
            out.results["ipma"] = ipma
        return out

    def _mga_bayes(self, result, groups, mga, seed: int, out: AnalysesOutput) -> None:
        """The Bayesian SEM in each group: differences of the standardised paths."""
        from connective.compare.mga import bayes_group_differences, beside_pls

        bayes = bayes_group_differences(result, groups.first, labels=groups.labels,
                                        draws=self.bayes_draws, tune=self.bayes_tune,
                                        chains=self.bayes_chains, seed=seed)
        table = beside_pls(mga, bayes)
        out.tables["mga_bayes.csv"] = table.reset_index()
        out.tables["mga_bayes_fits.csv"] = bayes.fits
        out.summary["mga_bayes"] = {"seed": seed, "draws": self.bayes_draws,
                                    "tune": self.bayes_tune, "chains": self.bayes_chains,
                                    "converged": bayes.converged, "verdict": bayes.verdict()}
        out.text.append("Bayesian group differences (std.all, one fit per group): "
                        + bayes.verdict() + "\n" + table.round(4).to_string())
        out.results["mga_bayes"] = bayes

    def _bayes(self, pred, seed: int, progress: bool, out: AnalysesOutput) -> None:
        """The Bayesian counterpart on the same rows and folds (its first repetition)."""
        from connective.bayes.predictive import bayes_counterpart, side_by_side

        bayes = bayes_counterpart(pred, draws=self.bayes_draws, tune=self.bayes_tune,
                                  chains=self.bayes_chains, seed=seed, progress=progress)
        table = side_by_side(pred, bayes)
        out.tables["predict_bayes.csv"] = table.reset_index()
        out.tables["predict_bayes_fits.csv"] = bayes.fits
        out.summary["predict_bayes"] = {"method": bayes.method, "seed": seed,
                                        "draws": self.bayes_draws, "tune": self.bayes_tune,
                                        "chains": self.bayes_chains,
                                        "converged": bayes.converged,
                                        "verdict": bayes.verdict()}
        out.text.append("Bayesian predictive counterpart (" + bayes.method + "): "
                        + bayes.verdict() + "\n" + table.round(4).to_string())
        out.results["predict_bayes"] = bayes


__all__ = ["PLSAnalyses", "AnalysesOutput"]
