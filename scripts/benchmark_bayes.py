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

Issue [6/12], item 1, on an idle machine (2026-12-01), whole processes, 4 x 1,000 draws:

    --cold nutpie numpyro blackjax --cold-cases normal "new model"
                                      nutpie   numpyro  blackjax   target
        flagship normal, empty caches  78.4 s   33.1 s   31.4 s     20 s
        the same, its own cache        16.0 s   24.5 s   19.9 s
        a new model after it           54.8 s   31.2 s   26.8 s     10 s
    Phases (nutpie, empty caches): imports 0.8, build 4.7, compile 64.0, sampling 8.9 s;
    the JAX backends compile the NUTS loop inside their sampling (26 s; 15-18 s cached).
    The same draws' checksum whatever the cache state, per backend. On a busy machine (load
    4-8), the demo's hierarchical model from empty caches: nutpie 674 s, numpyro 316 s,
    blackjax 183 s (target 60 s).
    --scale 200 2000 --draws 300 --tune 300 --chains 2 (busy machine): us per gradient
    against its floor (normal: a p x p Cholesky and solve; ordinal: the N x p normal CDF
    differences and their log): normal 341 us (floor 34, 9.9x) at N = 200, 377 us at
    2,000; ordinal 3,160 us (floor 688, 4.6x) at N = 200, 21,250 us (floor 7,825, 2.7x) at
    2,000, 31-39 leapfrog steps per draw, peak memory 1.1 and 1.7 GB.

