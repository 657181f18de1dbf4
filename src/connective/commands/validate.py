"""``connective validate MODEL --data FILE``: the model, the data check, the indirect paths."""

from __future__ import annotations

import argparse

from connective.commands._options import (add_data_arguments, add_model_argument,
                                          load_data, load_model)
from connective.effects import effect_table, no_effects_reason
from connective.spec.identification import identification


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a model file and a survey against each other",
                       description="Parse MODEL and its priors, check the survey FILE "
                                   "against it (columns, numbers, Likert ranges, likely "
                                   "missing-value codes, reverse-keyed items, straight-lining, "
                                   "copied or collinear columns, sample size) with the data "
                                   "options fit, pls and compare take, and list the model's "
                                   "indirect paths. Nothing is estimated and the data file is "
                                   "never modified.")
    add_model_argument(p)
    p.add_argument("--data", metavar="FILE",
                   help="survey data: .csv, .tsv, .xlsx, .sav (SPSS) or .dta (Stata)")
    add_data_arguments(p)
    p.set_defaults(run=run)


def indirect_paths_text(spec, population: dict | None = None) -> str:
    """The model's specific indirect paths, with population values when the data are simulated."""
    if no_effects_reason(spec):
        return no_effects_reason(spec)
    table = effect_table(spec)
    indirect = table[table["kind"] == "indirect"]
    lines = [f"Indirect paths ({len(indirect)}):"]
    values = None
    if population:
        from connective.effects import compute_effects

        effects = compute_effects(spec, population, kinds=("indirect", "defined"))
        values = dict(zip(effects["effect"].values.tolist(), effects.values.tolist()))
        lines[0] = (f"Indirect paths ({len(indirect)}) with their population values "
                    "(standardised; the data are synthetic):")
    width = max([len(e) for e in indirect["effect"]] + [len(d) for d in spec.defined], default=0)

    def line(name: str, tail: str = "") -> str:
        value = f"  {values[name]: .3f}" if values else ""
        return f"  {name:<{width}}{value}{tail}"

    lines += [line(effect) for effect in indirect["effect"]]
    if spec.defined:
        lines.append("Defined parameters:")
        lines += [line(name, f"   := {expr}") for name, expr in spec.defined.items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    spec = load_model(args)
    if (spec.partable["prior"].astype(str) != "").any():  # importing the engine takes seconds
        from connective.bayes.priors import check_model_priors

        check_model_priors(spec)  # as fit would, before any data are read
    print(spec.describe())
    ident = identification(spec)
    print(f"  identification: {ident.describe()}"
          + ("" if ident.df >= 0 else " -- NOT IDENTIFIED: fit will refuse it"))
    for message in ident.warnings:
        print(f"  WARNING: {message}")
    print()
    checked = load_data(args, spec)
    print()
    print(indirect_paths_text(spec))
    return 0 if checked.report.ok else 2
