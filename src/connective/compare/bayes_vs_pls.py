"""Bayes vs PLS on the same data and model: one row per path and effect.

The Bayesian side is the posterior of the *standardised* effects (std.all paths through the
effects algebra), the PLS side the bootstrap estimates of composite (PLS) or corrected
(PLSc) paths. The two are on different footing: PLS estimates weighted composites of the
items, which attenuates paths between constructs measured with error; the Bayesian model
and PLSc estimate common factors. The table says so and shows PLSc where the model is
reflective.

Example
-------
>>> table = compare_runs("runs/bayes", {"PLS": "runs/pls"})  # doctest: +SKIP
>>> table.loc[table.effect == "obligatory", ["bayes_est", "PLS_est", "same_verdict_PLS"]]  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from connective.bayes.tables import measurement_draws
from connective.errors import ConnectiveError
from connective.mediation import summarize_effects
from connective.report.run import read_run
from connective.spec import parse_model

FOOTING = ("PLS estimates composites (weighted sums of the items), so its paths between "
           "constructs measured with error are attenuated; the Bayesian model and PLSc estimate "
           "common factors. Bayesian estimates are standardised posterior means with 95% "
           "equal-tailed credible intervals; PLS intervals are bootstrap percentile intervals.")


def interval_sign(lower, upper) -> np.ndarray:
    """'+' when an interval lies above 0, '−' below 0, '0' when it contains 0."""
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    return np.where(lower > 0, "+", np.where(upper < 0, "−", "0"))


def standardized_bayes_effects(run_dir: str | Path, *, prob: float = 0.95) -> pd.DataFrame:
    """Posterior summaries of the standardised effects of a ``connective fit`` run folder."""
    import arviz as az

    run_dir = Path(run_dir)
    nc = run_dir / "posterior.nc"
    if not nc.is_file():
        raise ConnectiveError(f"{run_dir} has no posterior.nc; is it a 'connective fit' folder?")
    summary = json.loads((run_dir / "summary.json").read_text())
    text = summary.get("run", summary).get("model_text")
    spec = parse_model(text, source=summary.get("run", summary).get("model", "<model>"))
    post = az.from_netcdf(str(nc)).posterior
    if not spec.paths:  # a CFA: its loadings and factor correlations are what it estimates
        draws = measurement_draws(spec, post["std_all"])
    else:  # read_run has checked the folder: one run of this version, with std effects
        draws = post["effects_std_all"]
    table = summarize_effects(draws, prob=prob)
    return table.rename(columns={"mean": "est", "eti_lower": "ci.lower", "eti_upper": "ci.upper"})


def analysed_rows(bayes_dir: str | Path, pls_runs: dict[str, dict]) -> dict[str, dict]:
    """Respondents each engine analysed (``n``, of ``rows`` read, with ``missing``, the
    missing-data handling): the Bayesian fit's log-likelihood has one entry per respondent;
    a PLS run records its rows used after its missing-data handling."""
    import arviz as az

    idata = az.from_netcdf(str(Path(bayes_dir) / "posterior.nc"))
    settings = json.loads(idata.posterior.attrs.get("settings", "{}"))
    n = (int(idata.log_likelihood.sizes["respondent"]) if "log_likelihood" in idata.groups()
         else None)
    out = {"Bayes": {"n": n, "rows": n,
                     "missing": (settings.get("data_options") or {}).get("missing")}}
    for name, run in pls_runs.items():
        s = run["label"].get("settings", {})
        out[name] = {"n": s.get("n_used"), "rows": s.get("n_rows"), "missing": s.get("missing")}
    return out


def rows_note(rows: dict[str, dict]) -> str | None:
    """A sentence when the engines analysed different rows (``None`` when they did not).

    Example
    -------
    >>> rows_note({"Bayes": {"n": 300, "rows": 300, "missing": None},
    ...            "PLS": {"n": 231, "rows": 300, "missing": "casewise"}})
    'The engines analysed different rows: Bayes 300 respondents, PLS 231 (of 300 rows, after casewise deletion). Their estimates differ partly because their samples do: refit them with the same --missing to compare the engines alone.'
    """
    known = {k: v for k, v in rows.items() if v.get("n") is not None}
    if len({v["n"] for v in known.values()}) <= 1:
        return None

    def part(name, r):
        text = f"{name} {r['n']}"
        if r.get("rows") and r["rows"] != r["n"]:
            how = {"casewise": "casewise deletion", "mean": "mean replacement"}.get(
                r.get("missing"), f"--missing {r.get('missing')}")
            text += f" (of {r['rows']} rows, after {how})"
        return text

    parts = [part(k, v) for k, v in known.items()]
    return ("The engines analysed different rows: " + parts[0] + " respondents, "
            + ", ".join(parts[1:]) + ". Their estimates differ partly because their samples "
            "do: refit them with the same --missing to compare the engines alone.")


def rows_header(rows: dict[str, dict]) -> str:
    """The rows of every engine for a table's header, e.g. ``Bayes N = 300, PLS N = 231``."""
    return ", ".join(f"{k} N = {v['n']}" for k, v in rows.items() if v.get("n") is not None)