Issue [6/12], item 3: the ordinal answers' log-likelihood as one fused Op with its analytic
gradient (bayes/ordered_probit_op.py; wave 1's elementwise graph stays selectable, the
"wave 1's graph" lines and the --scale ratio). Busy machine (load 6-8 on 2 cores: read the
ratios), one run each:

    --scale 200 --scale-likelihood ordinal --draws 200 --tune 200 --chains 2
        N = 200: 2,806 us per gradient, wave 1's graph 3,492 us (1.24x ours), floor 512 us
    --scale 2000 20000 --scale-likelihood ordinal --draws 0
        N = 2,000: 16,235 us per gradient, wave 1's graph 22,696 us (1.40x), floor 11,887
        N = 20,000: 140,488 us, wave 1's graph 171,003 us (1.22x), floor 119,062 (1.2x);
        8.65x the gradient of N = 2,000 for 10x N; peak memory of the built and compiled
        model 534 MB (a 4 x 1,000 fit's trace, 4.5 GB, is streamed to disk; not measured)
    --only ordinal --samplers nutpie (seed 1, cold): flagship ordinal, 31.0 leapfrog steps
        per draw (as wave 1's), min bulk ESS 1,106, R-hat 1.005, 0 divergences; at this
        load 2,534 us a step (wave 1 on an idle machine: 295), 3.5 ESS/s
    --only standin --samplers nutpie --no-marginal (seed 1, cold, empty nutpie cache for
        the model): the 500 x 21 stand-in (4 constructs, 5-point items), 878 s in all
        (compile 339 s, sampling 516 s), 26.6 leapfrog steps per draw, 4,852 us a step at
        this load, min bulk ESS 778 (target >= 400), R-hat 1.007, 0 divergences; seed 2
        (warm) 534 s, 27.2 steps per draw, min bulk ESS 814; peak memory 1.5-1.6 GB
    target_accept on the flagship ordinal (seed 1, 4 x 1,000): 0.65 takes 23.8 steps per
        draw, min bulk ESS 726 (7.6 per 1,000 gradients); 0.8, the default, 31.0 and 1,106
        (8.9), the same min ESS and R-hat as the line above (same seed); rerun at load
        about 3: 107.5 s, 10.3 ESS/s (wave 1 on an idle machine: 73 s, 13-15 ESS/s)
    flagship ordinal, one process at load about 3 (not a line of this script):
        576 us per gradient against wave 1's graph 633 us (1.10x)
    --sampler numpyro (the Op's JAX implementation), flagship ordinal, seed 1, 4 x 1,000,
        busy machine: 281 s with the JAX compile, 31.1 steps per draw, min bulk ESS 762,
        R-hat 1.005, 0 divergences

Issue [6/12], item 3, whitened factor scores (bayes/ordinal.whitened_scores) at target
acceptance 0.6 (bayes/sample.ORDINAL_TARGET_ACCEPT) and the ordered-probit kernel's tails by
Cody's approximations, one run on a quiet machine (2026-12-07), seeds 1-2, 4 x 1,000:

    --only ordinal standin --samplers nutpie --no-marginal
        flagship ordinal, whitened     15.0 steps/draw, sampling 29.0-34.7 s, min bulk ESS
                                       2,279-2,771, 78.5-79.9 ESS/s
        non-centred scores, same Op    31.0 steps/draw, 45.9-48.2 s, 810-1,015, 16.8-22.1
        wave 1's graph and scores      31.0 steps/draw, 51.1-55.3 s, 890-1,185, 17.4-21.4
        (3.7-4.6x wave 1's ESS/s in the same run, 5.2-6.1x the issue's 13-15)
        stand-in 500 x 21, 5-point     15.0 steps/draw, sampling 51.4-52.5 s, min bulk ESS
                                       927-1,217; its first fit 149.1 s with 96.2 s compiling
                                       PyTensor's numba code (target 2 minutes: missed)
        R-hat <= 1.0055, no divergences in any line.

Issue [6/12], every line in one run: --all --draws 50 --tune 50 --chains 2 (2026-12-07,
60 minutes; the author's other work shared the machine from the ordinal lines on, so read
their ratios), 4 x 1,000 draws where not said:

    first fits, whole processes (nutpie with the tape / numba code; numpyro; blackjax):
        flagship normal, empty caches    19.1 / 40.2 s; 30.4 s; 32.1 s (target 20 s)
        the same, its cache              6.8 / 8.6 s; 15.9 s; 20.4 s
        a new model after it             8.0 / 24.9 s; 28.1 s; 28.7 s (target 10 s)
        demo's hierarchical, empty       60.6 s; numpyro 119.8 s (target 60 s)
    gradients: complete 36.8 us (tape), 33.6 (numba), 89.6 (nodes); 1% missing 82.9,
        82.1, 198.3, wave 1's inverse per pattern 1,326.6
    fits: flagship normal 2.9-3.1 s, 608-639 ESS/s; 1% missing 5.7 s (1.9x); flagship
        ordinal whitened 15.0 steps/draw, 55.6-72.3 ESS/s, non-centred 11.8-12.9, wave 1
        13.8-21.2; stand-in 156.3 s cold (98.2 s compiling, one callback after the other),
        51.5 s warm, min bulk ESS 927-1,217
    scale, 2 x (50 + 50) draws: normal 48-69 us a gradient at N = 200-20,000; ordinal
        459 / 3,298 / 30,607 us at N = 200 / 2,000 / 20,000 (1.8-2.6x the floor, wave 1's
        graph 1.13-1.14x ours), 15.0 / 23.5 / 32.0 steps per draw, 311 s of sampling at
        N = 20,000 (peak memory: the process's, after the 4 x 1,000 fits; see above)
    study: 16.74 replications per minute per worker

The expand callback compiled by a helper process while the log-density compiles
(bayes/nutpie_cache.py), the stand-in, a machine whose PyTensor cache held other ordinal
models, idle: compiling 74.9 and 85.2 s one after the other, 60.9 and 69.3 s at once (two
runs each, same cache state); --only standin --samplers nutpie --no-marginal --seeds 1: 124.6 s cold
(67.7 s compiling, 54.0 s sampling; stop 31: 149.1 s with 96.2 s), the same min bulk ESS
(927) as the run before the change.

Issue [6/12], the glue of models compiled by numba left unoptimised by LLVM and the
likelihood kernel's helpers left for the kernel to optimise once (bayes/llvm_passes.py;
--numba-glue keeps numba's own level for the ratio), hierarchical normal models at a target
acceptance rate of 0.9 (2026-12-07, an idle machine but for the runs themselves):

    --only standin --samplers nutpie --no-marginal --seeds 1, each on a copy of the same
    PyTensor cache (other ordinal models compiled, not this one):
        glue unoptimised   cold 85.8 s (77.9 s in another run: 22.8 s compiling, 51.8 s
                           sampling), warm 52.4 s
        --numba-glue       cold 96.5 s, warm 54.5 s
        the same min bulk ESS (927, 1,217) and R-hat (1.0053, 1.0052): the same draws
    --only twolevel --samplers nutpie --seeds 1, the same way: cold 60.8 s (52.6 s
        compiling) against 73.7 s (65.7 s); warm 4.3 and 5.6 s; the same min ESS 756 / 840
    a new 26-item ordinal model, its two callbacks one after the other: 50.8 s against 97.1
        s of compiling, 833 against 861 us a gradient, the same draws' checksum
    the likelihood kernel from an empty numba cache: 7.8-9.6 s against 11.7-12.5 s
    --cold nutpie --cold-cases normal "new model" hierarchical ordinal (tape / numba code):
        flagship normal, empty caches   17.9 s / 36.8 s (25.4 s compiling); old and new
                                        code in turn: 18.4, 17.5, 19.9 s against 15.9,
                                        16.7, 19.8 s
        the same, its cache             9.1 / 7.6 s
        a new model after it            9.0 / 24.5 s (17.2 s compiling)
        demo's hierarchical, empty      58.2 s at 0.95 (old and new code in turn: 63.1,
                                        60.9 against 62.7, 53.7 s) / 95.3 s;
                                        at 0.9 (--seeds 3): 56.5, 56.8, 53.0 s, min ESS 999
        flagship ordinal, empty caches  168.8 and 156.7 s (117.5-132.5 s compiling every
                                        node of a new machine), min bulk ESS 2,279
    --gradients (floor 21.1 us, a busier moment than the --all run's): complete 45.5 us
        (tape), 39.5 (numba), 94.3 (nodes); 1% missing 78.6, 86.3, 214.5, wave 1 1,560.8
    --only ordinal --samplers nutpie --no-marginal --no-wave1-ordinal: flagship ordinal cold
        63.6 s (25.0 s compiling), 64.5 ESS/s; warm 33.4 s, 15.0 steps/draw, 83.0 ESS/s
    scripts/benchmark_groups.py --target-accept 0.9 / 0.95, seed 1: 600 respondents in 6
        groups 32.6 / 32.5 steps per draw, min bulk ESS 893 / 603; the demo's 8
        organisations 28.6 / 31.6, 999 / 921; the diary study (100 persons) 56.2 / 68.9,
        906 / 464; 0 divergences and R-hat <= 1.007 in all

Issue [12/12], lavaan's Demo.twolevel (two-level SEM, 2,500 respondents in 200 clusters of
5-20; --only twolevel --samplers nutpie --seeds 2), 4 x 1,000 draws, on a busy machine:

    cold 62.2 s (build, callbacks loaded from the disk cache in 13.7 s, sampling 31.7 s),
    warm 33.3 s; 8.6-8.8 leapfrog steps per draw, about 970 us/step; min bulk ESS 1,086 and
    950 (34 and 29 ESS/s); R-hat <= 1.004; 0 divergences.
    With an empty cache nutpie compiles for minutes: 137 s for the model of 200 simulated
    organisations (16 cluster sizes; one batched inverse and determinant), where PyTensor's
    own numba compilation of the same log-density and gradient takes about 15 s.

Issue [7/12]: ordinal lines also time the marginal log-likelihood that LOO uses (factor
scores integrated out per draw, connective.bayes.marginal) and print its Monte Carlo SE
(columns marginal_s, marginal_max_mcse, marginal_median_mcse).

Issue [10/12]: --only interaction, the latent interaction model (CID x EFF -> OCA, simulated
N = 194), normal items with the centred, intercept-shifted scores (the default) and with the
non-centred scores sampled before (bayes/interaction.centred_scores), and 7-point ordinal
items (bayes/interaction.py), each with the time and Monte Carlo SE of the marginal
log-likelihood LOO uses (bayes/interaction_marginal.py). Measured on a busy machine (load
about 6 on 2 cores; 2 chains x 500 draws, 500 tuning):

    python scripts/benchmark_bayes.py --only interaction --samplers nutpie --chains 2 \
        --draws 500 --tune 500 --seeds 2

    normal, centred (seeds 1, 2):     min ESS 164, 136; 16.2, 15.4 ESS/s; R-hat 1.020, 1.018
    normal, non-centred (as before):  min ESS  89,  31; 11.7,  4.3 ESS/s; R-hat 1.026, 1.068
    ordinal (non-centred):            min ESS 190, 181;  8.1, 12.6 ESS/s; R-hat 1.020, 1.014
    marginal log-likelihood: normal 8.8-11 s (0.9-1.5 x the sampling), Monte Carlo SE max
    0.048, median 0.014; ordinal (pooled proposal) 21-28 s, max 0.98, median 0.07.

Issue [6/12], items 4 and 5 (busy machine, load 10-21 on 2 cores):

    --scale [N ...]   the flagship model on simulated data at N = 200, 2,000, 20,000 per
                      likelihood, each in a new process: us per log-density gradient (one
                      BLAS thread), sampling, steps per draw, min ESS, peak memory. The
                      normal gradient is flat in N (sufficient statistics): 587 us at
                      N = 200 against 578 us at N = 20,000, interleaved in one process.
                      An ordinal trace over 256 MB (factor scores) is streamed to disk and
                      read back without the scores (bayes/sample.py); its peak memory
                      against the in-memory trace is not measured yet.
    --study [COND]    replications per minute of scripts/studies/pls_vs_bayes.toml in one
                      worker (compiled model reused): n=194, 4 replications: the first
                      53.6 s (compiling), then a median 22.6 s (PLS 0.9 s, PLSc 0.9 s,
                      Bayes 2 x 500 draws 15-20 s): 2.66 per minute and worker.

Issue [6/12], the normal likelihood as one Op (bayes/sem_normal_op.py) against the graph of
PyTensor nodes before it (--graphs op nodes wave1; --cold-graphs op nodes):

    --gradients   us per gradient of nutpie's callbacks, interleaved in one process, idle
                  machine (floor: 24 x 24 Cholesky and solve, 27.4 us): complete data Op
                  73.6, nodes 134.4 (1.83x); 1% missing (25 patterns) Op 115.5 (1.57x
                  complete's Op), nodes 276.0 (3.75x), wave 1's inverse per pattern 2,460
                  (33x). At load 8 the same run gave 218.5, 524.0, 487.2 (2.23x), 1,091, 8,984.
    --cold nutpie blackjax --cold-cases normal "new model" --cold-graphs op nodes (load 3):
                  flagship, empty caches: nutpie Op 46.3 s (compile 34.4, the kernel's 8 s
                  included), nodes 98.1 s; blackjax Op 49.6 s, nodes 28.4 s. Its cache: nutpie
                  Op 15.5 s, nodes 14.2 s. A new model after it: nutpie Op 44.1 s (compile
                  31.7), nodes 72.2 s (52.4); blackjax 35.9 and 36.1 s.

Issue [6/12], nutpie's callbacks as a tape program (bayes/tape.py, bayes/tape_kernel.py:
no machine code per model; the likelihood kernel and the interpreter compile once per
machine, in the background while a fit builds its model, bayes/warm.py) against
PyTensor's numba code per model (--cold-compilers tape numba), and the complete-data
shortcut of the likelihood kernel; idle machine (2026-12-07) unless said:

    --cold nutpie --cold-cases normal "new model" hierarchical --cold-compilers tape
        flagship normal, empty caches  18.7 s (imports 1.0, build 5.9, compile 8.8,
                                       sampling 3.0); 8 runs 17.8-22.5 s,
                                       median 20.1 s (compile: waiting
                                       8.8-11.8 s for the background)    target 20 s
        the same model, its cache       8.0-10.0 s
        a new model after it            6.6-8.8 s (e.g. build 2.9,
                                       compile 0.2, sampling 2.7)        target 10 s
        the demo's hierarchical model  67.9 and 71.9 s, min ESS 921      target 60 s
        (a fit of it with the kernels cached: build 7.3, compile 1.1, sampling 44.5,
        postprocessing 3.5 s; 31.5 leapfrog steps per draw at target_accept 0.95, 300-430
        us a gradient: 8 groups, each a 24 x 24 Sigma)
    --cold-compilers numba, the same day: flagship 73.9 and 44.4 s (58.4 and 34.1 s
        compiling), its cache 9.1 s, a new model after it 24.7 s (16.5 compiling), the
        hierarchical model 102.7 s; the flagship's and the new model's draws' checksums
        are the tape's (bit-identical chains), the hierarchical model's differ
    --study n=194 --replications 4 (beside a fresh clone's test suite): 14.63
        replications per minute and worker after the first (median 4.1 s: PLS 0.3,
        PLSc 0.3, Bayes 3.4 s); the first 9.0 s. Stop 28: 2.66 (busy machine)
    --scale 20000 --scale-likelihood ordinal --draws 50 --tune 50 --chains 2 (numba path;
        beside a test suite): 32.3 ms a gradient (wave 1's graph 34.3 ms), peak memory
        2,160 MB with the 100 draws in memory; 4 x 1,000 draws stream to disk. With the
        whitened scores (2026-12-07, alone): 31.9 ms a gradient (floor 19.2 ms, 1.7x; wave
        1's graph 35.4 ms), 32.0 leapfrog steps per draw (127 before), sampling 380 s
        (1,627 s before), peak 2,683 MB with the 100 draws, both score arrays, in memory
    backend_sizes(): nutpie 22.7 MB, numpyro (JAX) 356.8 MB, blackjax 6.9 MB more
    --gradients   complete data: tape 36.7 us, numba 35.3 us (1.04x), PyTensor nodes
                  78.7 us; floor 14.2 us. 1% missing: tape 81.3, numba 75.1, nodes 241.2,
                  wave 1's inverse per pattern 1,482.6 us. After the review's mends (the
                  interpreter's numpy error model): tape 38.9, numba 34.9 (1.11x), nodes
                  75.9; 1% missing 76.8, 73.2, 177.3, 1,322.0; floor 12.2 us
    --only missing --samplers nutpie --graphs op --seeds 2
        complete 3.28 and 3.70 s (61-71 us a step), 1% missing 6.37 and 7.36 s (124-133
        us a step): 1.94x and 1.99x (target at most 2x)
    Whole processes, the same seed: the draws' checksum is equal whatever the cache state.

Leapfrog steps per draw and us per step (wall x cores / steps, tuning included) are printed
per line; peak_mb is the process's peak resident memory so far.

    python scripts/benchmark_bayes.py --all                # every line of issue [6/12]
    python scripts/benchmark_bayes.py                      # the fits, 2 seeds per line
    python scripts/benchmark_bayes.py --seeds 10 --only normal --samplers nutpie
    python scripts/benchmark_bayes.py --only missing --samplers nutpie
    python scripts/benchmark_bayes.py --cold nutpie numpyro blackjax --seeds 1
    python scripts/benchmark_bayes.py --only twolevel --samplers nutpie
    python scripts/benchmark_bayes.py --only interaction --samplers nutpie
    python scripts/benchmark_bayes.py --scale 200 2000 20000 --draws 500 --tune 500
    python scripts/benchmark_bayes.py --only ordinal standin --samplers nutpie --no-marginal
    python scripts/benchmark_bayes.py --study n=194 --replications 5
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
import json, sys, time, warnings
t0 = time.perf_counter()
warnings.filterwarnings("ignore")
backend, case, graph, compiler = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
from connective.bayes import build_model, compile_model, fit, sample
import importlib
sampling = importlib.import_module("connective.bayes.sample")  # (the package's sample is a function)
from connective.bayes.results import summary
from connective.data.readers import read_survey
from connective.data.validate import validate_survey
from connective.resources import flagship_data_path, model_path
from connective.spec import read_model
sampling.COMPILER = compiler  # fit() and sample() compile with it
if backend == "nutpie":  # as fit() does: the kernels compile while the model is built
    from connective.bayes import warm
    warm.start()
t_import = time.perf_counter() - t0
name = "connective_action_direct" if case == "new model" else "connective_action"
spec = read_model(model_path(name))
survey = read_survey(flagship_data_path())
t1 = time.perf_counter()
if case == "hierarchical":  # the demo's: organisations, logic as group-level predictor
    frame = validate_survey(survey, spec, scale=(1, 7), keep=["logic"],
                            group="organisation").frame
    result = fit(spec, frame, group="organisation", group_predictor="logic", draws=1000,
                 tune=1000, chains=4, seed=1, sampler=backend)
    idata, t_build, t_compile = result.idata, 0.0, 0.0
else:
    frame = survey.frame[list(spec.observed)]
    bm = build_model(spec, frame, likelihood="ordinal" if case == "ordinal" else "normal",
                     fused=graph == "op")
    t_build = time.perf_counter() - t1
    t2 = time.perf_counter()
    if backend == "nutpie":
        compile_model(bm)
    t_compile = time.perf_counter() - t2
    idata = sample(bm, draws=1000, tune=1000, chains=4, seed=1, sampler=backend, progress=False)
total = time.perf_counter() - t0
s = summary(idata)
x = idata.posterior["parameters"].values
print("RESULT " + json.dumps(dict(
    total=round(total, 1), imports=round(t_import, 1), data=round(t1 - t0 - t_import, 1),
    build=round(t_build, 1), compile=round(t_compile, 1),
    sample=round(total - (t1 - t0) - t_build - t_compile, 1),
    min_ess=round(s["min_ess_bulk"]), max_r_hat=round(s["max_r_hat"], 4),
    divergences=s["divergences"], checksum=f"{float(x.sum()):.12g}",
    compiler=idata.attrs.get("compiler", "-"))))
"""

#: the cases of --cold: each is run in a new process on an empty cache folder; "new model"
#: runs in the folder the flagship normal fit of that backend left (a machine that fitted
#: another model: PyTensor's per-Op numba cache and JAX's persistent cache already filled)
COLD_CASES = ("normal", "new model", "ordinal", "hierarchical")
#: the targets of issue [6/12], item 1 (whole process, seconds)
COLD_TARGETS = {"normal": 20, "new model": 10, "hierarchical": 60}


def _cold_process(backend, case, folder, src, graph="op", compiler="tape"):
    # numba's own cache (the fused normal Op's kernel) in the folder too: a new machine
    env = dict(os.environ, PYTHONPATH=src, PYTENSOR_FLAGS=f"base_compiledir={folder}",
               NUMBA_CACHE_DIR=os.path.join(folder, "numba-functions"))
    out = subprocess.run([sys.executable, "-c", COLD_SNIPPET, backend, case, graph, compiler],
                         env=env,
                         capture_output=True, text=True)
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT")]
    if not line:
        print(f"  {backend} {case}: failed\n{out.stderr[-2000:]}", flush=True)
        return None
    import json

    return json.loads(line[0][len("RESULT "):])


def cold_start(backends, cases, repeats, graphs=("op",), compilers=("tape",)):
    """Whole processes (imports included) on an empty cache folder, then on the folder the
    first left behind: seconds by phase, min bulk ESS, R-hat, divergences, and a checksum of
    the draws (the same whatever the cache state); the targets of issue [6/12] beside.
    ``graphs``: the normal likelihood as one Op (``op``, bayes/sem_normal_op.py) and/or as
    the graph of PyTensor nodes before it (``nodes``), one after the other per case;
    ``compilers``: nutpie's callbacks as a tape program (``tape``, bayes/tape.py) and/or
    PyTensor's numba machine code per model (``numba``, wave 1's path)."""
    import tempfile

    src = str(Path(__file__).resolve().parents[1] / "src")
    print("whole process, 4 chains x 1,000 draws (+1,000 tuning); seconds: total = imports "
          "+ data + build + compile (nutpie) + sampling (JAX backends compile inside it)")
    import itertools

    for _, case, graph, compiler, backend in itertools.product(range(repeats), cases, graphs,
                                                                compilers, backends):
        if backend != "nutpie" and compiler != compilers[0]:
            continue  # the JAX backends compile with XLA whatever the choice
        folder = tempfile.mkdtemp(prefix="connective-cold-")
        # (what the process is, which fit it runs, whether the case's target applies)
        states = [("empty cache", case, True)]
        if case == "new model":  # fill the cache with another model first
            states = [("filling the cache: flagship normal", "normal", False),
                      ("a new model after it", "new model", True)]
        elif case == "normal":
            states.append(("cache of that run", "normal", False))
        for state, run_case, targeted in states:
            r = _cold_process(backend, run_case, folder, src, graph, compiler)
            if r is None:
                break
            target = COLD_TARGETS.get(case) if targeted else None
            aim = f" (target {target} s)" if target else ""
            phases = (f"imports {r['imports']} + data {r['data']} + build "
                      f"{r['build']} + compile {r['compile']} + sampling {r['sample']}"
                      if run_case != "hierarchical" else
                      f"imports {r['imports']} + data {r['data']} + build, compile and "
                      f"sampling {r['sample']}")
            label = f"{backend} {graph}" if run_case in ("normal", "new model") else backend
            if backend == "nutpie":
                label += f" {r['compiler']}"
            print(f"  {case:<12} {label:<21} {state}: {r['total']} s{aim} = {phases}; "
                  f"min ESS {r['min_ess']}, R-hat {r['max_r_hat']}, {r['divergences']} "
                  f"divergences, draws' sum {r['checksum']}", flush=True)


SCALE_SNIPPET = """
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
n, likelihood, draws, tune, chains = int(sys.argv[1]), sys.argv[2], *map(int, sys.argv[3:6])
from connective.bayes import build_model, sample
from connective.bayes.results import summary
from connective.data.simulate import read_values_file, simulate
from connective.resources import flagship_values_path, model_path
from connective.spec import read_model
spec = read_model(model_path("connective_action"))
values = {k: v for k, v in read_values_file(flagship_values_path()).items() if k != "groups"}
frame = simulate(spec, n, values=values, seed=11, likert=7).frame[list(spec.observed)]
t0 = time.perf_counter()
bm = build_model(spec, frame, likelihood=likelihood)
build = time.perf_counter() - t0
# microseconds per log-density gradient: a compiled function of the logp and its gradient
import pytensor
m = bm.model
point = m.initial_point()
def gradient_function(model):
    # one logp graph for the value and the gradient, as nutpie compiles them (two calls of
    # model.logp() build two graphs, which PyTensor does not always merge)
    logp = model.logp()
    return pytensor.function(model.value_vars, [logp, *pytensor.grad(logp, model.value_vars)],
                             mode="NUMBA")
f = gradient_function(m)
args = [point[v.name] for v in m.value_vars]
f(*args)
reps = max(5, int(2e5 / n))
import importlib
# one BLAS thread, as the sampler runs (a multi-threaded BLAS on a busy machine took 10x)
blas = importlib.import_module("connective.bayes.sample").single_threaded_blas
def time_us(functions, arguments):
    # median us per call of each function, interleaved (5 rounds of reps calls)
    times = [[] for _ in functions]
    with blas():
        for _ in range(5):
            for fn, a, out in zip(functions, arguments, times):
                t1 = time.perf_counter()
                for _ in range(reps):
                    fn(*a)
                out.append((time.perf_counter() - t1) / reps * 1e6)
    return [float(np.median(t)) for t in times]
times = time_us([f], [args])
# the floor of one gradient (issue [6/12]): what any implementation must compute. Normal:
# a p x p Cholesky and triangular solve (the likelihood needs Sigma's factor and Sigma^-1 S);
# ordinal: the N x p normal CDF differences of the answers and their log
import math
import numba
p = len(spec.observed)
if likelihood == "normal":
    @numba.njit(cache=False)
    def floor_fn(A, B):
        return np.linalg.solve(np.linalg.cholesky(A), B)
    A = np.cov(frame.to_numpy(float).T) + np.eye(p)
    floor_args = (A, A.copy())
else:
    @numba.njit(cache=False)
    def floor_fn(lo, hi):
        total = 0.0
        for i in range(lo.size):
            total += math.log(0.5 * (math.erfc(-hi[i] / math.sqrt(2.0))
                                     - math.erfc(-lo[i] / math.sqrt(2.0))))
        return total
    lo = np.random.default_rng(0).normal(size=n * p)
    floor_args = (lo, lo + 1.0)
floor_fn(*floor_args)
floor = time_us([floor_fn], [floor_args])
wall, steps, s, trace = None, None, dict(min_ess_bulk=None, max_r_hat=None), "not sampled"
if draws:  # --draws 0: the gradients and the memory of the model only
    t0 = time.perf_counter()
    idata = sample(bm, draws=draws, tune=tune, chains=chains, seed=1, progress=False)
    wall = time.perf_counter() - t0
    s = summary(idata)
    steps = float(idata.sample_stats["n_steps"].mean())
    trace = "streamed to disk" if idata.attrs.get("streamed_to_disk") else "in memory"
# peak memory of the fit (before wave 1's graph below is built)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
wave1 = None
if likelihood == "ordinal":  # wave 1's graph of the same model, timed interleaved with ours
    from connective.bayes import ordinal
    ordinal.ANSWER_LOGP = "graph"
    f_graph = gradient_function(build_model(spec, frame, likelihood=likelihood).model)
    ordinal.ANSWER_LOGP = "fused"
    f_graph(*args)
    times[0], wave1 = time_us([f, f_graph], [args, args])
print("RESULT " + json.dumps(dict(
    n=n, likelihood=likelihood, dims=int(sum(a.size for a in args)),
    us_per_gradient=round(times[0], 1), wave1_us=wave1 and round(wave1, 1),
    floor_us=round(floor[0], 1), build_s=round(build, 1),
    sample_s=wall and round(wall, 1), steps_per_draw=steps and round(steps, 1),
    min_ess_bulk=s["min_ess_bulk"] and round(s["min_ess_bulk"]),
    max_r_hat=s["max_r_hat"] and round(s["max_r_hat"], 4), trace=trace, peak_mb=round(peak))))
"""


def scale_in_n(sizes, likelihoods, args):
    """Item 4 of [6/12]: each N and likelihood in a process of its own (peak memory is the
    process's), the flagship model on data simulated from its population values (7-point
    answers): microseconds per log-density gradient (flat in N for the normal likelihood,
    which reads sufficient statistics; linear for the ordinal, which has one factor score
    per respondent and construct), sampling time and peak memory."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = dict(os.environ, PYTHONPATH=src)
    rows = []
    for likelihood in likelihoods:
        for n in sizes:
            out = subprocess.run([sys.executable, "-c", SCALE_SNIPPET, str(n), likelihood,
                                  str(args.draws), str(args.tune), str(args.chains)],
                                 env=env, capture_output=True, text=True)
            line = [x for x in out.stdout.splitlines() if x.startswith("RESULT")]
            if not line:
                print(f"  N={n} {likelihood}: failed\n{out.stderr[-2000:]}", flush=True)
                continue
            import json

            rows.append(json.loads(line[0][len("RESULT "):]))
            r = rows[-1]
            ratio = (f"; wave 1's graph {r['wave1_us']} us, "
                     f"{r['wave1_us'] / r['us_per_gradient']:.2f}x ours" if r["wave1_us"]
                     else "")
            print(f"  N={n} {likelihood}: {r['us_per_gradient']} us/gradient ({r['dims']} "
                  f"dims; floor {r['floor_us']} us, {r['us_per_gradient'] / r['floor_us']:.1f}"
                  f"x{ratio}), sampling {r['sample_s']} s, {r['steps_per_draw']} steps/draw, "
                  f"min ESS {r['min_ess_bulk']}, R-hat {r['max_r_hat']}, peak "
                  f"{r['peak_mb']} MB (trace {r['trace']})", flush=True)
    if rows:
        table = pd.DataFrame(rows)
        first = table.groupby("likelihood")["us_per_gradient"].transform("first")
        table["gradient_vs_smallest_n"] = (table["us_per_gradient"] / first).round(2)
        print(table.to_string(index=False))


def _callback_call(compiled):
    """A call of nutpie's compiled log-density-and-gradient callback at the model's initial
    point, through ctypes (about a microsecond of its own), checked to succeed."""
    import ctypes

    x = np.ascontiguousarray(compiled.initial_point_func(1), dtype=float)
    out, logp = np.empty_like(x), np.empty(1)
    ptr = ctypes.POINTER(ctypes.c_double)
    args = (ctypes.c_uint64(x.size), x.ctypes.data_as(ptr), out.ctypes.data_as(ptr),
            logp.ctypes.data_as(ptr), ctypes.c_void_p(compiled.user_data.ctypes.data))
    function = compiled.compiled_logp_func.ctypes
    if function(*args) != 0:
        raise RuntimeError("the log-density callback failed at the initial point")

    def call(keep=(compiled, x, out, logp)):  # the data the pointers point to stay alive
        return function(*args)

    return call


def gradient_costs(repeats: int = 7, evals: int = 300) -> None:
    """Microseconds per log-density gradient of nutpie's compiled callbacks (nutpie's own
    timer, one thread), interleaved in one process so that a busy machine slows every line
    alike: the flagship normal model, complete and with 1% of cells missing, for each graph
    of the normal likelihood and each compiler that can take it (the tape program and
    PyTensor's numba machine code), beside the floor (a p x p Cholesky factor and
    solve)."""
    import numba

    from connective.bayes import build_model, compile_model
    from connective.bayes.sample import single_threaded_blas
    from connective.data.readers import read_frame
    from connective.resources import flagship_data_path, model_path
    from connective.spec import read_model

    spec = read_model(model_path("connective_action"))
    complete = read_frame(flagship_data_path())[list(spec.observed)]
    holes = with_missing(complete, 0.01)
    lines = {}
    for label, frame in (("complete", complete), ("1% missing", holes)):
        for graph in GRAPHS:
            if label == "complete" and graph == "wave1":  # the same graph as "nodes"
                continue
            for compiler in ("tape", "numba"):
                bm = build_model(spec, frame, **GRAPHS[graph])
                compiled = compile_model(bm, compiler)
                if bm.compiled_by != compiler:  # the tape cannot hold that graph
                    continue
                lines[(label, f"{graph} {compiler}")] = (_callback_call(compiled),
                                                         len(bm.stats.patterns))

    @numba.njit(cache=False)
    def floor_fn(A, B):
        return np.linalg.solve(np.linalg.cholesky(A), B)

    p = len(spec.observed)
    A = np.cov(complete.to_numpy(float).T) + np.eye(p)
    floor_fn(A, A)
    times = {key: [] for key in lines}
    floor = []
    with single_threaded_blas():
        for _ in range(repeats):
            for key, (call, _) in lines.items():
                t0 = time.perf_counter()
                for _ in range(evals):
                    call()
                times[key].append((time.perf_counter() - t0) / evals * 1e6)
            t0 = time.perf_counter()
            for _ in range(evals):
                floor_fn(A, A)
            floor.append((time.perf_counter() - t0) / evals * 1e6)
    base = float(np.median(times[("complete", "op tape")]))
    print(f"us per log-density gradient (nutpie's callbacks, median of {repeats} x {evals}, "
          f"interleaved); floor: a {p} x {p} Cholesky and solve, "
          f"{np.median(floor):.1f} us")
    for (label, graph), values in times.items():
        us = float(np.median(values))
        patterns = lines[(label, graph)][1]
        print(f"  {label:<11} ({patterns:>2} patterns) {graph:<12} {us:8.1f} us  "
              f"{us / base:5.2f} x complete data's Op (tape)  "
              f"{us / np.median(floor):5.1f} x the floor")


def study_rate(condition: str, replications: int) -> None:
    """Item 5 of [6/12]: replications per minute of the PLS-vs-Bayes study file in one
    worker, run as a study worker runs them (``run_replication``: simulate, then every
    method; a compiled Bayesian model is reused on the next replication's data, which
    changes no draw, see tests/bayes/test_reproducible.py). The first replication compiles
    (or loads the compiled model from the disk cache); the rate is of the later ones. A
    study runs one such worker per core."""
    import json
    import tempfile

    from connective.studies.runner import _study, run_replication
    from connective.studies.store import Store

    path = str(Path(__file__).resolve().parent / "studies" / "pls_vs_bayes.toml")
    study = _study(path)
    chosen = next(c for c in study.conditions if c.id == condition
                  or c.id.startswith(condition + "_"))
    out = tempfile.mkdtemp(prefix="connective-study-bench-")
    rows = []
    for rep in range(replications):
        t0 = time.perf_counter()
        run_replication(path, out, chosen.index, rep)
        wall = time.perf_counter() - t0
        seconds = {}
        for m in study.methods:
            record = json.loads(Store(out).path(chosen.id, m.name, rep).read_text())
            seconds[m.name] = record["seconds"]
        rows.append(dict(replication=rep, wall_s=round(wall, 2), **seconds))
        print(f"  {chosen.id} replication {rep}: {wall:.1f} s "
              f"({', '.join(f'{k} {v:.1f} s' for k, v in seconds.items())})", flush=True)
    table = pd.DataFrame(rows)
    later = table["wall_s"].iloc[1:]
    print(table.to_string(index=False))
    if len(later):
        print(f"replications per minute and worker after the first: {60 / later.median():.2f} "
              f"(median {later.median():.1f} s; the first, compiling: "
              f"{table['wall_s'].iloc[0]:.1f} s)")


#: how the normal likelihood is built (run_case): one Op (bayes/sem_normal_op.py, the
#: default), the graph of PyTensor nodes before it (missing answers: Schur steps), wave 1's
#: graph (missing answers: an inverse per pattern)
GRAPHS = {"op": dict(fused=True), "nodes": dict(fused=False),
          "wave1": dict(fused=False, fiml="patterns")}


#: the name of an ordinal line that uses wave 1's elementwise graph of the answers'
#: log-likelihood instead of the fused Op (bayes/ordered_probit_op.py), for the ratio
WAVE1_GRAPH = "wave 1's graph and scores"
#: the name of an ordinal line with the fused Op and wave 1's standard-normal factor scores
#: (not whitened, bayes/ordinal.whitened_scores)
NON_CENTRED = "non-centred scores"

#: the 500 x 21 stand-in for a real survey (issue [6/12], item 3): 4 constructs
STAND_IN = """
A =~ a1 + a2 + a3 + a4 + a5
B =~ b1 + b2 + b3 + b4 + b5
C =~ c1 + c2 + c3 + c4 + c5
D =~ d1 + d2 + d3 + d4 + d5 + d6
D ~ A + B + C
"""


def run_case(name, spec, frame, args, sampler, likelihood, graph="op"):
    from connective.bayes import build_model, compile_model, sample
    from connective.bayes.results import summary

    from connective.bayes import interaction

    from connective.bayes import ordinal

    t0 = time.perf_counter()
    # the interaction model's scores with normal items: centred (the default) or not; the
    # ordinal answers' log-likelihood: the fused Op (the default) or wave 1's graph
    interaction.NORMAL_SCORES = "non-centred" if "non-centred" in name else "centred"
    # wave 1's ordinal path: the elementwise graph and standard-normal (not whitened) scores
    ordinal.ANSWER_LOGP = "graph" if WAVE1_GRAPH in name else "fused"
    ordinal.SCORES = "non-centred" if WAVE1_GRAPH in name or NON_CENTRED in name \
        else "whitened"
    try:
        bm = build_model(spec, frame, likelihood=likelihood, **GRAPHS[graph])
    finally:
        interaction.NORMAL_SCORES = "centred"
        ordinal.ANSWER_LOGP = "fused"
        ordinal.SCORES = "whitened"
    build = time.perf_counter() - t0
    compile_s, cache = 0.0, ""
    if sampler == "nutpie":
        t0 = time.perf_counter()
        compiled = compile_model(bm)
        compile_s = time.perf_counter() - t0
        # were nutpie's callbacks loaded from the disk cache, or compiled in this run?
        cache = "disk" if getattr(compiled.compiled_logp_func, "cache_hits", 0) else "compiled"
    rows = []
    seeds = range(args.seed, args.seed + max(args.seeds or 2, 2))
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
                         graph=graph if likelihood == "normal" and not bm.interactions
                         else "",
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
        if ((likelihood == "ordinal" or bm.interactions) and "factor_scales" in idata.posterior
                and args.marginal):
            # issues [7/12] and [10/12]: the marginal log-likelihood LOO uses
            # (bayes/marginal.py, bayes/interaction_marginal.py), timed against the sampling
            from connective.bayes.interaction_marginal import interaction_marginal_draws
            from connective.bayes.results import ordinal_marginal_draws
            from connective.bayes.tables import parameter_draws

            t0 = time.perf_counter()
            if bm.interactions:
                theta = parameter_draws(idata).transpose("chain", "draw", "param").to_numpy()
                marginal = interaction_marginal_draws(idata.posterior, bm, theta, seed=seed)
            else:
                marginal = ordinal_marginal_draws(idata.posterior, bm, seed=seed)
            rows[-1].update(marginal_s=round(time.perf_counter() - t0, 2),
                            marginal_max_mcse=round(float(marginal.mcse.max()), 4),
                            marginal_median_mcse=round(float(np.median(marginal.mcse)), 4))
            print(f"  {name} marginal log-likelihood ({marginal.nodes} points per respondent "
                  f"and draw): {rows[-1]['marginal_s']} s ({rows[-1]['marginal_s'] / wall:.2f}"
                  f" x the sampling), Monte Carlo SE max {rows[-1]['marginal_max_mcse']}, "
                  f"median {rows[-1]['marginal_median_mcse']}", flush=True)
        r = rows[-1]
        print(f"  {name} {likelihood} {sampler} {r['graph']} seed {seed} {r['run']}: "
              f"{r['wall_s']} s, {r['steps_per_draw']} steps/draw, {r['us_per_step']} us/step, "
              f"min ESS "
              f"{r['min_ess_bulk']}, {r['ess_per_s']} ESS/s, R-hat {r['max_r_hat']}, "
              f"{r['divergences']} divergences", flush=True)
    return rows


def run_twolevel_case(args, sampler):
    """lavaan's Demo.twolevel (2,500 respondents in 200 clusters of 5-20; two-level SEM, its
    likelihood from within sums of squares and cluster means by cluster size,
    connective.bayes.twolevel): build + compile, then sampling per seed, as run_case."""
    from connective.bayes.results import summary
    from connective.bayes.sample import compile_model, sample
    from connective.bayes.twolevel import build_twolevel_model
    from connective.spec.levels import check_cluster_data, parse_twolevel

    bench = Path(args.benchmarks)
    two = parse_twolevel((bench / "reference" / "lavaan_tutorial" / "twolevel.lav").read_text(),
                         source="twolevel.lav")
    frame = check_cluster_data(two, pd.read_csv(bench / "data" / "Demo.twolevel.csv"),
                               "cluster")
    t0 = time.perf_counter()
    tm = build_twolevel_model(two, frame, "cluster")
    build = time.perf_counter() - t0
    compile_s = 0.0
    if sampler == "nutpie":
        t0 = time.perf_counter()
        compile_model(tm)
        compile_s = time.perf_counter() - t0
    rows = []
    for i, seed in enumerate(range(args.seed, args.seed + max(args.seeds or 2, 2))):
        t0 = time.perf_counter()
        idata = sample(tm, draws=args.draws, tune=args.tune, chains=args.chains, seed=seed,
                       sampler=sampler, progress=False)
        wall = time.perf_counter() - t0
        s = summary(idata)
        per_draw = float(idata.sample_stats["n_steps"].mean())
        cores = min(args.chains, os.cpu_count() or 1)
        all_steps = per_draw * args.chains * (args.draws + args.tune)
        rows.append(dict(case="Demo.twolevel (N=2500, 200 clusters)", likelihood="two-level",
                         sampler=sampler, seed=seed, graph="", steps_per_draw=round(per_draw, 1),
                         us_per_step=round(1e6 * wall * cores / all_steps),
                         peak_mb=round(_peak_mb()),
                         run="cold" if i == 0 else "warm",
                         wall_s=round(build + compile_s + wall if i == 0 else wall, 2),
                         sample_s=round(wall, 2), compile_s=round(compile_s, 2) if i == 0 else 0,
                         callbacks="", min_ess_bulk=round(s["min_ess_bulk"]),
                         ess_per_s=round(s["min_ess_bulk"] / wall, 1),
                         max_r_hat=round(s["max_r_hat"], 4), divergences=s["divergences"]))
        r = rows[-1]
        print(f"  Demo.twolevel {sampler} seed {seed} {r['run']}: {r['wall_s']} s (compile "
              f"{r['compile_s']} s), {r['us_per_step']} us/step, min ESS {r['min_ess_bulk']}, {r['ess_per_s']} ESS/s, "
              f"R-hat {r['max_r_hat']}, {r['divergences']} divergences", flush=True)
    return rows


#: the packages each sampling backend adds to an install (PyPI distribution names)
BACKEND_PACKAGES = {"nutpie": ["nutpie"], "numpyro": ["jax", "jaxlib", "numpyro", "ml_dtypes",
                                                    "opt_einsum"],
                    "blackjax": ["blackjax", "jaxopt", "optax", "fastprogress"]}


def backend_sizes() -> None:
    """The megabytes each backend's packages take installed (their files as pip records
    them): nutpie's own (numba and llvmlite, which the tape's interpreter also needs, come
    with PyTensor); blackjax's beside numpyro's JAX install. Measured: nutpie 22.7 MB,
    numpyro 356.8 MB (jaxlib 349 MB), blackjax 6.9 MB more."""
    from importlib import metadata

    print("installed size per backend (files pip recorded):")
    for backend, names in BACKEND_PACKAGES.items():
        total, missing = 0, []
        for name in names:
            try:
                dist = metadata.distribution(name)
            except metadata.PackageNotFoundError:
                missing.append(name)
                continue
            total += sum(f.size or 0 for f in dist.files or [])
        note = f" (not installed: {', '.join(missing)})" if missing else ""
        print(f"  {backend:<9} {total / 2**20:7.1f} MB{note}")


def every_line(args) -> None:
    """Issue [6/12]'s figures in one run, each part as its own option prints it."""
    from connective.bayes.backends import jax_available

    backend_sizes()
    backends = ["nutpie"] + [b for b in ("numpyro", "blackjax") if jax_available(b)]
    cold_start(backends, ["normal", "new model", "hierarchical"], 1, ("op",),
               ("tape", "numba"))
    gradient_costs()
    main(["--only", "normal", "missing", "ordinal", "standin", "--samplers", "nutpie",
          "--seeds", "1", "--benchmarks", args.benchmarks])
    print(f"{args.chains} chains x {args.draws} draws (+{args.tune} tuning)")
    scale_in_n([200, 2000, 20000], ["normal", "ordinal"], args)
    study_rate("n=194", args.replications)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=None,
                        help="number of seeds (the first run is cold, the rest warm; default "
                             "2, and 1 repetition of each --cold case)")
    parser.add_argument("--samplers", nargs="+", default=["nutpie", "pymc"],
                        choices=["nutpie", "numpyro", "blackjax", "pymc"])
    parser.add_argument("--only", nargs="+",
                        default=["normal", "ordinal", "poldem", "missing", "twolevel",
                                 "interaction", "standin"],
                        choices=["normal", "ordinal", "poldem", "missing", "twolevel",
                                 "interaction", "standin"],
                        help="which lines: flagship normal, flagship ordinal, PoliticalDemocracy, "
                             "flagship normal with 1%% of cells missing (one factorisation of "
                             "Sigma against wave 1's inverse per pattern), lavaan's "
                             "Demo.twolevel (two-level SEM, --cluster), the latent "
                             "interaction model (CID x EFF -> OCA, simulated N = 194, "
                             "normal and 7-point ordinal items), the 500 x 21 ordinal "
                             "stand-in survey (4 constructs, 5-point items, simulated)")
    parser.add_argument("--marginal", action=argparse.BooleanOptionalAction, default=True,
                        help="time the marginal log-likelihood of the factor-score fits")
    parser.add_argument("--wave1-ordinal", action=argparse.BooleanOptionalAction, default=True,
                        help="beside the flagship ordinal line, the same fit with wave 1's "
                             "graph of the answers' log-likelihood (for the ratio)")
    parser.add_argument("--graphs", nargs="+", default=["op", "nodes", "wave1"],
                        choices=list(GRAPHS),
                        help="the normal likelihood's graphs to run side by side: one Op "
                             "(the default), the PyTensor nodes before it, wave 1's")
    parser.add_argument("--cold", nargs="*", default=None, metavar="BACKEND",
                        help="only first fits in whole new processes on empty caches, per "
                             "backend (default: nutpie numpyro blackjax)")
    parser.add_argument("--cold-cases", nargs="+", default=list(COLD_CASES),
                        choices=COLD_CASES,
                        help="which first fits: flagship normal, a new model on a machine "
                             "that fitted the flagship one, flagship ordinal, the demo's "
                             "hierarchical model")
    parser.add_argument("--cold-graphs", nargs="+", default=["op"], choices=["op", "nodes"],
                        help="the normal likelihood of the --cold cases: one Op "
                             "(bayes/sem_normal_op.py, the default) and/or wave 1's graph")
    parser.add_argument("--cold-compilers", nargs="+", default=["tape", "numba"],
                        choices=["tape", "numba"],
                        help="--cold: nutpie's callbacks as a tape program (bayes/tape.py) "
                             "and/or PyTensor's numba machine code per model (wave 1's)")
    parser.add_argument("--scale", nargs="*", type=int, default=None, metavar="N",
                        help="only the scale in N: the flagship model on simulated data of "
                             "these sizes (default: 200 2000 20000), each in a new process")
    parser.add_argument("--scale-likelihood", nargs="+", default=["normal", "ordinal"],
                        choices=["normal", "ordinal"])
    parser.add_argument("--study", nargs="?", const="n=194", default=None,
                        metavar="CONDITION",
                        help="only the replications per minute of "
                             "scripts/studies/pls_vs_bayes.toml in one worker (default "
                             "condition n=194)")
    parser.add_argument("--replications", type=int, default=5)
    parser.add_argument("--gradients", action="store_true",
                        help="only the microseconds per gradient of each normal graph, "
                             "complete and with 1%% of cells missing, interleaved")
    parser.add_argument("--benchmarks", default=str(Path(__file__).resolve().parents[2]
                                                    / "shared" / "benchmarks"))
    parser.add_argument("--fresh-cache", action="store_true",
                        help="compile into an empty PyTensor cache (as on a new machine)")
    parser.add_argument("--numba-glue", action="store_true",
                        help="models compiled by numba in this process: the glue around the "
                             "nodes' functions optimised at numba's own level, as before "
                             "bayes/llvm_passes.py (for the ratio of compile times; another "
                             "cache entry, the same draws)")
    parser.add_argument("--all", action="store_true",
                        help="every line of issue [6/12] in one run: the backends' "
                             "install sizes, first fits from empty caches per backend and "
                             "compiler, microseconds per gradient, the flagship normal, "
                             "missing-answer, ordinal and stand-in fits (4 x 1,000 draws), "
                             "the scale in N (with --draws/--tune/--chains: the ordinal "
                             "model at N = 20,000 took 32 ms a gradient and 32 leapfrog "
                             "steps per draw, 311-380 s for --draws 50 --tune 50 --chains 2) "
                             "and the study's replications per minute")
    args = parser.parse_args(argv)
    if args.all:
        every_line(args)
        return
    if args.study is not None:
        study_rate(args.study, args.replications)
        return
    if args.gradients:
        gradient_costs()
        return
    if args.scale is not None:
        print(f"{args.chains} chains x {args.draws} draws (+{args.tune} tuning)")
        scale_in_n(args.scale or [200, 2000, 20000], args.scale_likelihood, args)
        return
    if args.cold is not None:
        cold_start(args.cold or ["nutpie", "numpyro", "blackjax"], args.cold_cases,
                   args.seeds or 1, args.cold_graphs, args.cold_compilers)
        return
    if args.fresh_cache:  # before PyTensor is imported, which reads the flag once
        import os
        import tempfile

        os.environ["PYTENSOR_FLAGS"] = ",".join(filter(None, [
            os.environ.get("PYTENSOR_FLAGS", ""),
            f"base_compiledir={tempfile.mkdtemp(prefix='connective-bench-')}"]))
    if args.numba_glue:  # after the flag above: this imports PyTensor
        from connective.bayes import nutpie_cache

        nutpie_cache.GLUE_OPT_LEVEL = None

    from connective.data.readers import read_survey
    from connective.resources import flagship_data_path, model_path
    from connective.spec import parse_model, read_model

    spec = read_model(model_path("connective_action"))
    flagship = read_survey(flagship_data_path()).frame[list(spec.observed)]
    cases = [(f"connective_action (synthetic flagship, N={len(flagship)})", spec, flagship, lik)
             for lik in ("normal", "ordinal") if lik in args.only]
    if "ordinal" in args.only and args.wave1_ordinal:  # the ratios to wave 1's path
        for line in (NON_CENTRED, WAVE1_GRAPH):
            cases.append((f"connective_action (synthetic flagship, N={len(flagship)}), "
                          f"{line}", spec, flagship, "ordinal"))
    if "standin" in args.only:  # 500 x 21, 4 constructs, 5-point items, simulated
        from connective.data.simulate import simulate

        stand_in = parse_model(STAND_IN, source="stand-in")
        frame = simulate(stand_in, 500, seed=21, likert=5).frame[list(stand_in.observed)]
        cases.append(("stand-in survey (simulated, 500 x 21, 5-point)", stand_in, frame,
                      "ordinal"))
    pd_file = Path(args.benchmarks) / "data" / "PoliticalDemocracy.csv"
    if "poldem" in args.only:
        if not pd_file.is_file():
            raise SystemExit(f"{pd_file} not found; pass --benchmarks or leave out poldem")
        cases.append(("PoliticalDemocracy", parse_model(POLDEM, source="PoliticalDemocracy"),
                      pd.read_csv(pd_file), "normal"))
    if "interaction" in args.only:  # bayes/interaction.py: factor scores with a product
        from connective.data.simulate import read_values_file, simulate

        studies = Path(__file__).parent / "studies"
        mod = read_model(studies / "moderation.lav")
        values = read_values_file(studies / "moderation_population.toml")
        values["defaults"]["interaction"] = 0.2
        for lik in ("normal", "ordinal"):
            likert = {"likert": {"categories": 7}} if lik == "ordinal" else {}
            frame = simulate(mod, 194, values={**values, **likert}, seed=3).frame
            cases.append(("moderation CID:EFF (simulated, N=194)", mod,
                          frame[list(mod.observed)], lik))
            if lik == "normal":  # the scores as sampled before (and as ordinal items are)
                cases.append(("moderation CID:EFF (simulated, N=194), non-centred scores",
                              mod, frame[list(mod.observed)], lik))
    print(f"{args.chains} chains x {args.draws} draws (+{args.tune} tuning)")
    rows = []
    # complete data: wave 1's graph is the PyTensor nodes' (they differ in FIML only)
    complete_graphs = [g for g in args.graphs if not (g == "wave1" and "nodes" in args.graphs)]
    for sampler in args.samplers:
        for name, sp, fr, lik in cases:
            plain = lik == "normal" and not sp.latent_interactions
            for graph in complete_graphs if plain else ["op"]:
                rows += run_case(name, sp, fr, args, sampler, lik, graph)
        if "missing" in args.only:  # side by side: complete rows, the missing-data graphs
            holes = with_missing(flagship, 0.01)
            name = f"connective_action, 1% missing (N={len(flagship)})"
            for graph in args.graphs:
                if "normal" not in args.only and graph in complete_graphs:
                    rows += run_case(name.replace("1% missing", "complete"), spec, flagship,
                                     args, sampler, "normal", graph)
                rows += run_case(name, spec, holes, args, sampler, "normal", graph)
        if "twolevel" in args.only and sampler != "numpyro":  # (numpyro: one-level only)
            rows += run_twolevel_case(args, sampler)
    table = pd.DataFrame(rows)
    print("\nevery run (wall_s of a cold run = build + compile + sampling):")
    print(table.to_string(index=False))
    print("\nsummary by case, likelihood and sampler (warm runs):")
    warm = table[table["run"] == "warm"]
    print(warm.groupby(["case", "likelihood", "sampler", "graph"]).agg(
        runs=("seed", "size"), steps_per_draw=("steps_per_draw", "median"),
        us_per_step=("us_per_step", "median"), max_r_hat=("max_r_hat", "max"),
        min_ess_bulk=("min_ess_bulk", "min"), divergences=("divergences", "sum"),
        median_sample_s=("sample_s", "median"), median_ess_per_s=("ess_per_s", "median"))
        .to_string())


if __name__ == "__main__":
    main()
