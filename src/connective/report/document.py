"""A report as a list of blocks, written as self-contained HTML and a Markdown twin.

Blocks are headings, paragraphs, tables (DataFrames, with a caption and an APA-style note)
and figures (matplotlib figures, kept as SVG with their text as text). ``write`` puts into
one folder: ``report.html`` (figures embedded, no external files), ``report.md`` (figures
beside it in ``figures/``), every figure as SVG in ``figures/``, and every table as CSV and
LaTeX in ``tables/``. The folder is written as one unit
(:func:`connective.folders.run_folder`).

Honest at a glance: a report opens with the verdict of every fit it shows (:meth:`Report.verdict`),
and a table or figure made from a fit that failed its checks carries a mark (``fit=``).

Cells are formatted text for people (:func:`fmt`, :func:`fmt_interval`, :func:`fmt_estimate`)
that remember their numbers: the CSV files get plain numbers (an estimate and its interval in
three columns, ASCII minus), the LaTeX files are escaped by pandas' ``Styler.to_latex``.

Example
-------
>>> import pandas as pd, tempfile
>>> doc = Report("Demo")
>>> doc.paragraph("Synthetic data.")
>>> doc.table(pd.DataFrame({"effect": ["a"], "est": [0.123]}), "Effects", name="effects")
>>> out = doc.write(tempfile.mkdtemp())
>>> sorted(p.name for p in out.iterdir())
['report.html', 'report.md', 'run.json', 'tables']
>>> doc = Report("Demo")
>>> doc.verdict("Bayesian fit", False, "R-hat 1.05")
>>> doc.table(pd.DataFrame({"a": [fmt_estimate(0.5, 0.1, 0.9)]}), "Paths", name="p", fit="Bayesian fit")
>>> "FAILED" in doc.to_markdown()
True
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


class _Cell:
    """Text as the report shows it that remembers its numbers. Not a ``str`` subclass, so
    that pandas keeps the object (it turns strings into its string dtype); it behaves as its
    text wherever a string is expected (formatting, comparison, concatenation)."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return repr(self.text)

    def __format__(self, spec: str) -> str:
        return format(self.text, spec)

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self.text)

    def __len__(self) -> int:
        return len(self.text)

    def __add__(self, other) -> str:
        return self.text + str(other)

    def __radd__(self, other) -> str:
        return str(other) + self.text


class Num(_Cell):
    """A number as shown (``−0.12``) with its ``value``."""

    def __init__(self, text: str, value: float):
        super().__init__(text)
        self.value = value


class Interval(_Cell):
    """An interval as shown (``[0.12, 0.45]``, or ``fixed``) with its ``lower`` and ``upper``."""

    def __init__(self, text: str, lower: float, upper: float):
        super().__init__(text)
        self.lower, self.upper = lower, upper


class Estimate(_Cell):
    """An estimate with its interval as shown (``0.47 [0.33, 0.60]``), and its numbers."""

    def __init__(self, text: str, value: float, lower: float, upper: float):
        super().__init__(text)
        self.value, self.lower, self.upper = value, lower, upper


def _float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def fmt(x, digits: int = 2, *, leading_zero: bool = True) -> str:
    """A number as APA tables show it: fixed digits, a true minus sign, optionally no
    leading zero (for values that cannot exceed 1, such as probabilities). The result
    remembers the number (:class:`Num`), so the table's CSV holds it in full.

    Example
    -------
    >>> fmt(-0.1234), fmt(0.9871, 3, leading_zero=False), fmt(float("nan"))
    ('−0.12', '.987', '—')
    >>> fmt(-0.1234).value
    -0.1234
    """
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return Num("—", float("nan"))
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if not isinstance(x, (int, float, np.number)):
        return str(x)
    text = f"{float(x):.{digits}f}"
    if not leading_zero:
        text = re.sub(r"^(-?)0\.", r"\1.", text)
    return Num(text.replace("-", "−"), float(x))


def fmt_interval(lo, hi, digits: int = 2) -> str:
    """An interval as ``[0.12, 0.45]`` (an :class:`Interval`)."""
    return Interval(f"[{fmt(lo, digits)}, {fmt(hi, digits)}]", _float(lo), _float(hi))


def fmt_estimate(est, lo, hi, digits: int = 2) -> str:
    """An estimate and its interval in one cell, ``0.47 [0.33, 0.60]`` (an
    :class:`Estimate`: three columns in the CSV).

    >>> cell = fmt_estimate(0.47, 0.33, 0.6)
    >>> cell, (cell.value, cell.lower, cell.upper)
    ('0.47 [0.33, 0.60]', (0.47, 0.33, 0.6))
    """
    return Estimate(f"{fmt(est, digits)} {fmt_interval(lo, hi, digits)}", _float(est),
                    _float(lo), _float(hi))


