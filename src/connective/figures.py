"""Figures of their own: matplotlib ``Figure`` objects made without pyplot, so building a
figure never switches matplotlib's global backend (a user's notebook keeps its own) and
leaves nothing in pyplot's figure registry to close.

Example
-------
>>> fig, ax = subplots(figsize=(3, 2))
>>> type(fig).__name__, len(fig.axes)
('Figure', 1)
"""

from __future__ import annotations


def subplots(nrows: int = 1, ncols: int = 1, *, figsize=None, **kwargs):
    """``(figure, axes)`` as ``plt.subplots`` returns them, the figure outside pyplot; it
    saves with ``fig.savefig`` (PNG, SVG) through matplotlib's Agg canvas."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def release(fig) -> None:
    """Close a figure pyplot made (ArviZ's plots); one of our own needs nothing."""
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)
