"""The report document: HTML self-contained, Markdown twin, CSV and LaTeX tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from connective.report.document import (Report, fmt, fmt_estimate, fmt_interval,  # noqa: E402
                                        to_latex)


def test_apa_numbers():
    assert fmt(0.1234) == "0.12" and fmt(-0.5) == "−0.50"
    assert fmt(0.04999, 3, leading_zero=False) == ".050"
    assert fmt(-0.25, leading_zero=False) == "−.25"
    assert fmt_interval(-0.1, 0.333) == "[−0.10, 0.33]"
    assert fmt(True) == "yes" and fmt("text") == "text"


def test_report_files(tmp_path):
    doc = Report("Title & more", subtitle="synthetic")
    doc.heading("Effects")
    doc.paragraph("a < b")
    frame = pd.DataFrame({"effect": ["IS -> CI -> OCA", "x_1"], "est": ["0.12", "−0.30"]})
    doc.table(frame, "Indirect effects", name="effects", note="95% intervals.")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    doc.figure(fig, "A line", name="line")
    out = doc.write(tmp_path)
    page = (out / "report.html").read_text()
    assert "<title>Title &amp; more</title>" in page and "a &lt; b" in page
    assert "IS -&gt; CI -&gt; OCA" in page and "data:image/svg+xml;base64," in page
    assert "<b>Table 1</b>" in page and "<b>Figure 1.</b>" in page
    assert "src=\"http" not in page and "<link" not in page  # nothing external
    md = (out / "report.md").read_text()
    assert "| IS -> CI -> OCA | 0.12 |" in md and "![A line](figures/line.svg)" in md
    svg = (out / "figures" / "line.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<text" in svg  # text kept as text
    assert pd.read_csv(out / "tables" / "effects.csv")["effect"].tolist() == frame["effect"].tolist()
    tex = (out / "tables" / "effects.tex").read_text()
    assert r"IS $\rightarrow$ CI $\rightarrow$ OCA & 0.12 \\" in tex and r"x\_1 & -0.30" in tex


def test_table_names_are_file_names():
    with pytest.raises(ValueError, match="plain file name"):
        Report("t").table(pd.DataFrame(), "c", name="../x")


def test_latex_has_booktabs_rules():
    tex = to_latex(pd.DataFrame({"a": [1]}), "Cap")
    assert tex.index(r"\toprule") < tex.index(r"\midrule") < tex.index(r"\bottomrule")


def test_csv_tables_hold_numbers_in_their_own_columns(tmp_path):
    doc = Report("t")
    frame = pd.DataFrame({"Effect": ["IS -> CI", "a"],
                          "Bayes": [fmt_estimate(0.4712, 0.3301, 0.6049), fmt_estimate(-0.2, -0.5, 0.1)],
                          "95% CI": [fmt_interval(-0.123, 0.5), fmt_interval(1, 2)],
                          "P": [fmt(0.9876, 3, leading_zero=False), fmt(float("nan"))]})
    doc.table(frame, "Effects", name="effects")
    out = doc.write(tmp_path / "r")
    csv = pd.read_csv(out / "tables" / "effects.csv")
    assert csv.columns.tolist() == ["Effect", "Bayes", "Bayes lower", "Bayes upper",
                                    "95% CI lower", "95% CI upper", "P"]
    assert csv["Bayes"].tolist() == [0.4712, -0.2] and csv["95% CI lower"].iloc[0] == -0.123
    assert csv["P"].iloc[0] == 0.9876 and pd.isna(csv["P"].iloc[1])
    text = (out / "tables" / "effects.csv").read_text()
    assert "[" not in text and "−" not in text
    assert "0.47 [0.33, 0.60]" in (out / "report.html").read_text()  # people still read it


def test_a_failed_fit_opens_the_report_and_marks_its_tables(tmp_path):
    doc = Report("t")
    doc.verdict("Bayesian SEM", True, "R-hat 1.003")
    doc.table(pd.DataFrame({"a": ["1"]}), "Good", name="good", fit="Bayesian SEM")
    doc.table(pd.DataFrame({"a": ["1"]}), "Groups", name="groups", fit="hierarchical")
    doc.verdict("hierarchical", False, "R-hat 1.012")  # a verdict given after its table
    page = doc.to_html()
    assert page.index('id="verdict"') < page.index("<table>")
    assert "<b>FAIL</b> hierarchical: R-hat 1.012" in page and "<b>PASS</b> Bayesian SEM" in page
    groups = page[page.index('id="groups"') - 30:]
    assert 'class="table failed"' in groups and "FAILED CHECKS (hierarchical)" in groups
    good = page[page.index('id="good"') - 30:page.index('id="groups"')]
    assert "FAILED" not in good
    md = doc.to_markdown()
    assert md.index("## Verdict") < md.index("Table 1") and "**FAIL** hierarchical" in md
    doc.write(tmp_path / "r")
    assert "FAILED CHECKS" in (tmp_path / "r" / "tables" / "groups.tex").read_text()


def test_latex_escapes_lavaan_syntax_and_symbols():
    tex = to_latex(pd.DataFrame({"Path": ["IS =~ is1", "CI ~ IS", "a^2 \\ b", "IS → CI ↔ CE"],
                                 "α ≥ .70": [fmt(-0.5), "50%", "x_1 & #", "Δ β²"]}), "ρ_A")
    assert r"IS =\textasciitilde" in tex and r"a\textasciicircum 2 \textbackslash" in tex
    assert r"$\rightarrow$" in tex and r"$\leftrightarrow$" in tex and r"$\alpha$ $\geq$" in tex
    assert r"50\%" in tex and r"x\_1 \& \#" in tex and r"$\Delta$ $\beta$\textsuperscript{2}" in tex
    assert r"\caption{$\rho$\_A}" in tex and "-0.50" in tex
    assert all(ord(ch) < 128 for ch in tex)
