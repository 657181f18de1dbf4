"""Figures are built without switching matplotlib's global backend (the guide's rule): a
user's session keeps its backend, and importing connective does not import pyplot."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd


def test_importing_the_report_and_study_modules_leaves_pyplot_alone():
    code = ("import sys, matplotlib; matplotlib.use('svg'); "
            "import connective.report.run, connective.report.compare, connective.studies.plots, "
            "connective.compare.bayes_vs_pls, connective.ppc, connective.pls.ipma; "
            "print('matplotlib.pyplot' in sys.modules, matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "svg"]


def test_building_and_saving_figures_keeps_the_users_backend(tmp_path):
    import matplotlib

    from connective.compare.bayes_vs_pls import forest_plot
    from connective.report.diagram import path_diagram, save_figure
    from connective.spec import parse_model

    before = matplotlib.get_backend()
    fig = path_diagram(parse_model("M ~ X\nY ~ M + X"))
    save_figure(fig, tmp_path / "d.svg")
    table = pd.DataFrame({"effect": ["X -> M"], "kind": ["direct"], "bayes_est": [0.3],
                          "bayes_lower": [0.1], "bayes_upper": [0.5]})
    save_figure(forest_plot(table, []), tmp_path / "f.png")
    assert matplotlib.get_backend() == before
    assert (tmp_path / "d.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert np.isfinite(fig.get_size_inches()).all()
