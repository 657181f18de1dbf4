"""Path diagram layout: causal order left to right, no overlapping constructs, labels drawn."""

from __future__ import annotations

import itertools

import pytest

from connective.report.diagram import layout, path_diagram, save_figure
from connective.resources import bundled_models, model_path
from connective.spec import read_model


@pytest.mark.parametrize("name", bundled_models())
def test_layout_follows_the_arrows_and_keeps_constructs_apart(name):
    spec = read_model(model_path(name))
    pos = layout(spec)
    assert set(pos) == set(spec.structural)
    assert all(pos[s][0] < pos[t][0] for s, t in spec.paths)
    assert all(pos[v][0] == 0 for v in spec.exogenous)
    for a, b in itertools.combinations(pos.values(), 2):
        assert abs(a[0] - b[0]) > 2.3 or abs(a[1] - b[1]) > 1.2


def test_diagram_draws_every_label(tmp_path):
    spec = read_model(model_path("connective_action"))
    labels = {f"{t}~{s}": f"{i / 10:.2f}" for i, (s, t) in enumerate(spec.paths)}
    fig = path_diagram(spec, labels, title="t")
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert set(labels.values()) <= texts and set(spec.structural) <= texts
    out = save_figure(fig, tmp_path / "d.png")
    assert out.read_bytes()[:4] == b"\x89PNG"
