"""timescan.plot draws real figures (Agg backend)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import timescan
import timescan.plot


@pytest.fixture(scope="module")
def scored(spiky_fleet):
    engine = timescan.Engine(window="1min", learn="2h")
    engine.ingest(spiky_fleet)
    engine.flush()
    return engine


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_is_importable_as_attribute():
    assert timescan.plot is not None
    assert callable(timescan.plot.baseline)


def test_baseline_plot_has_band_observed_and_findings(scored, tmp_path):
    ax = timescan.plot.baseline(scored, "c-1", "count.request")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["expected (~98% band)", "expected mean", "observed", "finding"]
    assert "c-1" in ax.get_title()
    ax.figure.savefig(tmp_path / "baseline.png")
    assert (tmp_path / "baseline.png").stat().st_size > 10_000


def test_baseline_plot_of_known_values(scored):
    ax = timescan.plot.baseline(scored, "c-0", "request.subject")
    assert len(ax.patches) == 4  # one bar per known route


def test_baseline_plot_on_given_axes(scored):
    fig, ax = plt.subplots()
    assert timescan.plot.baseline(scored, "c-0", "count.exec", ax=ax, start="2026-11-02T02:00:00Z",
                                  end="2026-11-02T02:30:00Z") is ax


def test_heatmap_of_engine_and_of_a_frame(scored):
    ax = timescan.plot.heatmap(scored)
    image = ax.get_images()[0]
    assert image.get_array().shape == (4, 60)
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "c-1"  # highest score first
    ws = scored.window_scores()
    ax2 = timescan.plot.heatmap(ws, max_entities=2, max_columns=20, threshold=scored.threshold)
    assert ax2.get_images()[0].get_array().shape == (2, 20)


def test_heatmap_without_scores():
    ax = timescan.plot.heatmap(timescan.Engine())
    assert ax.texts[0].get_text() == "no scored windows"


def test_finding_figure(scored):
    fig = timescan.plot.finding(scored, 0)
    assert len(fig.axes) == 2  # reasons and the count around the finding
    found = scored.findings()
    fig2 = timescan.plot.finding(scored, found.iloc[-1], context="30min")
    assert fig2.axes
    with pytest.raises(timescan.Error, match="findings"):
        timescan.plot.finding(scored, 99)
