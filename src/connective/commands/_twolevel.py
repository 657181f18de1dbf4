"""``connective fit MODEL --data FILE --cluster COL`` for a two-level model (``level: 1`` /
``level: 2`` blocks): reads the model with :mod:`connective.spec.levels`, fits it with
:mod:`connective.bayes.twolevel` and writes the run folder. ``fit`` hands over here when
the model file has ``level:`` blocks or ``--cluster`` is given.

Example
-------
>>> from connective.cli import main
>>> main(["fit", "twolevel.lav", "--data", "Demo.twolevel.csv", "--cluster", "cluster",
...       "--out", "out/"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse

from connective.commands._options import check_memory, data_options, model_options
from connective.errors import ConnectiveError
from connective.folders import check_target
from connective.resources import resolve_model

#: how a two-level model differs from --group, for the console and the report
VERSUS_GROUP = ("two-level model (--cluster): the items' covariance splits into a within-"
                "organisation and a between-organisation structure, each with its own factors "
                "and paths (random intercepts; the paths themselves are the same in every "
                "organisation). A hierarchical model (--group) instead lets the paths vary "
                "by organisation around population values (partial pooling).")


def wants_twolevel(args: argparse.Namespace) -> bool:
    """Whether ``fit`` should run the two-level model: ``--cluster`` or ``level:`` blocks."""
    from connective.io import read_user_text
    from connective.spec.levels import has_levels

    if getattr(args, "cluster", None):
        return True
    try:
        return has_levels(read_user_text(resolve_model(args.model), "model file"))
    except ConnectiveError:
        return False


def _refuse_options(args: argparse.Namespace, two) -> None:
    if args.group:
        raise ConnectiveError(
            f"{two.source}: --group {args.group} (a hierarchical model: paths varying by "
            "organisation) and 'level:' blocks (a two-level model: within and between "
            "structures) cannot be combined; use --cluster COL with the level blocks, or "
            "--group COL with a one-level model")
    if not args.cluster:
        raise ConnectiveError(f"{two.source}: a two-level model (level: 1 / level: 2) needs "
                              "the column of the organisations: add --cluster COLUMN")
    if args.likelihood != "normal":
        raise ConnectiveError("--likelihood ordinal has no two-level version; use --likelihood "
                              "normal with --cluster")
    if getattr(args, "summary", None):
        raise ConnectiveError("a two-level model needs respondents' rows and their "
                              "organisations: give --data FILE, not --summary")
    if args.rounding is not None:
        raise ConnectiveError("--rounding applies to fits of a printed matrix (--summary), "
                              "not to two-level models")


def run_twolevel(args: argparse.Namespace) -> int:
    """Fit a two-level model from the command line; returns the exit status."""
    import numpy as np

    from connective.bayes.twolevel import fit_twolevel
    from connective.data.validate import DataValidationError
    from connective.io import read_user_text
    from connective.spec.levels import has_levels, parse_twolevel

    path = resolve_model(args.model)
    text = read_user_text(path, "model file")
    if not has_levels(text):
        raise ConnectiveError(f"{path}: --cluster {args.cluster} fits two-level models, but the "
                              "model has no 'level: 1' / 'level: 2' blocks; write them (as "
                              "lavaan), or use --group COLUMN for paths that vary by "
                              "organisation")
    two = parse_twolevel(text, source=str(path), options=model_options(args))
    _refuse_options(args, two)
    if not args.data:
        raise ConnectiveError("no data: give the survey with --data FILE")
    options = data_options(args)
    survey = options.read(args.data)
    show = (lambda _: None) if args.quiet else print
    show(survey.describe())
    # the within block stands for the items (its quirks and scales); the cluster column and
    # the organisation-level variables ride along
    checked = options.check(survey, two.within, group=args.cluster,
                            keep=list(two.between_only), raise_on_error=False)
    show(checked.report.text())
    if not checked.report.ok:
        raise DataValidationError(checked.report)
    check_memory(two.within, chains=args.chains, draws=args.draws,
                 n_rows=len(checked.frame))
    check_target(args.out, overwrite=args.overwrite)
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    result = fit_twolevel(two, checked.frame, cluster=args.cluster, draws=args.draws,
                          tune=args.tune, chains=args.chains, cores=args.cores, seed=seed,
                          sampler=args.sampler, progress=not args.quiet,
                          data_source=checked.source, synthetic=checked.synthetic,
                          target_accept=args.target_accept, data_options=checked.options)
    paths = result.save(args.out, overwrite=args.overwrite)
    verdict = result.verdict()
    if not args.quiet:
        s = result.summary()
        levels = s["levels"]
        print("Verdict: " + ("PASS (the sampler diagnostics hold)" if verdict.ok else
                             f"FAIL: do not report these numbers as they are "
                             f"({len(verdict.problems)} problem(s) below)"))
        tag = " [SYNTHETIC data]" if checked.synthetic else ""
        print(f"{two.source} on {checked.source}{tag}: {s['chains']} chains x {s['draws']} "
              f"draws ({s['sampler']}), seed {seed}")
        print(f"  {levels['n']} respondents in {levels['clusters']} clusters of "
              f"{args.cluster!r} ({min(levels['sizes'])}-{max(levels['sizes'])} each); "
              f"divergences {s['divergences']}, max R-hat {s['max_r_hat']:.3f}, min bulk ESS "
              f"{s['min_ess_bulk']:.0f}; PPP {s['ppp_discrepancy']}")
        print("  " + VERSUS_GROUP)
        print("  " + verdict.text().replace("\n", "\n  "))
        print(f"  wrote {', '.join(str(p) for p in paths.values())}")
    return 3 if args.strict and not verdict.ok else 0


def simulate_twolevel_command(args: argparse.Namespace) -> int:
    """``connective simulate`` of a two-level model: ``--n`` organisations, their sizes and
    the between variance from the values file's ``[clusters]``, each level's population
    values from its ``[values]`` (level 1) and ``[between]`` (level 2) sections."""
    from pathlib import Path

    from connective.data.simulate import read_values_file
    from connective.data.simulate_levels import simulate_twolevel
    from connective.io import read_user_text
    from connective.spec.levels import parse_twolevel

    path = resolve_model(args.model)
    two = parse_twolevel(read_user_text(path, "model file"), source=str(path),
                         options=model_options(args))
    if args.likert or args.missing:
        raise ConnectiveError("--likert and --missing are not available for two-level "
                              "simulations; simulate continuous complete answers")
    out = Path(args.out)
    if out.exists() and not args.force:
        raise ConnectiveError(f"{out} exists; choose another --out or pass --force to replace it")
    values = dict(read_values_file(args.values, extra_sections=("between", "clusters",
                                                                 "levels"))) if args.values else {}
    for key in ("groups", "likert", "missing", "levels", "synthetic", "model", "model_sha256",
                "n", "seed", "connective_version", "data_fingerprint", "data_file",
                "group_paths"):
        if key in ("groups", "likert", "missing") and key in values:
            raise ConnectiveError(f"{args.values}: [{key}] is not available for two-level "
                                  "simulations (their organisations are [clusters])")
        values.pop(key, None)  # the record keys a population file may carry
    values["clusters"] = {**values.get("clusters", {}), "n": args.n}
    sim = simulate_twolevel(two, values, seed=args.seed,
                            source=args.values or "the population values")
    data_path, pop_path = sim.write(out)
    c = sim.population["clusters"]
    print(f"wrote {data_path} ({sim.population['n']} respondents in {c['n']} organisations "
          f"({c['column']!r}), SYNTHETIC, seed {sim.population['seed']})")
    print(f"wrote {pop_path} (both levels' population values: the truth to recover)")
    return 0
