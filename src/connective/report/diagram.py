"""The structural model as a path diagram, with estimates on the arrows (matplotlib only).

Constructs are placed in columns by causal depth (exogenous variables left), ordered within
a column to follow their predecessors; latent constructs are ellipses and observed variables
rectangles, as in SEM convention. Arrows that skip a column bend so they do not run through
the constructs between.

Example
-------
>>> from connective.resources import model_path
>>> from connective.spec import read_model
>>> spec = read_model(model_path("simca"))
>>> fig = path_diagram(spec, {"INJ~CID": "0.45", "EFF~CID": "0.25"}, title="SIMCA")
>>> len(fig.axes)
1
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, FancyArrowPatch, Rectangle

from connective.figures import release, subplots
from connective.io import atomic_path
from connective.spec import ModelSpec

_W, _H = 1.1, 0.55  # node size in data units


def layout(spec: ModelSpec) -> dict[str, tuple[float, float]]:
    """(x, y) of every structural variable: x = causal depth, y spread within the column."""
    parents: dict[str, list[str]] = {v: [] for v in spec.structural}
    for src, tgt in spec.paths:
        parents[tgt].append(src)
    depth: dict[str, int] = {}
    for v in spec.structural:  # topological order: parents come first
        depth[v] = 1 + max((depth[p] for p in parents[v]), default=-1)
    columns: dict[int, list[str]] = {}
    for v in spec.structural:
        columns.setdefault(depth[v], []).append(v)
    pos: dict[str, tuple[float, float]] = {}
    for d in sorted(columns):
        members = columns[d]
        # order by the mean height of their parents (fewer crossings), then model order
        members.sort(key=lambda v: (-sum(pos[p][1] for p in parents[v]) / len(parents[v])
                                    if parents[v] else 0.0))
        n = len(members)
        for i, v in enumerate(members):
            pos[v] = (d * 2.4, (n - 1) / 2 * 1.3 - i * 1.3)
    return pos


def _midpoint(x0, y0, x1, y1, bend):
    """Middle of an arc3 arrow (matplotlib's quadratic Bezier with control point offset)."""
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    cx, cy = mx + bend * (y1 - y0), my - bend * (x1 - x0)
    return (mx + cx) / 2, (my + cy) / 2


def _bend(pos, src, tgt) -> float:
    """Curvature of an arrow that skips columns: the side whose middle is farthest from the
    constructs, so that the arrow passes around them."""
    (x0, y0), (x1, y1) = pos[src], pos[tgt]
    others = [p for v, p in pos.items() if v not in (src, tgt)]

    def clearance(rad):
        # the arc's middle and quarter points, away from every other construct
        points = [_midpoint(x0, y0, x1, y1, rad), _midpoint(x0, y0, *_midpoint(x0, y0, x1, y1,
                                                                                rad), rad / 2)]
        return min(((mx - x) ** 2 + 4 * (my - y) ** 2 for x, y in others for mx, my in points),
                   default=9.0)

    candidates = (0.0, 0.15, -0.15, 0.25, -0.25, 0.35, -0.35)
    clear = [r for r in candidates if clearance(r) > 0.8]
    return clear[0] if clear else max(candidates, key=clearance)


def path_diagram(spec: ModelSpec, labels: Mapping[str, str] | None = None, *,
                 title: str = "", highlight: Mapping[str, bool] | None = None) -> Figure:
    """Draw the structural model; ``labels`` maps path names (``CI~IS``) to arrow texts.

    ``highlight`` maps path names to True for arrows drawn bold (e.g. intervals excluding 0).
    """
    labels = dict(labels or {})
    highlight = dict(highlight or {})
    pos = layout(spec)
    bends = {(s_, t_): _bend(pos, s_, t_) if abs(pos[t_][0] - pos[s_][0]) > 2.5 else 0.0
             for s_, t_ in spec.paths}
    mids = [_midpoint(*pos[s_], *pos[t_], b) for (s_, t_), b in bends.items()]
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()] + [m[1] for m in mids]
    width = max(xs) - min(xs) + 2.4
    height = max(ys) - min(ys) + 1.8
    # at most 9.5 in wide: the page shows it at its own size, labels at 9-10 pt
    fig, ax = subplots(figsize=(min(9.5, max(4.0, width * 1.5)), max(2.5, height * 1.3)))
    ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 0.9, max(ys) + 0.9)
    ax.set_aspect("equal")
    ax.axis("off")
    for v, (x, y) in pos.items():
        if v in spec.indicators:
            patch = Ellipse((x, y), _W, _H, facecolor="#eef3fb", edgecolor="#2b4c7e", lw=1.4)
        else:
            patch = Rectangle((x - _W / 2, y - _H / 2), _W, _H, facecolor="#f4f4f4",
                              edgecolor="#444444", lw=1.4)
        ax.add_patch(patch)
        ax.text(x, y, v, ha="center", va="center", fontsize=10, fontweight="bold", zorder=5)
    for src, tgt in spec.paths:
        name = f"{tgt}~{src}"
        (x0, y0), (x1, y1) = pos[src], pos[tgt]
        bend = bends[(src, tgt)]
        arrow = FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=14,
                                connectionstyle=f"arc3,rad={bend}",
                                lw=2.2 if highlight.get(name) else 1.1, color="#333333",
                                shrinkA=30, shrinkB=30, zorder=2)
        ax.add_patch(arrow)
        if name in labels:
            mx, my = _midpoint(x0, y0, x1, y1, bend)
            ax.text(mx, my, labels[name], ha="center", va="center", fontsize=9.5, zorder=6,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 110) -> Path:
    """Save a figure atomically (PNG or SVG by extension) and close it."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=dpi, bbox_inches="tight")
    release(fig)
    return path

