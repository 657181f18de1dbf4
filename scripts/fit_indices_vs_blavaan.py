"""Bayesian fit indices on PoliticalDemocracy against blavaan 0.4-8's blavFitIndices.

Fits the SEM of ../shared/benchmarks/reference/PoliticalDemocracy/blavaan_fit_indices.R
(4 chains x 1,000 draws, seed 7), prints each index's posterior mean with its Monte Carlo SE
beside blavaan's, and how much of each gap is due to pD (the priors differ: blavaan's pD is
read off its own BGammaHat and adjBGammaHat, adj = 1 - p / (p - pD) (1 - GammaHat)).

    python scripts/fit_indices_vs_blavaan.py [--benchmarks ../shared/benchmarks]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

#: the model of blavaan_fit_indices.R, as the lavaan conformance suite keeps it
MODEL_FILE = (Path(__file__).resolve().parents[1] / "tests" / "conformance" / "lavaan_reference"
              / "pd_sem.lav")


def main() -> None:
    import arviz as az

    from connective.bayes import fit
    from connective.bayes.fit_indices import fit_indices, posterior_fit_indices
    from connective.spec import read_model

    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", default=str(here.parent / "shared" / "benchmarks"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    bench = Path(args.benchmarks)
    frame = pd.read_csv(bench / "data" / "PoliticalDemocracy.csv")
    blav = pd.read_csv(bench / "reference" / "PoliticalDemocracy" / "blavaan_fit_indices.csv",
                       index_col=0)
    result = fit(read_model(MODEL_FILE), frame, draws=1000,
                 tune=1000, chains=4, seed=args.seed)
    print(result.verdict().text().splitlines()[0])
    ours = posterior_fit_indices(result.idata).set_index("index")
    n, v = ours.attrs["n"], ours.attrs["n_vars"]
    p = v * (v + 1) / 2 + v
    ratio = (1 - blav.loc["adjBGammaHat", "EAP"]) / (1 - blav.loc["BGammaHat", "EAP"])
    pd_blav = p - p / ratio
    # the same draws with blavaan's pD: the part of each gap that pD (the priors) explains
    disc = result.idata.discrepancy
    swapped = fit_indices(disc["chisq_obs"].values, pd_blav, disc["chisq_null"].values,
                          ours.attrs["pD_null"], n=n, n_vars=v)
    print(f"pD = p_loo: ours {ours.attrs['pD']:.1f}, blavaan's about {pd_blav:.1f} (from its "
          f"BGammaHat/adjBGammaHat); independence model p_loo {ours.attrs['pD_null']:.1f}")
    print(f"{'index':<14}{'ours':>9}{'MCSE':>8}{'blavaan':>9}{'gap':>9}{'with its pD':>13}")
    for name, row in ours.iterrows():
        b = blav.loc[name, "EAP"]
        print(f"{name:<14}{row['mean']:9.4f}{row['mcse_mean']:8.4f}{b:9.4f}"
              f"{row['mean'] - b:+9.4f}{swapped[name].mean() - b:+13.4f}")
    print(f"(draws: {az.extract(result.idata).sizes['sample']})")


if __name__ == "__main__":
    main()