def _label(run: dict) -> dict:
    s = run["summary"]
    return s.get("run", s)


def compare_runs(bayes_dir: str | Path, pls_dirs: dict[str, str | Path]) -> pd.DataFrame:
    """One row per effect (paths are the direct effects): the Bayesian standardised estimate
    and interval, each PLS variant's estimate and interval, their difference, and whether
    both intervals reach the same verdict (``same_verdict_<name>``: both above 0, both below 0
    or both containing 0). Runs fitted on other data or models are an error."""
    bayes = read_run(bayes_dir)
    b_label = _label(bayes)
    table = standardized_bayes_effects(bayes_dir)
    out = pd.DataFrame({"effect": table["effect"], "kind": table["kind"],
                        "source": table["source"], "target": table["target"],
                        "bayes_est": table["est"], "bayes_lower": table["ci.lower"],
                        "bayes_upper": table["ci.upper"]})
    for name, folder in pls_dirs.items():
        pls = read_run(folder)
        p_label = _label(pls)
        for key, what in (("data_fingerprint", "data"), ("model_sha256", "model")):
            if p_label.get(key) != b_label.get(key):
                raise ConnectiveError(f"{folder} and {bayes_dir} were fitted on different "
                                      f"{what}; compare runs of one model on one data set")
        eff = pls["effects"].set_index("effect")
        if out["kind"].isin(["loading", "correlation"]).all():  # a CFA: PLS's parameters
            par = pls["parameters"]
            eff = par.assign(effect=par["lhs"] + par["op"] + par["rhs"]).set_index("effect")
        missing = sorted(set(out["effect"]) - set(eff.index))
        if missing:
            raise ConnectiveError(f"{folder} lacks the effects {missing[:5]}")
        est = eff.loc[out["effect"], "est"].to_numpy()
        lo = eff.loc[out["effect"], "ci.lower"].to_numpy()
        hi = eff.loc[out["effect"], "ci.upper"].to_numpy()
        out[f"{name}_est"], out[f"{name}_lower"], out[f"{name}_upper"] = est, lo, hi
        out[f"diff_{name}"] = out["bayes_est"] - est
        # both intervals reach the same verdict: above 0, below 0, or containing 0
        out[f"same_verdict_{name}"] = (interval_sign(out["bayes_lower"], out["bayes_upper"])
                                       == interval_sign(lo, hi))
    out.attrs["footing"] = FOOTING
    out.attrs["rows"] = analysed_rows(bayes_dir, {n: read_run(f) for n, f in pls_dirs.items()})
    out.attrs["rows_note"] = rows_note(out.attrs["rows"])
    return out


def forest_plot(table: pd.DataFrame, methods: list[str], *, kinds=("direct", "indirect",
                                                                    "defined", "loading",
                                                                    "correlation"),
                title: str = ""):
    """Estimates and intervals of every method, one line per effect (matplotlib Figure)."""
    from connective.figures import subplots

    rows = table[table["kind"].isin(kinds)].reset_index(drop=True)
    sides = [("bayes", "Bayes (std.)")] + [(m, m) for m in methods]
    fig, ax = subplots(figsize=(7.5, 0.34 * len(rows) + 1.4))
    offsets = np.linspace(-0.25, 0.25, len(sides))
    colors = ["#1b5e9a", "#c2571a", "#3a8a3a", "#7a3a8a"]
    for (key, name), off, color in zip(sides, offsets, colors):
        y = np.arange(len(rows))[::-1] + off
        ax.errorbar(rows[f"{key}_est"], y,
                    xerr=[rows[f"{key}_est"] - rows[f"{key}_lower"],
                          rows[f"{key}_upper"] - rows[f"{key}_est"]],
                    fmt="o", ms=3.5, lw=1.1, color=color, label=name)
    ax.axvline(0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(np.arange(len(rows))[::-1])
    ax.set_yticklabels(rows["effect"], fontsize=9)
    ax.tick_params(axis="x", labelsize=9)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("standardised effect with 95% interval", fontsize=10)
    # the legend above the data, never over it
    ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(sides),
              frameon=False)
    if title:
        ax.set_title(title, fontsize=10, pad=24)
    fig.tight_layout()
    return fig


