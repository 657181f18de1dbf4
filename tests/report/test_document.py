"""The report document: HTML self-contained, Markdown twin, CSV and LaTeX tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from connective.report.document import Report, fmt, fmt_interval, to_latex  # noqa: E402


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
    assert "IS -&gt; CI -&gt; OCA" in page and "data:image/png;base64," in page
    assert "<b>Table 1</b>" in page and "<b>Figure 1.</b>" in page
    assert "src=\"http" not in page and "<link" not in page  # nothing external
    md = (out / "report.md").read_text()
    assert "| IS -> CI -> OCA | 0.12 |" in md and "![A line](figures/line.png)" in md
    assert (out / "figures" / "line.png").read_bytes()[:4] == b"\x89PNG"
    assert pd.read_csv(out / "tables" / "effects.csv")["effect"].tolist() == frame["effect"].tolist()
    tex = (out / "tables" / "effects.tex").read_text()
    assert r"IS $\rightarrow$ CI $\rightarrow$ OCA & 0.12 \\" in tex and r"x\_1 & -0.30" in tex


def test_table_names_are_file_names():
    with pytest.raises(ValueError, match="plain file name"):
        Report("t").table(pd.DataFrame(), "c", name="../x")


def test_latex_has_booktabs_rules():
    tex = to_latex(pd.DataFrame({"a": [1]}), "Cap")
    assert tex.index(r"\toprule") < tex.index(r"\midrule") < tex.index(r"\bottomrule")
