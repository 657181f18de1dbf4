"""``connective demo``: the flagship analysis on the bundled synthetic survey."""

from __future__ import annotations

import argparse

from connective.commands._options import add_overwrite_argument
from connective.commands.validate import indirect_paths_text
from connective.compare.bayes_vs_pls import run_compare
from connective.bayes import fit
from connective.report.compare import build_compare_report
from connective.report.groups import add_group_section
from connective.report.run import read_run
from connective.data.readers import read_survey
from connective.data.validate import validate_survey
from connective.folders import check_target, run_folder
from connective.resources import flagship_data_path, flagship_values_path, model_path
from connective.spec import read_model
from connective.verdicts import run_verdict

BANNER = """\
connective demo: the connective-action model on the bundled SYNTHETIC survey
  The data (N = 194, 7-point Likert items, respondents in 8 organisations) were simulated
  from {model} with known population values ({values}); they are not real respondents."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the flagship analysis on the bundled synthetic survey",
                       description="The flagship analysis on the bundled synthetic survey: "
                                   "validate the data against the connective-action model, fit "
                                   "the Bayesian SEM, PLS and PLSc, compare every indirect "
                                   "effect with the known population values, fit the "
                                   "hierarchical model across the 8 organisations, and write a "
                                   "report.")
    p.add_argument("--out", default="connective_demo", metavar="DIR",
                   help="output folder (default: ./connective_demo)")
    p.add_argument("--quick", action="store_true",
                   help="fewer draws and bootstrap replicates, for a first look")
    add_overwrite_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = check_target(args.out, overwrite=args.overwrite)
    spec = read_model(model_path("connective_action"))
    data = flagship_data_path()
    survey = read_survey(data)
    print(BANNER.format(model=spec.source, values=flagship_values_path().name))
    print()
    print(spec.describe())
    print()
    checked = validate_survey(survey, spec, scale=(1, 7), keep=["logic"],
                              group="organisation")
    print(survey.describe())
    print(checked.report.text())
    print()
    print(organisations_text(checked.frame, survey.population.get("groups", {})))
    print()
    print(indirect_paths_text(spec, survey.population.get("values")))
    print()
    draws, boot = (300, 1000) if args.quick else (1000, 5000)
    # the hierarchical model's group SDs mix slowly: at 1,000 draws its seed-2022 chains
    # missed R-hat 1.01 (1.012, group_sd[EFF~CID]); at 1,500 they pass (1.004, min ESS 1,467)
    group_draws = 300 if args.quick else 1500
    print(f"Fitting the Bayesian SEM (4 chains x {draws} draws; the first run on a machine "
          "compiles the model, about a minute, later runs load it from the disk cache), PLS and "
          f"PLSc ({boot} bootstrap replicates)...")
    with run_folder(out, overwrite=args.overwrite) as tmp:  # the whole demo folder, one unit
        table = run_compare(spec, survey, tmp, seed=2022, boot=boot, draws=draws, tune=draws,
                            chains=4, progress=True)
        print(f"\nFitting the hierarchical model across the organisations (paths partially "
              f"pooled, organisational logic as group-level predictor; 4 chains x {group_draws} "
              "draws)...")
        grouped = fit(spec, checked.frame, group="organisation", group_predictor="logic",
                      draws=group_draws, tune=group_draws, chains=4, seed=2022,
                      data_source=survey.source,
                      synthetic=survey.synthetic, progress=True)
        grouped.save(tmp / "organisations")
        runs = {name: read_run(tmp / name) for name in ("bayes", "pls", "plsc", "organisations")
                if (tmp / name).is_dir()}
        verdicts = [run_verdict(r) for r in runs.values()]
        headline = headline_table(table, survey.population.get("values", {}), spec)
        doc = build_compare_report(tmp)
        add_headline(doc, headline, [v.fit for v in verdicts if "organisations" not in v.fit])
        add_group_section(doc, runs["organisations"])
        doc.write(tmp / "report")
    print()
    print("Verdict of every fit (a FAIL means: do not report that fit's numbers as they are):")
    print("\n".join("  " + v.line() for v in verdicts))
    print()
    print(chains_text(headline))
    print()
    hierarchical = next(v for v in verdicts if "organisations" in v.fit)
    if not hierarchical.ok:
        more = ("run without --quick" if args.quick else
                f"fit it with more draws: connective fit {spec.source} --data {data} "
                "--group organisation --group-predictor logic --draws 3000 --out DIR")
        print("The hierarchical fit FAILED its checks: do not report its numbers below as they "
              f"are (the report marks its tables; more draws may help: {more}).")
    print(organisation_effects_text(grouped, survey.population.get("groups", {})))
    print(f"\nReport: {out / 'report' / 'report.html'} (headline table also in "
          f"{out / 'report' / 'tables' / 'headline.csv'})")
    return 0


def headline_table(table, population: dict, spec):
    """The demo's headline: each defined (chain) effect's population value beside the
    Bayesian, PLS and PLSc estimates and intervals (numbers; one row per effect)."""
    import pandas as pd

    from connective.effects import compute_effects

    truth = compute_effects(spec, population, kinds=("defined",)) if population else None
    rows = table[table["kind"] == "defined"]
    methods = ["bayes"] + [c[:-4] for c in table.columns if c.endswith("_est")
                           and c != "bayes_est"]
    out = pd.DataFrame({"effect": rows["effect"].to_numpy()})
    out["population"] = ([float(truth.sel(effect=e)) for e in out["effect"]]
                         if truth is not None else float("nan"))
    for m in methods:
        for part in ("est", "lower", "upper"):
            out[f"{m}_{part}"] = rows[f"{m}_{part}"].to_numpy()
    return out


def add_headline(doc, headline, fits) -> None:
    """The headline table at the top of the report (after the verdicts and the synthetic
    data notice), its CSV with numbers in their own columns."""
    from connective.report.document import fmt, fmt_estimate

    methods = [c[:-4] for c in headline.columns if c.endswith("_est")]
    names = {"bayes": "Bayes (std.)"}
    cells = {"Effect": headline["effect"], "Population": headline["population"].map(
        lambda v: fmt(v, 3))}
    for m in methods:
        cells[names.get(m, m)] = [fmt_estimate(e, lo, hi, 3) for e, lo, hi in zip(
            headline[f"{m}_est"], headline[f"{m}_lower"], headline[f"{m}_upper"])]
    start = len(doc.blocks)
    doc.heading("Headline: the two chains against their population values")
    doc.table(__import__("pandas").DataFrame(cells),
              "Population value vs Bayes vs PLS vs PLSc (standardised indirect effects)",
              name="headline", fit=tuple(fits),
              note="Population: the value the synthetic survey was simulated from (its "
                   "connective-logic organisations). Bayes: standardised posterior mean with "
                   "its 95% credible interval; PLS, PLSc: full-sample estimate with its "
                   "bootstrap percentile 95% interval.")
    # to the top: after the synthetic-data notice, before the structural model
    moved = doc.blocks[start:]
    del doc.blocks[start:]
    at = next((i + 1 for i, b in enumerate(doc.blocks) if b.text.startswith("SYNTHETIC")), 0)
    doc.blocks[at:at] = moved


def chains_text(headline) -> str:
    """The defined (chain) effects: population value, Bayes, PLS and PLSc estimates."""
    methods = [c[:-4] for c in headline.columns if c.endswith("_est")]
    names = {"bayes": "Bayes"}
    head = f"  {'effect':<22}{'truth':>8}" + "".join(f"{names.get(m, m):>8}" for m in methods)
    lines = ["Indirect effects of the two chains (standardised; truth = population values of "
             "the connective-logic organisations):", head]
    for r in headline.itertuples():
        lines.append(f"  {r.effect:<22}{r.population:8.3f}"
                     + "".join(f"{getattr(r, m + '_est'):8.3f}" for m in methods))
    return "\n".join(lines)


def organisation_effects_text(result, groups: dict) -> str:
    """The two chains per organisation and by organisational logic (hierarchical model)."""
    fx = result.group_effects()
    chains = ["instrumental", "obligatory"]
    lines = ["Chains per organisation (hierarchical model, model metric; 95% intervals):",
             f"  {'organisation':<24}" + "".join(f"{c:>24}" for c in chains)]
    for org in dict.fromkeys(fx["group"]):
        rows = fx[fx["group"] == org].set_index("effect")
        lines.append(f"  {org:<24}" + "".join(
            f"{rows.at[c, 'est']:8.3f} [{rows.at[c, 'ci.lower']:6.3f},{rows.at[c, 'ci.upper']:6.3f}]"
            for c in chains))
    level = result.level_effects()
    diff = level[level["level"].str.contains(" - ") & level["effect"].isin(chains)]
    for _, r in diff.iterrows():
        lines.append(f"  {r['level']}: {r['effect']} {r['est']:+.3f} [{r['ci.lower']:+.3f}, "
                     f"{r['ci.upper']:+.3f}], P(> 0) = {r['p_positive']:.2f}")
    if groups.get("shift"):
        moved = ", ".join(f"{k} {v:+.2f}" for k, v in groups["shift"].items())
        lines.append(f"  (simulated truth: {groups.get('shift_level')}-logic organisations have "
                     f"{moved}, so their obligatory chain is stronger)")
    return "\n".join(lines)


def organisations_text(frame, groups: dict) -> str:
    """Respondents per organisation, with the paths shifted in one kind of organisation."""
    counts = frame.groupby(["organisation", "logic"], sort=False).size()
    lines = ["Respondents per organisation:"]
    lines += [f"  {org:<24}{logic:<12}{n:>4}" for (org, logic), n in counts.items()]
    shift = groups.get("shift", {})
    if shift:
        moved = ", ".join(f"{k} {v:+.2f}" for k, v in shift.items())
        lines.append(f"  In the population, {groups.get('shift_level')}-logic organisations have "
                     f"{moved}; the values below are those of the others.")
    return "\n".join(lines)
    return 0