def run_compare(spec, survey, out: str | Path, *, seed: int = 1, boot: int = 5000,
                draws: int = 1000, tune: int = 1000, chains: int = 4,
                progress: bool = False, cores: int | None = None,
                published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Fit both engines on one survey into ``out/bayes``, ``out/pls`` (and ``out/plsc`` for a
    reflective model), then write ``comparison.csv`` and ``forest.png``; returns the table.
    ``survey`` is a survey as read or, cleaned with the data options, a ValidatedSurvey:
    both engines get its data. ``out`` is a folder being written (``connective compare``
    passes the temporary folder of its :func:`~connective.folders.run_folder`); the engines'
    folders are units of their own.

    Example
    -------
    >>> from connective.folders import run_folder
    >>> with run_folder("runs/compare") as out:  # doctest: +SKIP
    ...     table = run_compare(spec, survey, out, seed=1)
    """
    from connective.bayes import fit
    from connective.data.validate import ValidatedSurvey, validate_survey
    from connective.pls.run import run_pls

    out = Path(out)
    if not isinstance(survey, ValidatedSurvey):
        survey = validate_survey(survey, spec)  # the model's columns, as `connective fit`
    options = survey.options
    result = fit(spec, survey.frame[list(spec.observed)], draws=draws, tune=tune,
                 chains=chains, cores=cores, seed=seed, data_source=survey.source,
                 synthetic=survey.synthetic, progress=progress, data_options=options)
    result.save(out / "bayes")
    runs = {"PLS": out / "pls"}
    run_pls(spec, survey, runs["PLS"], boot=boot, seed=seed, data_options=options,
            progress=progress)
    # PLSc has no interaction terms (pls.interaction): Bayes beside PLS two-stage only
    if spec.latent and not spec.composites and not spec.interactions:
        runs["PLSc"] = out / "plsc"
        run_pls(spec, survey, runs["PLSc"], boot=boot, seed=seed, consistent=True,
                data_options=options, progress=progress)
    return write_comparison(out / "bayes", runs, out, published=published)


def write_comparison(bayes_dir: str | Path, pls_dirs: dict[str, Path], out: str | Path, *,
                     published: pd.DataFrame | None = None) -> pd.DataFrame:
    """``comparison.csv``, ``forest.png`` and ``comparison.json`` of finished runs, written
    into ``out`` (a folder being written, as in :func:`run_compare`). Runs inside ``out``
    are recorded by their path relative to it, so the folder can be renamed into place."""
    from connective.io import atomic_write_csv, atomic_write_json
    from connective.report.diagram import save_figure

    out = Path(out)
    table = compare_runs(bayes_dir, pls_dirs)
    methods = list(pls_dirs)
    if published is not None:  # a paper's table (compare.published), a method of its own
        from connective.compare.published import add_published

        table = add_published(table, published)
        methods.append("published")
    atomic_write_csv(out / "comparison.csv", table)
    save_figure(forest_plot(table, methods), out / "forest.png", dpi=192)  # 2x
    atomic_write_json(out / "comparison.json", {"bayes": _where(bayes_dir, out),
                                                "pls": {k: _where(v, out)
                                                        for k, v in pls_dirs.items()},
                                                "footing": FOOTING, "rows": table.attrs["rows"],
                                                "rows_note": table.attrs["rows_note"]})
    return table


def _where(run: str | Path, out: Path) -> str:
    """A run's folder as ``comparison.json`` records it: relative inside ``out``, else
    absolute (read back with :func:`run_path`)."""
    run, out = Path(run).absolute(), Path(out).absolute()
    return str(run.relative_to(out)) if run.is_relative_to(out) else str(run)


def run_path(folder: str | Path, recorded: str) -> Path:
    """The folder of a run recorded in ``folder/comparison.json``.

    Example
    -------
    >>> str(run_path("/runs/compare", "bayes")), str(run_path("/runs/compare", "/runs/fit"))
    ('/runs/compare/bayes', '/runs/fit')
    """
    return Path(folder) / recorded
