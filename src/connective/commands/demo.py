"""``connective demo``: the flagship analysis on the bundled synthetic survey."""

from __future__ import annotations

import argparse

from connective.commands.validate import indirect_paths_text
from connective.data.readers import read_survey
from connective.data.validate import validate_survey
from connective.resources import flagship_data_path, flagship_values_path, model_path
from connective.spec import read_model

BANNER = """\
connective demo: the connective-action model on the bundled SYNTHETIC survey
  The data (N = 194, 7-point Likert items, respondents in 8 organisations) were simulated
  from {model} with known population values ({values}); they are not real respondents."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the flagship analysis on the bundled synthetic survey",
                       description="Validate the bundled synthetic survey against the "
                                   "connective-action model and show the model, the data check "
                                   "and the indirect paths with their population values.")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    spec = read_model(model_path("connective_action"))
    data = flagship_data_path()
    survey = read_survey(data)
    print(BANNER.format(model=spec.source, values=flagship_values_path().name))
    print()
    print(spec.describe())
    print()
    checked = validate_survey(survey, spec, scale=(1, 7),
                              keep=["organisation", "logic"])
    print(survey.describe())
    print(checked.report.text())
    print()
    print(organisations_text(checked.frame, survey.population.get("groups", {})))
    print()
    print(indirect_paths_text(spec, survey.population.get("values")))
    return 0


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
