"""The prior options of ``connective fit``: ``--priors``, ``--roles``, ``--simca-table``,
``--prior-only`` and ``--sensitivity``, and the run-folder tables they add (priors.csv,
simca_priors.csv, prior_checks.csv, prior_sensitivity.csv, sensitivity.csv).

Example
-------
>>> import argparse
>>> p = argparse.ArgumentParser()
>>> add_prior_arguments(p)
>>> p.parse_args(["--priors", "simca", "--roles", "identity=CID"]).priors
'simca'
"""

from __future__ import annotations

from connective.errors import ConnectiveError


def add_prior_arguments(parser) -> None:
    g = parser.add_argument_group("priors (see connective.bayes.priors for the defaults)")
    g.add_argument("--priors", metavar="SET", default=None,
                   help="a TOML file of priors keyed by parameter names (CI~IS, IS=~is1) or "
                        "labels, raw or standardised ('normal(0.3, 0.1)[std]'), merged over "
                        "the defaults; or 'simca': standardised priors on the paths among "
                        "identity, injustice, efficacy and action from the SIMCA "
                        "meta-analyses (needs --roles)")
    g.add_argument("--roles", metavar="ROLES", default=None,
                   help="with --priors simca: SIMCA's roles as the model's constructs, e.g. "
                        "identity=CID,efficacy=EFF,injustice=INJ,action=OCA (or a '# roles:' "
                        "line in the model file)")
    g.add_argument("--simca-table", metavar="FILE", default=None,
                   help="with --priors simca: a copy of the bundled table of meta-analytic "
                        "correlations (datasets/simca_meta.toml) with numbers filled in")
    g.add_argument("--prior-only", action="store_true",
                   help="sample the priors without the data's likelihood (prior predictive "
                        "check): what they imply for standardised paths, indirect effects, R² "
                        "and item correlations (prior_checks.csv)")
    g.add_argument("--sensitivity", action="store_true",
                   help="with --priors: refit under the default priors too and write both "
                        "fits' effects side by side (sensitivity.csv)")


def check_prior_arguments(args) -> None:
    """Refuse combinations that cannot work, before anything is read."""
    if args.sensitivity and not args.priors:
        raise ConnectiveError("--sensitivity compares the chosen prior set with the defaults: "
                              "add --priors FILE.toml or --priors simca")
    if args.sensitivity and args.prior_only:
        raise ConnectiveError("--sensitivity refits with the data; drop --prior-only")
    if args.roles and args.priors != "simca":
        raise ConnectiveError("--roles works with --priors simca")
    if args.prior_only and (args.group or args.likelihood != "normal"):
        raise ConnectiveError("--prior-only works with the normal likelihood of a "
                              "single-level model; drop --group and --likelihood ordinal")


def prior_set(args, spec):
    """The chosen prior set, checked against the model (errors before the data are read)."""
    from connective.bayes.prior_sets import resolve_prior_set

    return resolve_prior_set(args.priors, spec, roles=args.roles,
                             simca_table=args.simca_table)


def prior_tables(args, result, chosen, refit=None, say=print) -> dict:
    """The tables the prior options add to the run folder, and what they say on the
    console. ``refit`` fits the model again with other priors (``--sensitivity``)."""
    from connective.bayes.prior_sets import prior_table

    tables = {"priors": prior_table(result.model, chosen)}
    if chosen.table is not None:
        tables["simca_priors"] = chosen.table
    if args.prior_only:
        from connective.bayes.prior_checks import prior_check

        table, absurd = prior_check(result.idata, result.model)
        tables["prior_checks"] = table
        say(f"  prior predictive check: {absurd['share']:.0%} of the implied item "
            "correlations exceed 0.95 on average")
        if absurd["flagged"]:
            say(f"  WARNING: {absurd['message']}")
        low = table[table["share_plausible"] < 0.5]
        if len(low):
            say(f"  {len(low)} implied quantities have less than half their prior mass in "
                f"the plausible range (prior_checks.csv): "
                f"{', '.join(low['name'].head(6))}{' ...' if len(low) > 6 else ''}")
        return tables
    if "log_prior" in result.idata.groups():
        from connective.bayes.sensitivity import power_scaling

        ps = power_scaling(result.idata)
        tables["prior_sensitivity"] = ps
        flagged = ps[ps["prior_sensitive"]]
        say("  power-scaling: " + (f"{len(flagged)} quantities are prior-sensitive "
                                   f"({', '.join(flagged['name'].head(6))}"
                                   f"{' ...' if len(flagged) > 6 else ''}; "
                                   "prior_sensitivity.csv)" if len(flagged)
                                   else "no quantity is prior-sensitive"))
    if args.sensitivity and refit is not None:
        from connective.bayes.sensitivity import compare_fits

        reference = refit()
        table = compare_fits(reference, result, labels=("default", "chosen"))
        tables["sensitivity"] = table
        changed = table[table["verdict_changes"] & (table["scale"] == "raw")]
        say(f"  --sensitivity: effects' means move by up to "
            f"{table['shift_in_sd'].abs().max():.2f} posterior SDs between the default and "
            f"the chosen priors; " + (f"the verdict (interval excludes 0) changes for "
                                      f"{', '.join(changed['effect'])}" if len(changed)
                                      else "no effect's verdict changes"))
    return tables
