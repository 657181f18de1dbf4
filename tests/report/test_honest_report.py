"""A report a reviewer accepts (issue 16): the verdict of every fit first, marks on the
tables of a fit that failed, one point estimate per effect in every table, numeric CSV files,
LaTeX that compiles, and a comparison report made from another working directory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import arviz as az
import numpy as np
import pandas as pd
import pytest

from connective.cli import main
from connective.resources import flagship_data_path


@pytest.fixture(scope="module")
def failed_compare(tmp_path_factory):
    """A comparison whose Bayesian fit fails its checks on purpose (2 chains x 40 draws: ESS
    far below 400), beside PLS and PLSc fits that pass."""
    out = tmp_path_factory.mktemp("failed") / "compare"
    status = main(["compare", "connective_action", "--data", str(flagship_data_path()),
                   "--out", str(out), "--draws", "40", "--tune", "150", "--chains", "2",
                   "--boot", "100", "--seed", "4"])
    assert status == 0
    return out


def _tables(page: str) -> dict[str, str]:
    """Each table's CSS class by its name."""
    return {name: css for css, name in
            re.findall(r'<div class="(table(?: failed)?)" id="([^"]+)"', page)}


def test_the_verdict_of_every_fit_comes_first_and_marks_the_failed_fits_tables(
        failed_compare, capsys):
    page = (failed_compare / "report" / "report.html").read_text()
    verdict = page[page.index('id="verdict"'):page.index("</section>")]
    assert page.index('id="verdict"') < min(page.index("<table>"), page.index("<figure"))
    assert "<b>FAIL</b> Bayesian SEM (bayes): sampler diagnostics FAIL" in verdict
    assert "ESS below 400" in verdict
    assert "<b>PASS</b> PLS (pls)" in verdict and "<b>PASS</b> PLSc (plsc)" in verdict
    css = _tables(page)
    # every table made from the Bayesian fit (alone or beside PLS) is marked; PLS's own not
    for name in ("paths", "effects_indirect", "mediation_analysis", "bayes_vs_pls",
                 "r_squared_all", "loadings"):
        assert css[name] == "table failed", name
    for name in ("paths_PLS", "outer_PLSc", "htmt_PLS", "reliability_PLSc"):
        assert css[name] == "table", name
    assert "FAILED CHECKS (Bayesian SEM (bayes))" in page
    assert '<figure id="forest" class="failed">' in page


def test_one_number_per_effect_in_every_table(failed_compare):
    tables = failed_compare / "report" / "tables"
    effects = pd.read_csv(tables / "effects_indirect.csv").set_index("Effect")
    mediation = pd.read_csv(tables / "mediation_analysis.csv").set_index("Effect")
    versus = pd.read_csv(tables / "bayes_vs_pls.csv").set_index("Effect")
    post = az.from_netcdf(str(failed_compare / "bayes" / "posterior.nc")).posterior
    mean = post["effects_std_all"].mean(("chain", "draw")).to_series()
    for effect in effects.index:
        shown = {effects.loc[effect, "Std. effect"], mediation.loc[effect, "Mean"],
                 versus.loc[effect, "Bayes (std.)"]}
        assert np.allclose(list(shown), mean[effect], atol=1e-12), (effect, shown)
    # --point median: the same rule with the posterior median, named in every note
    out = failed_compare.parent / "median"
    assert main(["report", str(failed_compare), "--out", str(out), "--point", "median"]) == 0
    median = post["effects_std_all"].median(("chain", "draw")).to_series()
    med = pd.read_csv(out / "tables" / "mediation_analysis.csv").set_index("Effect")
    eff = pd.read_csv(out / "tables" / "effects_indirect.csv").set_index("Effect")
    assert np.allclose(med.loc[eff.index, "Median"], median[eff.index])
    assert np.allclose(eff["Std. effect"], median[eff.index])
    md = (out / "report.md").read_text()
    assert "posterior mean" not in md.split("## Groups")[0].replace("posterior means", "")


def test_csv_tables_are_numbers(failed_compare):
    for path in (failed_compare / "report" / "tables").glob("*.csv"):
        text = path.read_text()
        assert "−" not in text, path.name
        assert not re.search(r"-?\d\.\d+ \[", text), path.name  # no "0.47 [0.33, 0.60]" cells
        frame = pd.read_csv(path)
        for col in frame.columns:
            if col.endswith((" lower", " upper")):
                assert pd.api.types.is_numeric_dtype(frame[col]), (path.name, col)
    headline = pd.read_csv(failed_compare / "report" / "tables" / "bayes_vs_pls.csv")
    assert {"Bayes (std.)", "Bayes (std.) lower", "Bayes (std.) upper", "PLS",
            "PLS lower"} <= set(headline.columns)


