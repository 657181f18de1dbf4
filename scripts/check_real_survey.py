"""A real survey's quirks, simulated and caught: run validate, fit, pls and compare on it.

500 respondents answer a collective-action questionnaire with every quirk a real survey has:
missing-value codes (-99 for 'no answer', 99 for 'don't know'), two reverse-keyed items
(is3, oca2), mixed scales (the ipol items on a 6-point scale, the others on a 5-point one),
0.1% missing cells and 5% straight-liners (one box ticked throughout). The script checks
that each quirk is caught and named, first with no data options (as a new user would run
it), then that every command runs with the options the checks ask for. Exit status 1 if a
quirk goes unnamed or a command fails.

    python scripts/check_real_survey.py [--out DIR] [--quick]

``--quick`` uses fewer draws and bootstrap replicates (for a first look; the defaults take a
few minutes on 2 cores, mostly compiling the Bayesian models).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from connective.cli import main

MODEL = """# collective action: identity, injustice and political efficacy
IS =~ is1 + is2 + is3 + is4
CI =~ ci1 + ci2 + ci3
IPOL =~ ipol1 + ipol2 + ipol3
OCA =~ oca1 + oca2 + oca3
CI ~ a*IS
IPOL ~ c*IS
OCA ~ b*CI + d*IPOL + IS
via_ci := a*b
via_ipol := c*d
"""
REVERSED = ["is3", "oca2"]
CODES = {-99: 0.01, 99: 0.005}  # share of cells
OPTIONS = ["--missing-codes", "-99,99", "--likert", "ipol*=1-6,*=1-5", "--reverse",
           ",".join(REVERSED)]


def simulate_survey(n: int = 500, seed: int = 15) -> tuple[pd.DataFrame, int]:
    """The quirky survey (answers, then reversal, straight-liners, codes and missing cells)
    and its number of straight-liners."""
    rng = np.random.default_rng(seed)
    IS = rng.standard_normal(n)
    CI = 0.5 * IS + np.sqrt(0.75) * rng.standard_normal(n)
    IPOL = 0.4 * IS + np.sqrt(0.84) * rng.standard_normal(n)
    OCA = 0.35 * CI + 0.3 * IPOL + 0.1 * IS + 0.75 * rng.standard_normal(n)
    items = {}
    for name, eta, k in (("is", IS, 4), ("ci", CI, 3), ("ipol", IPOL, 3), ("oca", OCA, 3)):
        top = 6 if name == "ipol" else 5
        for j in range(1, k + 1):
            latent = 0.75 * eta / eta.std() + np.sqrt(1 - 0.75 ** 2) * rng.standard_normal(n)
            cuts = np.quantile(latent, np.linspace(0, 1, top + 1)[1:-1] + 0.05)
            items[f"{name}{j}"] = 1 + np.searchsorted(cuts, latent)
    frame = pd.DataFrame(items).astype(float)
    for col in REVERSED:
        frame[col] = 6 - frame[col]  # as printed on the questionnaire (1-5)
    values = frame.to_numpy()
    liners = rng.choice(n, size=n // 20, replace=False)
    values[liners, :] = rng.integers(1, 6, size=len(liners))[:, None]
    for code, share in CODES.items():
        flat = rng.choice(values.size, size=int(share * values.size), replace=False)
        values[np.unravel_index(flat, values.shape)] = code
    holes = rng.choice(values.size, size=max(1, int(0.001 * values.size)), replace=False)
    values[np.unravel_index(holes, values.shape)] = np.nan
    return pd.DataFrame(values, columns=frame.columns).astype("Int64"), len(liners)


def run(*argv: str) -> tuple[int, str]:
    """One command in-process: exit status and everything it printed."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, buffer.getvalue()


def main_script(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for the runs (default: "
                        "a temporary folder)")
    parser.add_argument("--quick", action="store_true", help="fewer draws and replicates")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="real_survey_"))
    out.mkdir(parents=True, exist_ok=True)
    model, data = out / "collective_action.lav", out / "survey.csv"
    model.write_text(MODEL)
    frame, n_liners = simulate_survey()
    frame.to_csv(data, index=False)
    draws = ["--draws", "200" if args.quick else "500", "--tune", "200" if args.quick else "500",
             "--chains", "2", "--seed", "1"]
    boot = ["--boot", "200" if args.quick else "1000"]
    checks: list[tuple[str, bool, str]] = []

    def caught(quirk: str, text: str, *needles: str) -> None:
        line = next((ln.strip() for ln in text.splitlines() if all(n in ln for n in needles)), "")
        checks.append((quirk, bool(line), line[:150]))

    # 1. as a new user runs it: no options
    code, text = run("validate", str(model), "--data", str(data))
    checks.append(("validate without options refuses the data (exit 2)", code == 2, f"exit {code}"))
    caught("missing-value code -99", text, "the value -99 stands far", "--missing-codes -99,99")
    caught("missing-value code 99", text, "the value 99 stands far", "--missing-codes -99,99")
    caught("reverse-keyed is3", text, "block IS: is3", "--reverse is3")
    caught("reverse-keyed oca2", text, "block OCA: oca2", "--reverse oca2")
    caught("5% straight-liners", text, "gave the same answer to all 13 items")
    found = next((int(ln.split()[1]) for ln in text.splitlines()
                  if "gave the same answer to all 13 items" in ln), 0)
    checks.append(("straight-liners counted", found >= 0.9 * n_liners,
                   f"{found} found of {n_liners} simulated"))
    caught("0.1% missing cells", text, "missing answer")
    # mixed scales: one range for every item catches the 6-point ones
    code, text = run("validate", str(model), "--data", str(data), "--missing-codes", "-99,99",
                     "--likert", "1-5")
    caught("6-point ipol items under --likert 1-5", text, "ipol1 has answers outside its scale 1-5")
    # 2. with the options the checks ask for, every command runs
    code, text = run("validate", str(model), "--data", str(data), *OPTIONS)
    checks.append(("validate with the options passes", code == 0, f"exit {code}"))
    caught("no reverse-keyed warning once declared", "" if "reverse_keyed" in text or
           "correlates negatively" in text or "correlate negatively" in text else "ok", "ok")
    commands = {
        "fit": ["fit", str(model), "--data", str(data), "--out", str(out / "fit"), *OPTIONS,
                *draws, "--quiet"],
        "pls": ["pls", str(model), "--data", str(data), "--out", str(out / "pls"), *OPTIONS,
                "--missing", "mean", *boot, "--seed", "1", "--consistent", "--quiet"],
        "compare": ["compare", str(model), "--data", str(data), "--out", str(out / "compare"),
                    *OPTIONS, "--missing", "casewise", *boot, *draws],
    }
    for name, command in commands.items():
        code, text = run(*command)
        checks.append((f"{name} runs", code == 0, f"exit {code}" + (f": {text[-300:]}" if code
                                                                      else "")))
    if (out / "fit" / "summary.json").is_file():
        import json

        s = json.loads((out / "fit" / "summary.json").read_text())
        checks.append(("fit keeps its PPP with missing answers", s.get("ppp") is not None,
                       f"PPP {s.get('ppp')} ({s.get('ppp_discrepancy')})"))
    width = max(len(q) for q, _, _ in checks)
    for quirk, ok, line in checks:
        print(f"{'ok  ' if ok else 'MISS'} {quirk:<{width}}  {line}")
    failed = [q for q, ok, _ in checks if not ok]
    print(f"\n{len(checks) - len(failed)} of {len(checks)} checks pass; runs in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main_script())
