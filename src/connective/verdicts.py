"""Did a fit pass its checks? One verdict per run folder, in words, for reports and consoles.

A Bayesian run's verdict is the diagnostics verdict its fit wrote (``diagnostics.json``: R-hat,
ESS, divergences, tree depth, E-BFMI of the parameters and, for a hierarchical model, of the
group SDs, coefficients and residual scales; :mod:`connective.diagnostics`). A PLS run passes
when its algorithm converged and the full-sample solution is admissible (PLSc); failed or
inadmissible bootstrap replicates are counted in the text.

Example
-------
>>> v = run_verdict({"dir": Path("runs/pls"), "label": {"engine": "PLS", "warnings": [],
...                  "settings": {"iterations": 6, "max_iter": 300, "boot": 1000,
...                               "replicates_used": 1000, "replicates_failed": 0}}})
>>> v.ok, v.text
(True, 'algorithm converged in 6 iterations (of at most 300); 1000 of 1000 bootstrap replicates used')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class FitVerdict:
    fit: str
    ok: bool
    text: str

    def line(self) -> str:
        """The console line: ``PASS name: text`` or ``FAIL name: text``."""
        return f"{'PASS' if self.ok else 'FAIL'}  {self.fit}: {self.text}"


def fit_name(run: dict) -> str:
    """How reports name the fit of a run folder: engine and folder (``Bayesian SEM (bayes)``)."""
    label = run["label"]
    engine = ("hierarchical Bayesian SEM" if "group_effects" in run else "Bayesian SEM"
              if "diagnostics" in run else label.get("engine", "PLS"))
    return f"{engine} ({Path(run['dir']).name})"


def run_verdict(run: dict) -> FitVerdict:
    """The verdict of a run read by :func:`connective.report.run.read_run`."""
    name = fit_name(run)
    if "diagnostics" in run:
        d = run["diagnostics"]
        figures = (f"max R-hat {d.get('max_r_hat', float('nan')):.3f}, min bulk ESS "
                   f"{d.get('min_ess_bulk', float('nan')):.0f}, min tail ESS "
                   f"{d.get('min_ess_tail', float('nan')):.0f}, {d.get('divergences', 0)} "
                   f"divergent transitions, {d.get('n_draws')} draws")
        if d.get("ok"):
            return FitVerdict(name, True, "sampler diagnostics pass (" + figures + ")")
        return FitVerdict(name, False, "sampler diagnostics FAIL, so its numbers cannot be "
                          "trusted yet: " + "; ".join(d.get("problems", [])) + f" ({figures})")
    s = run["label"].get("settings", {})
    if isinstance(s, str):  # older folders wrote the settings as text
        s = {}
    problems, notes = [], []
    it, most = s.get("iterations"), s.get("max_iter")
    if it is not None and most is not None and it >= most:
        problems.append(f"the algorithm did not converge in {most} iterations (raise "
                        "--max-iter or check the model)")
    elif it is not None:
        notes.append(f"algorithm converged in {it} iterations (of at most {most})")
    inadmissible = [w for w in run["label"].get("warnings", []) if "inadmissible solution" in w]
    problems += inadmissible
    if s.get("boot"):
        notes.append(f"{s.get('replicates_used')} of {s['boot']} bootstrap replicates used")
        if s.get("replicates_failed"):
            notes.append(f"{s['replicates_failed']} failed")
        if s.get("replicates_inadmissible"):
            notes.append(f"{s['replicates_inadmissible']} inadmissible "
                         f"({s.get('inadmissible', 'exclude')}d)")
    if problems:
        return FitVerdict(name, False, "; ".join(problems + notes))
    return FitVerdict(name, True, "; ".join(notes) or "estimated")


def comparison_verdicts(folder: str | Path) -> list[FitVerdict]:
    """The verdicts of every run of a comparison folder (its ``comparison.json``)."""
    import json

    from connective.compare.bayes_vs_pls import run_path
    from connective.report.run import read_run

    folder = Path(folder)
    meta = json.loads((folder / "comparison.json").read_text())
    dirs = [meta["bayes"], *meta["pls"].values()]
    return [run_verdict(read_run(run_path(folder, d))) for d in dirs]