def test_the_report_is_made_from_any_working_directory(failed_compare, tmp_path,
                                                       monkeypatch):
    moved = tmp_path / "elsewhere" / "cmp"
    shutil.copytree(failed_compare, moved)
    shutil.rmtree(moved / "report")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    assert main(["report", os.path.relpath(moved)]) == 0
    page = (moved / "report" / "report.html").read_text()
    assert "Bayes vs PLS" in page and "PLSc: discriminant validity (HTMT)" in page
    assert "Item-level checks skipped" not in page  # the data file found from here too
    assert page.rindex("Provenance") > page.rindex("<table>")  # provenance last


def test_sentences_per_path_and_named_effect(failed_compare):
    md = (failed_compare / "report" / "report.md").read_text()
    assert re.search(r"Of the 9 hypothesised paths and 6 named effects, \d+ have a 95% "
                     r"Bayesian interval that excludes 0", md)
    line = next(x for x in md.splitlines() if x.startswith("IS → CI: Bayes"))
    assert "P(direction) = " in line and "; PLS " in line and "; PLSc " in line
    assert next(x for x in md.splitlines() if x.startswith("obligatory (:=): Bayes"))


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed "
                    "(.ci/run installs texlive-latex-base)")
def test_latex_tables_compile(failed_compare, tmp_path):
    """Every table of the report in one document, compiled with pdflatex (booktabs rules
    fall back to \\hline where texlive-latex-base lacks booktabs)."""
    tables = sorted((failed_compare / "report" / "tables").glob("*.tex"))
    doc = tmp_path / "all.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n"
                   "\\usepackage[margin=1cm,paperwidth=60cm,paperheight=90cm]{geometry}\n"
                   "\\IfFileExists{booktabs.sty}{\\usepackage{booktabs}}{\\newcommand\\toprule"
                   "{\\hline}\\newcommand\\midrule{\\hline}\\newcommand\\bottomrule{\\hline}}\n"
                   "\\begin{document}\n" + "".join(p.read_text() + "\\clearpage\n" for p in tables)
                   + "\\end{document}\n")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "all.pdf").stat().st_size > 10_000
    assert "Missing character" not in (tmp_path / "all.log").read_text()


def test_pls_tables_reviewers_ask_for(failed_compare):
    tables = failed_compare / "report" / "tables"
    paths = pd.read_csv(tables / "paths_PLS.csv")
    assert {"Estimate", "95% CI lower", "95% CI upper", "SE", "t", "p", "VIF", "f²"} <= set(paths.columns)
    assert np.allclose(paths["t"], (paths["Estimate"] / paths["SE"]).round(2), atol=0.011)
    assert ((paths["p"] >= 0) & (paths["p"] <= 1)).all() and (paths["VIF"] >= 1 - 1e-9).all()
    outer = pd.read_csv(tables / "outer_PLSc.csv")
    assert set(outer["Kind"]) == {"loading", "weight"} and "VIF" in outer
    htmt = pd.read_csv(tables / "htmt_PLS.csv")
    # (a percentile interval of a near-0 HTMT may lie above it: HTMT is bounded by 0)
    assert (htmt["95% CI lower"] < htmt["95% CI upper"]).all() and htmt["HTMT"].notna().all()
    md = (failed_compare / "report" / "report.md").read_text()
    assert re.search(r"PLSc: SRMR of the saturated model \.0\d\d \(below the usual \.08\)", md)
    r2 = pd.read_csv(tables / "r_squared_all.csv")
    assert {"Bayes R²", "Bayes R² lower", "PLS R²", "PLS R² lower", "PLS adj.", "PLSc R²"} <= set(r2.columns)
    assert len(r2) == 6  # every endogenous construct


def test_a_run_records_where_its_data_file_is(tmp_path, monkeypatch):
    """A data file given relative to the working directory is recorded as given and as an
    absolute path, which the report's item-level checks use from another directory."""
    from connective.provenance import run_label

    (tmp_path / "survey.csv").write_text("a\n1\n")
    monkeypatch.chdir(tmp_path)
    label = run_label(model="m", model_text="", data_source="survey.csv", fingerprint="f",
                      seed=1, synthetic=False)
    assert label["data"] == "survey.csv"
    assert label["data_resolved"] == str(tmp_path.resolve() / "survey.csv")