def numeric_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as the CSV holds it: numbers as numbers (an estimate with its interval as
    ``col``, ``col lower``, ``col upper``; an interval as ``col lower``, ``col upper``), text
    with an ASCII minus.

    Example
    -------
    >>> t = pd.DataFrame({"Effect": ["a"], "Est.": [fmt_estimate(-0.5, -0.9, -0.1)]})
    >>> numeric_frame(t).columns.tolist(), float(numeric_frame(t).iloc[0, 1])
    (['Effect', 'Est.', 'Est. lower', 'Est. upper'], -0.5)
    """
    out = {}
    for col in frame.columns:
        cells = list(frame[col])
        kinds = {type(c) for c in cells if isinstance(c, (Num, Interval, Estimate))}
        name = str(col)
        def number(c, attr: str) -> float:  # other cells ("—", text) have no number
            return getattr(c, attr, np.nan) if isinstance(c, _Cell) else np.nan

        if Estimate in kinds or Interval in kinds:
            if Estimate in kinds:
                out[name] = [number(c, "value") for c in cells]
            out[f"{name} lower"] = [number(c, "lower") for c in cells]
            out[f"{name} upper"] = [number(c, "upper") for c in cells]
        elif kinds == {Num} and all(isinstance(c, Num) or c is None or c == "—" for c in cells):
            out[name] = [number(c, "value") for c in cells]
        else:
            out[name] = [str(c).replace("−", "-") if isinstance(c, (str, _Cell)) else c
                         for c in cells]
    return pd.DataFrame(out)


@dataclass
class _Block:
    kind: str
    text: str = ""
    frame: pd.DataFrame | None = None
    note: str = ""
    name: str = ""
    svg: bytes = b""
    level: int = 2
    fit: str | tuple | None = None


@dataclass
class Verdict:
    """Whether one fit passed its checks, and in words what was checked or what failed."""

    fit: str
    ok: bool
    text: str


@dataclass
class Report:
    """A document under construction (see the module doc)."""

    title: str
    subtitle: str = ""
    blocks: list[_Block] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    #: one paragraph per run: always the last section
    provenance: list[str] = field(default_factory=list)

    def verdict(self, fit: str, ok: bool, text: str) -> None:
        """The verdict of one fit: the report opens with every fit's verdict, and its
        tables and figures (``fit=`` this name) carry a mark if it failed."""
        self.verdicts = [v for v in self.verdicts if v.fit != fit] + [Verdict(fit, ok, text)]

    def failed(self, fit) -> list[str]:
        """The fits among ``fit`` (a name or several) that failed their checks."""
        names = (fit,) if isinstance(fit, str) or fit is None else tuple(fit)
        return [v.fit for v in self.verdicts if v.fit in names and not v.ok]

    def _mark(self, b: _Block) -> str:
        failed = self.failed(b.fit)
        return (f"FAILED CHECKS ({', '.join(failed)}): do not report as it is. " if failed
                else "")

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(_Block("heading", text, level=level))

    def paragraph(self, text: str) -> None:
        self.blocks.append(_Block("paragraph", text))

    def table(self, frame: pd.DataFrame, caption: str, *, name: str, note: str = "",
              fit: str | None = None) -> None:
        """A table; cells should already be formatted text (see :func:`fmt`). ``fit``: the
        name of the fit (:meth:`verdict`) its numbers come from."""
        _check_name(name)
        self.blocks.append(_Block("table", caption, frame=frame, note=note, name=name, fit=fit))

    def figure(self, fig, caption: str, *, name: str, fit: str | None = None) -> None:
        """A matplotlib figure (closed after rendering), kept as SVG with text as text."""
        from connective.figures import release

        _check_name(name)
        svg = readable_svg(fig, name)
        release(fig)
        self.blocks.append(_Block("figure", caption, name=name, svg=svg, fit=fit))

    # -- rendering ----------------------------------------------------------------------------
    def to_html(self) -> str:
        parts = [f"<h1>{html.escape(self.title)}</h1>"]
        if self.subtitle:
            parts.append(f'<p class="subtitle">{html.escape(self.subtitle)}</p>')
        if self.verdicts:
            parts.append('<section id="verdict"><h2>Verdict</h2>' + "".join(
                f'<p class="{"pass" if v.ok else "fail"}"><b>{"PASS" if v.ok else "FAIL"}'
                f"</b> {html.escape(v.fit)}: {html.escape(v.text)}</p>" for v in self.verdicts)
                + "</section>")
        n_table = n_figure = 0
        for b in self.blocks:
            if b.kind == "heading":
                parts.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
            elif b.kind == "paragraph":
                parts.append(f"<p>{html.escape(b.text)}</p>")
            elif b.kind == "table":
                n_table += 1
                parts.append(_html_table(b.frame, f"Table {n_table}", self._mark(b) + b.text,
                                         b.note, b.name, self.failed(b.fit)))
            else:
                n_figure += 1
                data = base64.b64encode(b.svg).decode()
                css = ' class="failed"' if self.failed(b.fit) else ""
                parts.append(f'<figure id="{b.name}"{css}><img alt="{html.escape(b.text)}" '
                             f'src="data:image/svg+xml;base64,{data}"><figcaption><b>Figure '
                             f"{n_figure}.</b> {html.escape(self._mark(b) + b.text)}"
                             "</figcaption></figure>")
        if self.provenance:
            parts.append('<h2 id="provenance">Provenance</h2>')
            parts += [f"<p>{html.escape(p)}</p>" for p in self.provenance]
        body = "\n".join(parts)
        return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head>"
                f"<body>\n{body}\n</body></html>\n")

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        if self.subtitle:
            lines += [f"*{self.subtitle}*", ""]
        if self.verdicts:
            lines += ["## Verdict", ""]
            lines += [f"- **{'PASS' if v.ok else 'FAIL'}** {v.fit}: {v.text}"
                      for v in self.verdicts] + [""]
        n_table = n_figure = 0
        for b in self.blocks:
            if b.kind == "heading":
                lines += [f"{'#' * b.level} {b.text}", ""]
            elif b.kind == "paragraph":
                lines += [b.text, ""]
            elif b.kind == "table":
                n_table += 1
                mark = f"**{self._mark(b).strip()}** " if self.failed(b.fit) else ""
                lines += [f"**Table {n_table}.** {mark}*{b.text}*", "",
                          _markdown_table(b.frame), ""]
                if b.note:
                    lines += [f"*Note.* {b.note}", ""]
            else:
                n_figure += 1
                lines += [f"![{b.text}](figures/{b.name}.svg)", "",
                          f"**Figure {n_figure}.** {self._mark(b)}{b.text}", ""]
        if self.provenance:
            lines += ["## Provenance", ""] + [x for p in self.provenance for x in (p, "")]
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
                atomic_write_csv(out / "tables" / f"{b.name}.csv", numeric_frame(b.frame))
                atomic_write_text(out / "tables" / f"{b.name}.tex",
                                  to_latex(b.frame, self._mark(b) + b.text))
            elif b.kind == "figure":
                with atomic_path(out / "figures" / f"{b.name}.svg") as tmp:
                    tmp.write_bytes(b.svg)
        atomic_write_text(out / "report.md", self.to_markdown())
        atomic_write_text(out / "report.html", self.to_html())


#: the page's text column (the HTML body's max-width, 60rem = 960 CSS px) in points, and the
#: smallest font size a figure may show at the width it is shown
PAGE_WIDTH_PT = 720.0
MIN_FONT_PT = 9.0


def svg_font_sizes(svg: bytes | str, shown_width_pt: float | None = None) -> list[float]:
    """The font sizes (pt) of an SVG's text as shown ``shown_width_pt`` wide (default: the
    width the page shows it at, its own up to :data:`PAGE_WIDTH_PT`): font size in the SVG
    times shown width over viewBox width.

    >>> svg = '<svg width="1440pt" viewBox="0 0 1440 100"><text style="font-size: 10px">a</text></svg>'
    >>> svg_font_sizes(svg)
    [5.0]
    """
    text = svg.decode() if isinstance(svg, bytes) else svg
    box = re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) [\d.]+"', text)
    width = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', text)
    view = float(box.group(1))
    natural = float(width.group(1)) if width else view
    shown = shown_width_pt if shown_width_pt is not None else min(natural, PAGE_WIDTH_PT)
    sizes = [float(x) for x in re.findall(r"font(?:-size)?:\s*([\d.]+)px", text)]
    return [round(x * shown / view, 3) for x in sizes]


def readable_svg(fig, name: str = "figure") -> bytes:
    """The figure as SVG with its text as text, every label at least :data:`MIN_FONT_PT`
    where the page shows it: a figure wider than the page is shrunk by the browser, so its
    small labels are enlarged until they read at 9 pt (the rule, for every figure)."""
    import matplotlib
    from matplotlib.text import Text

    svg = b""
    for _ in range(4):
        buf = io.BytesIO()
        # text stays text (its size can be read and checked); ids unique per figure
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
            fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
        svg = buf.getvalue()
        sizes = svg_font_sizes(svg)
        if not sizes or min(sizes) >= MIN_FONT_PT - 1e-3:
            return svg
        natural = svg_font_sizes(svg, float(re.search(rb'viewBox="[-\d.]+ [-\d.]+ ([\d.]+)',
                                                      svg).group(1)))
        scale = min(sizes) / min(natural)  # shown / natural
        for t in fig.findobj(Text):
            if t.get_text() and t.get_fontsize() * scale < MIN_FONT_PT:
                t.set_fontsize(MIN_FONT_PT / scale * 1.02)
    return svg


def _check_name(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
        raise ValueError(f"table name {name!r} must be a plain file name")


def _html_table(frame: pd.DataFrame, number: str, caption: str, note: str, name: str,
                failed: bool = False) -> str:
    # long identifiers in headers (serial_instrumental) may break after an underscore, so a
    # wide table still fits the page
    head = "".join(f"<th>{html.escape(str(c)).replace('_', '_<wbr>')}</th>"
                   for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    foot = f'<p class="note"><i>Note.</i> {html.escape(note)}</p>' if note else ""
    css = "table failed" if failed else "table"
    return (f'<div class="{css}" id="{name}"><p class="caption"><b>{number}</b><br>'
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


#: characters pdflatex's default fonts lack, as LaTeX writes them (after Styler's escaping)
_LATEX_SYMBOLS = {"−": "-", "–": "--", "—": "--", "->": r"$\rightarrow$", "→": r"$\rightarrow$",
                  "←": r"$\leftarrow$", "↔": r"$\leftrightarrow$", "≥": r"$\geq$",
                  "≤": r"$\leq$", "±": r"$\pm$", "×": r"$\times$", "≈": r"$\approx$",
                  "²": r"\textsuperscript{2}", "·": r"$\cdot$", "…": r"\ldots{}"}
_GREEK_CAPITALS = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi",
                   "Psi", "Omega"}


def _latex_symbols(text: str) -> str:
    """Arrows, dashes, Greek letters and other symbols as LaTeX commands; escaped text in."""
    import unicodedata

    for a, b in _LATEX_SYMBOLS.items():
        text = text.replace(a, b)
    out = []
    for ch in text:
        name = unicodedata.name(ch, "") if ord(ch) > 127 else ""
        if name.startswith("GREEK"):
            letter = name.split()[-1].capitalize()
            small = "SMALL" in name
            if small:
                cmd = "omicron" if letter == "Omicron" else letter.lower()
                out.append("o" if cmd == "omicron" else f"$\\{cmd}$")
            else:
                out.append(f"$\\{letter}$" if letter in _GREEK_CAPITALS else
                           unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
                           or letter[0])
        elif ord(ch) > 255:  # beyond Latin-1 (which utf8 inputenc covers): its ASCII base
            out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
                       or "?")
        else:
            out.append(ch)
    return "".join(out)


def to_latex(frame: pd.DataFrame, caption: str) -> str:
    """A booktabs LaTeX table, escaped by pandas' ``Styler.to_latex`` (``&``, ``%``, ``~``,
    ``^``, ``\\``, ...), with arrows, minus signs and Greek letters as LaTeX commands, so it
    compiles with pdflatex.

    Example
    -------
    >>> print(to_latex(pd.DataFrame({"Path": ["IS =~ is1"], "ρA": [fmt(-0.5)]}), "x^2 & y"))
    \\begin{table}[ht]
    \\centering
    \\caption{x\\textasciicircum 2 \\& y}
    \\begin{tabular}{ll}
    \\toprule
    Path & $\\rho$A \\\\
    \\midrule
    IS =\\textasciitilde \\space is1 & -0.50 \\\\
    \\bottomrule
    \\end{tabular}
    \\end{table}
    <BLANKLINE>
    """
    from pandas.io.formats.style_render import _escape_latex

    text = frame.astype(str).copy()
    text.columns = [str(c) for c in text.columns]
    styler = (text.style.hide(axis="index").format(escape="latex")
              .format_index(escape="latex", axis=1))
    body = styler.to_latex(column_format="l" * len(frame.columns), hrules=True,
                           position="ht", position_float="centering",
                           caption=_escape_latex(caption))
    return _latex_symbols(body)


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
#verdict p { padding: 0.3rem 0.6rem; margin: 0.3rem 0; }
#verdict .pass { background: #e6f2e6; } #verdict .fail { background: #fbe3e0; }
.failed .caption, .failed figcaption { color: #a3140b; }
.failed table { border-left: 4px solid #a3140b; }
.table { max-width: 100%; overflow-x: auto; }
figure { margin: 1rem 0; } figure img { max-width: 100%; }
figcaption { font-size: 0.9rem; }
"""
