"""Benchmark of the Bayesian engine: build + compile time, sampling time (cold and warm),
minimum bulk ESS, ESS per second and divergences, in one run, for

- the connective-action model on the bundled synthetic flagship survey (N = 194, 7-point
  items), with the normal and the ordinal likelihood, and
- PoliticalDemocracy (../shared/benchmarks; blavaan's reference: 11.6 s, min n_eff 875,
  about 75 effective draws per second),

each with nutpie and with PyMC's own NUTS. Targets (issue [3/6], 4 chains x 1,000 draws on
this 2-core machine): normal under 20 s cold and 8 s warm, 0 divergences, min bulk ESS >=
1,000; ordinal under 2 minutes with min bulk ESS >= 400; at least 150 ESS/s on
PoliticalDemocracy (twice blavaan's).

"cold" is the first run in this process: build + compile (or load) nutpie's callbacks +
sampling. nutpie's callbacks are cached on disk (connective.bayes.nutpie_cache), so a cold
run loads them when this machine compiled the same model before (column ``callbacks``:
disk), and compiles them otherwise; ``--fresh-cache`` uses an empty PyTensor cache, as on a
new machine. Measured with nutpie on an idle machine (2026-12-01):

    flagship normal     cold 8.5 s (1.8 s to load), warm 3.3 s, min bulk ESS 1,650-1,771
    flagship ordinal    cold 75 s (2.8 s to load), warm 71-76 s, min bulk ESS 931-1,072
    PoliticalDemocracy  cold 5.1 s, warm 2.4-2.7 s, 498-572 ESS/s (blavaan: about 75)
    --fresh-cache       cold 57 s normal (50 s compiling), 151 s ordinal (79 s), 38 s
                        PoliticalDemocracy (36 s), with the same draws as above

R-hat <= 1.006 and no divergences in every line. PyMC's NUTS on the flagship normal model:
42 s cold, 32 s warm, 52-84 ESS/s.

Issue [6/12], measured on a busy machine (load 6-7 on 2 cores: absolute times about 5-10x
an idle machine's, so read the ratios, each from one run):

    --cold nutpie numpyro --seeds 1      whole process, flagship normal, 4 x 1,000 draws:
        nutpie  empty caches 183.5 s, its own cache 32.3 s, min bulk ESS 1,650
        numpyro empty caches  61.7 s, its own cache 32.1 s, min bulk ESS 2,004
        (3.0x faster first fit; the draws' checksum equal across cache states per backend)
    --only missing --samplers nutpie --seeds 2 --draws 500 --tune 500
        warm sampling, 13.5-13.9 leapfrog steps per draw in each line, R-hat <= 1.009:
        complete rows                      15.0 s,    556 us/step, min bulk ESS 827
        1% of cells missing (25 patterns)  32.5 s,  1,168 us/step, 858 (2.2x complete)
        the same, wave 1's inverse/pattern 329.9 s, 12,064 us/step, 891 (22x complete)
        (interleaved gradient timing, median of 7: 1.86x and 17x complete's)

Issue [7/12]: ordinal lines also time the marginal log-likelihood that LOO uses (factor
scores integrated out per draw, connective.bayes.marginal) and print its Monte Carlo SE
(columns marginal_s, marginal_max_mcse, marginal_median_mcse).

Leapfrog steps per draw and us per step (wall x cores / steps, tuning included) are printed
per line; peak_mb is the process's peak resident memory so far.

    python scripts/benchmark_bayes.py                      # everything, 2 seeds per line
    python scripts/benchmark_bayes.py --seeds 10 --only normal --samplers nutpie
    python scripts/benchmark_bayes.py --only missing --samplers nutpie
    python scripts/benchmark_bayes.py --cold nutpie numpyro --seeds 1
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

#: the lavaan tutorial's model (../shared/benchmarks/REFERENCE.md, SEM 1)
POLDEM = """
ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
"""

def _peak_mb() -> float:
    """This process's peak resident memory (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def with_missing(frame, share: float, seed: int = 5):
    """``frame`` with a share of its cells missing completely at random."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return frame.astype(float).mask(rng.random(frame.shape) < share)


COLD_SNIPPET = """
import os, sys, time, warnings
t0 = time.perf_counter()
warnings.filterwarnings("ignore")
from connective.bayes import build_model, sample
from connective.bayes.results import summary
from connective.data.readers import read_survey
from connective.resources import flagship_data_path, model_path
from connective.spec import read_model
spec = read_model(model_path("connective_action"))
frame = read_survey(flagship_data_path()).frame[list(spec.observed)]
bm = build_model(spec, frame, likelihood=sys.argv[2])
idata = sample(bm, draws=1000, tune=1000, chains=4, seed=1, sampler=sys.argv[1], progress=False)
s = summary(idata)
x = idata.posterior["parameters"].values
print(f"RESULT {time.perf_counter() - t0:.1f} {s['min_ess_bulk']:.0f} {s['max_r_hat']:.4f} "
      f"{s['divergences']} {float(x.sum()):.12g}")
