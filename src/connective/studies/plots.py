"""Coverage and bias against sample size, one line per method, one panel per effect."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from connective.figures import subplots
from connective.report.diagram import save_figure


def plot_study(study, table: pd.DataFrame, out: Path) -> list[Path]:
    """``coverage.png`` and ``bias.png`` in ``out``; other grid settings split the lines."""
    n_of = {c.id: c.settings["n"] for c in study.conditions}
    rest = {c.id: ", ".join(f"{k}={v}" for k, v in c.settings.items() if k != "n")
            for c in study.conditions}
    table = table.assign(n=table["condition"].map(n_of), rest=table["condition"].map(rest))
    effects = list(dict.fromkeys(table["effect"]))
    paths = []
    for metric, ref, label in (("coverage", 0.95, "coverage of 95% intervals"),
                               ("bias", 0.0, "bias (estimate - truth)")):
        cols = min(3, len(effects))
        rows = -(-len(effects) // cols)
        fig, axes = subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
        for ax, effect in zip(axes.ravel(), effects):
            part = table[table["effect"] == effect]
            for (method, other), line in part.groupby(["method", "rest"], sort=False):
                line = line.sort_values("n")
                name = f"{method} ({other})" if other else method
                ax.plot(line["n"], line[metric], marker="o", label=name)
            ax.axhline(ref, color="grey", lw=0.8, ls="--")
            ax.set_title(effect, fontsize=9)
            ax.set_xlabel("n")
            ax.set_ylabel(label, fontsize=8)
        for ax in axes.ravel()[len(effects):]:
            ax.axis("off")
        axes.ravel()[0].legend(fontsize=7)
        fig.suptitle(f"{study.name}: {metric}")
        fig.tight_layout()
        paths.append(save_figure(fig, out / f"{metric}.png"))
    return paths
