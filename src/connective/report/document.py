"""A report as a list of blocks, written as self-contained HTML and a Markdown twin.

Blocks are headings, paragraphs, tables (DataFrames, with a caption and an APA-style note)
and figures (matplotlib figures). ``write`` puts into one folder: ``report.html`` (figures
embedded as base64 PNG, no external files), ``report.md`` (figures beside it in
``figures/``), and every table as CSV and LaTeX in ``tables/``. The folder is written as
one unit (:func:`connective.folders.run_folder`).

Example
-------
>>> import pandas as pd, tempfile
>>> doc = Report("Demo")
>>> doc.paragraph("Synthetic data.")
>>> doc.table(pd.DataFrame({"effect": ["a"], "est": [0.123]}), "Effects", name="effects")
>>> out = doc.write(tempfile.mkdtemp())
>>> sorted(p.name for p in out.iterdir())
['report.html', 'report.md', 'run.json', 'tables']
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from connective.io import atomic_path, atomic_write_csv, atomic_write_text


def fmt(x, digits: int = 2, *, leading_zero: bool = True) -> str:
    """A number as APA tables show it: fixed digits, a true minus sign, optionally no
    leading zero (for values that cannot exceed 1, such as probabilities).

    Example
    -------
    >>> fmt(-0.1234), fmt(0.9871, 3, leading_zero=False), fmt(float("nan"))
    ('−0.12', '.987', '—')
    """
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if not isinstance(x, (int, float, np.number)):
        return str(x)
    text = f"{float(x):.{digits}f}"
    if not leading_zero:
        text = re.sub(r"^(-?)0\.", r"\1.", text)
    return text.replace("-", "−")


def fmt_interval(lo, hi, digits: int = 2) -> str:
    """An interval as ``[0.12, 0.45]``."""
    return f"[{fmt(lo, digits)}, {fmt(hi, digits)}]"


@dataclass
class _Block:
    kind: str
    text: str = ""
    frame: pd.DataFrame | None = None
    note: str = ""
    name: str = ""
    png: bytes = b""
    level: int = 2


@dataclass
class Report:
    """A document under construction (see the module doc)."""

    title: str
    subtitle: str = ""
    blocks: list[_Block] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(_Block("heading", text, level=level))

    def paragraph(self, text: str) -> None:
        self.blocks.append(_Block("paragraph", text))

    def table(self, frame: pd.DataFrame, caption: str, *, name: str, note: str = "") -> None:
        """A table; cells should already be formatted text (see :func:`fmt`)."""
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
            raise ValueError(f"table name {name!r} must be a plain file name")
        self.blocks.append(_Block("table", caption, frame=frame, note=note, name=name))

    def figure(self, fig, caption: str, *, name: str) -> None:
        """A matplotlib figure (closed after rendering)."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        self.blocks.append(_Block("figure", caption, name=name, png=buf.getvalue()))

    # -- rendering ----------------------------------------------------------------------------
    def to_html(self) -> str:
        parts = [f"<h1>{html.escape(self.title)}</h1>"]
        if self.subtitle:
            parts.append(f'<p class="subtitle">{html.escape(self.subtitle)}</p>')
        n_table = n_figure = 0
        for b in self.blocks:
            if b.kind == "heading":
                parts.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
            elif b.kind == "paragraph":
                parts.append(f"<p>{html.escape(b.text)}</p>")
            elif b.kind == "table":
                n_table += 1
                parts.append(_html_table(b.frame, f"Table {n_table}", b.text, b.note, b.name))
            else:
                n_figure += 1
                data = base64.b64encode(b.png).decode()
                parts.append(f'<figure id="{b.name}"><img alt="{html.escape(b.text)}" '
                             f'src="data:image/png;base64,{data}"><figcaption><b>Figure '
                             f"{n_figure}.</b> {html.escape(b.text)}</figcaption></figure>")
        body = "\n".join(parts)
        return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head>"
                f"<body>\n{body}\n</body></html>\n")

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        if self.subtitle:
            lines += [f"*{self.subtitle}*", ""]
        n_table = n_figure = 0
        for b in self.blocks:
            if b.kind == "heading":
                lines += [f"{'#' * b.level} {b.text}", ""]
            elif b.kind == "paragraph":
                lines += [b.text, ""]
            elif b.kind == "table":
                n_table += 1
                lines += [f"**Table {n_table}.** *{b.text}*", "", _markdown_table(b.frame), ""]
                if b.note:
                    lines += [f"*Note.* {b.note}", ""]
            else:
                n_figure += 1
                lines += [f"![{b.text}](figures/{b.name}.png)", "",
                          f"**Figure {n_figure}.** {b.text}", ""]
        return "\n".join(lines)

    def write(self, out_dir: str | Path, *, overwrite: bool = False) -> Path:
        """Write report.html, report.md, figures/ and tables/ as the folder ``out_dir``, one
        unit (:func:`connective.folders.run_folder`; an existing one only with
        ``overwrite``)."""
        from connective.folders import run_folder

        with run_folder(out_dir, overwrite=overwrite, derived=True) as tmp:
            self._write_files(tmp)
        return Path(out_dir)

    def _write_files(self, out: Path) -> None:
        for b in self.blocks:
            if b.kind == "table":
                atomic_write_csv(out / "tables" / f"{b.name}.csv", b.frame)
                atomic_write_text(out / "tables" / f"{b.name}.tex", to_latex(b.frame, b.text))
            elif b.kind == "figure":
                with atomic_path(out / "figures" / f"{b.name}.png") as tmp:
                    tmp.write_bytes(b.png)
        atomic_write_text(out / "report.md", self.to_markdown())
        atomic_write_text(out / "report.html", self.to_html())


def _html_table(frame: pd.DataFrame, number: str, caption: str, note: str, name: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    foot = f'<p class="note"><i>Note.</i> {html.escape(note)}</p>' if note else ""
    return (f'<div class="table" id="{name}"><p class="caption"><b>{number}</b><br>'
            f"<i>{html.escape(caption)}</i></p><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>{foot}</div>")


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(v) -> str:
        return str(v).replace("|", "\\|")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def to_latex(frame: pd.DataFrame, caption: str) -> str:
    """A booktabs LaTeX table (no pandas Styler, so no jinja2 needed)."""
    def esc(v) -> str:
        text = str(v).replace("−", "-")
        for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                     ("#", r"\#"), ("$", r"\$"), ("{", r"\{"), ("}", r"\}"),
                     ("->", r"$\rightarrow$"), ("—", "--")):
            text = text.replace(a, b)
        return text

    cols = "l" * len(frame.columns)
    lines = [r"\begin{table}[ht]", r"\centering", f"\\caption{{{esc(caption)}}}",
             f"\\begin{{tabular}}{{{cols}}}", r"\toprule",
             " & ".join(esc(c) for c in frame.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(esc(v) for v in row) + r" \\" for row in frame.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


_CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; }
.subtitle { color: #555; }
table { border-collapse: collapse; margin: 0.4rem 0; font-size: 0.9rem; }
thead th { border-top: 2px solid #222; border-bottom: 1px solid #222; padding: 0.25rem 0.6rem;
           text-align: left; }
tbody td { padding: 0.2rem 0.6rem; }
tbody tr:last-child td { border-bottom: 2px solid #222; }
.caption { margin-bottom: 0.2rem; } .note { font-size: 0.85rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; }
figcaption { font-size: 0.9rem; }
"""
