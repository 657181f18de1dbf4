"""``connective simulate MODEL --n N --seed S --out FILE``: synthetic survey data."""

from __future__ import annotations

import argparse
from pathlib import Path

from connective.commands._options import add_model_argument, load_model
from connective.data.simulate import read_values_file, simulate
from connective.errors import ConnectiveError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate survey data from a model",
                       description="Draw N respondents from MODEL with standardised population "
                                   "values (from --values, else loadings 0.7 and paths 0.3). "
                                   "Writes FILE (CSV) and FILE's population values beside it "
                                   "(<stem>.population.toml), which marks the data as synthetic.")
    add_model_argument(p)
    p.add_argument("--n", type=int, required=True,
                   help="number of respondents (a two-level model: of organisations, each "
                        "with the values file's [clusters] sizes, default 5-20 respondents)")
    p.add_argument("--seed", type=int, help="random seed (recorded; drawn if not given)")
    p.add_argument("--out", required=True, metavar="FILE", help="output CSV file")
    p.add_argument("--values", metavar="FILE",
                   help="population values (TOML; see connective.data.population)")
    p.add_argument("--likert", type=int, metavar="K", help="cut indicators into K categories")
    p.add_argument("--missing", type=float, metavar="RATE",
                   help="share of answers missing completely at random")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from connective.commands._twolevel import simulate_twolevel_command, wants_twolevel

    if wants_twolevel(args):  # level: blocks: --n organisations (data/simulate_levels.py)
        return simulate_twolevel_command(args)
    spec = load_model(args)
    out = Path(args.out)
    if out.exists() and not args.force:
        raise ConnectiveError(f"{out} exists; choose another --out or pass --force to replace it")
    values = read_values_file(args.values) if args.values else None
    sim = simulate(spec, args.n, values=values, seed=args.seed, likert=args.likert,
                   missing=args.missing, source=args.values or "the population values")
    data_path, pop_path = sim.write(out)
    print(f"wrote {data_path} ({args.n} rows, SYNTHETIC, seed {sim.population['seed']})")
    print(f"wrote {pop_path} (the population values: the truth to recover)")
    return 0