"""


def cold_start(backends, likelihood, repeats):
    """Whole processes (imports included) on an empty cache folder, then on the folder the
    first left behind: seconds, min bulk ESS, R-hat, divergences, and a checksum of the
    draws (the same whatever the cache state)."""
    import tempfile

    src = str(Path(__file__).resolve().parents[1] / "src")
    for backend in backends:
        for rep in range(repeats):
            folder = tempfile.mkdtemp(prefix="connective-cold-")
            env = dict(os.environ, PYTHONPATH=src,
                       PYTENSOR_FLAGS=f"base_compiledir={folder}")
            for state in ("empty cache", "cache of that run"):
                out = subprocess.run([sys.executable, "-c", COLD_SNIPPET, backend, likelihood],
                                     env=env, capture_output=True, text=True)
                line = [x for x in out.stdout.splitlines() if x.startswith("RESULT")]
                if not line:
                    print(f"  {backend}: failed\n{out.stderr[-2000:]}")
                    break
                secs, ess, rhat, div, check = line[0].split()[1:]
                print(f"  flagship {likelihood} {backend} whole process, {state}: {secs} s, "
                      f"min ESS {ess}, R-hat {rhat}, {div} divergences, draws' sum {check}",
                      flush=True)


def run_case(name, spec, frame, args, sampler, likelihood, fiml="schur"):
    from connective.bayes import build_model, compile_model, sample
    from connective.bayes.results import summary

    t0 = time.perf_counter()
    bm = build_model(spec, frame, likelihood=likelihood, fiml=fiml)
    build = time.perf_counter() - t0
    compile_s, cache = 0.0, ""
    if sampler == "nutpie":
        t0 = time.perf_counter()
        compiled = compile_model(bm)
        compile_s = time.perf_counter() - t0
        # were nutpie's callbacks loaded from the disk cache, or compiled in this run?
        cache = "disk" if getattr(compiled.compiled_logp_func, "cache_hits", 0) else "compiled"
    rows = []
    seeds = range(args.seed, args.seed + max(args.seeds, 2))
    for i, seed in enumerate(seeds):
        t0 = time.perf_counter()
        idata = sample(bm, draws=args.draws, tune=args.tune, chains=args.chains, seed=seed,
                       sampler=sampler, progress=False)
        wall = time.perf_counter() - t0
        s = summary(idata)
        cold = build + compile_s + wall if i == 0 else None
        # leapfrog steps per draw, and the wall time per step of one chain (chains run in
        # parallel, one per core: wall x cores / all steps), tuning included
        stats = idata.sample_stats
        per_draw = float(stats["n_steps"].mean())
        cores = min(args.chains, os.cpu_count() or 1)
        all_steps = per_draw * args.chains * (args.draws + args.tune)  # tuning as long
        rows.append(dict(case=name, likelihood=likelihood, sampler=sampler, seed=seed,
                         fiml=fiml if not bm.stats.complete else "",
                         steps_per_draw=round(per_draw, 1),
                         us_per_step=round(1e6 * wall * cores / all_steps),
                         peak_mb=round(_peak_mb()),
                         run="cold" if i == 0 else "warm",
                         wall_s=round(cold if cold is not None else wall, 2),
                         sample_s=round(wall, 2), compile_s=round(compile_s, 2) if i == 0 else 0,
                         callbacks=cache if i == 0 else "",
                         min_ess_bulk=round(s["min_ess_bulk"]),
                         ess_per_s=round(s["min_ess_bulk"] / wall, 1),
                         max_r_hat=round(s["max_r_hat"], 4), divergences=s["divergences"]))
        if likelihood == "ordinal" and "factor_scales" in idata.posterior:
            # issue [7/12]: the marginal log-likelihood LOO uses (bayes/marginal.py), timed
            # against the sampling it follows
            from connective.bayes.results import ordinal_marginal_draws
            from connective.bayes.tables import parameter_draws

            theta = parameter_draws(idata).transpose("chain", "draw", "param").to_numpy()
            t0 = time.perf_counter()
            marginal = ordinal_marginal_draws(idata.posterior, bm, theta, seed=seed)
            rows[-1].update(marginal_s=round(time.perf_counter() - t0, 2),
                            marginal_max_mcse=round(float(marginal.mcse.max()), 4),
                            marginal_median_mcse=round(float(np.median(marginal.mcse)), 4))
            print(f"  {name} marginal log-likelihood ({marginal.nodes} points per respondent "
                  f"and draw): {rows[-1]['marginal_s']} s ({rows[-1]['marginal_s'] / wall:.2f}"
                  f" x the sampling), Monte Carlo SE max {rows[-1]['marginal_max_mcse']}, "
                  f"median {rows[-1]['marginal_median_mcse']}", flush=True)
        r = rows[-1]
        print(f"  {name} {likelihood} {sampler} {r['fiml']} seed {seed} {r['run']}: "
              f"{r['wall_s']} s, {r['steps_per_draw']} steps/draw, {r['us_per_step']} us/step, "
              f"min ESS "
              f"{r['min_ess_bulk']}, {r['ess_per_s']} ESS/s, R-hat {r['max_r_hat']}, "
              f"{r['divergences']} divergences", flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=2,
                        help="number of seeds (the first run is cold, the rest warm)")
    parser.add_argument("--samplers", nargs="+", default=["nutpie", "pymc"],
                        choices=["nutpie", "numpyro", "pymc"])
    parser.add_argument("--only", nargs="+", default=["normal", "ordinal", "poldem", "missing"],
                        choices=["normal", "ordinal", "poldem", "missing"],
                        help="which lines: flagship normal, flagship ordinal, PoliticalDemocracy, "
                             "flagship normal with 1%% of cells missing (one factorisation of "
                             "Sigma against wave 1's inverse per pattern)")
    parser.add_argument("--cold", nargs="*", default=None, metavar="BACKEND",
                        help="only the first fit of the flagship model in whole new processes, "
                             "empty caches, per backend (default: nutpie numpyro)")
    parser.add_argument("--cold-likelihood", default="normal", choices=["normal", "ordinal"])
    parser.add_argument("--benchmarks", default=str(Path(__file__).resolve().parents[2]
                                                    / "shared" / "benchmarks"))
    parser.add_argument("--fresh-cache", action="store_true",
                        help="compile into an empty PyTensor cache (as on a new machine)")
    args = parser.parse_args(argv)
    if args.cold is not None:
        cold_start(args.cold or ["nutpie", "numpyro"], args.cold_likelihood, args.seeds)
        return
    if args.fresh_cache:  # before PyTensor is imported, which reads the flag once
        import os
        import tempfile

        os.environ["PYTENSOR_FLAGS"] = ",".join(filter(None, [
            os.environ.get("PYTENSOR_FLAGS", ""),
            f"base_compiledir={tempfile.mkdtemp(prefix='connective-bench-')}"]))

    from connective.data.readers import read_survey
    from connective.resources import flagship_data_path, model_path
    from connective.spec import parse_model, read_model

    spec = read_model(model_path("connective_action"))
    flagship = read_survey(flagship_data_path()).frame[list(spec.observed)]
    cases = [(f"connective_action (synthetic flagship, N={len(flagship)})", spec, flagship, lik)
             for lik in ("normal", "ordinal") if lik in args.only]
    pd_file = Path(args.benchmarks) / "data" / "PoliticalDemocracy.csv"
    if "poldem" in args.only:
        if not pd_file.is_file():
            raise SystemExit(f"{pd_file} not found; pass --benchmarks or leave out poldem")
        cases.append(("PoliticalDemocracy", parse_model(POLDEM, source="PoliticalDemocracy"),
                      pd.read_csv(pd_file), "normal"))
    print(f"{args.chains} chains x {args.draws} draws (+{args.tune} tuning)")
    rows = []
    for sampler in args.samplers:
        for name, sp, fr, lik in cases:
            rows += run_case(name, sp, fr, args, sampler, lik)
        if "missing" in args.only:  # side by side: complete rows, both missing-data graphs
            holes = with_missing(flagship, 0.01)
            name = f"connective_action, 1% missing (N={len(flagship)})"
            if "normal" not in args.only:
                rows += run_case(name.replace("1% missing", "complete"), spec, flagship, args,
                                 sampler, "normal")
            for fiml in ("schur", "patterns"):
                rows += run_case(name, spec, holes, args, sampler, "normal", fiml=fiml)
    table = pd.DataFrame(rows)
    print("\nevery run (wall_s of a cold run = build + compile + sampling):")
    print(table.to_string(index=False))
    print("\nsummary by case, likelihood and sampler (warm runs):")
    warm = table[table["run"] == "warm"]
    print(warm.groupby(["case", "likelihood", "sampler", "fiml"]).agg(
        runs=("seed", "size"), steps_per_draw=("steps_per_draw", "median"),
        us_per_step=("us_per_step", "median"), max_r_hat=("max_r_hat", "max"),
        min_ess_bulk=("min_ess_bulk", "min"), divergences=("divergences", "sum"),
        median_sample_s=("sample_s", "median"), median_ess_per_s=("ess_per_s", "median"))
        .to_string())


if __name__ == "__main__":
    main()
