"""Plots of baselines, scores and findings (matplotlib).

    >>> import timescan.plot
    >>> timescan.plot.baseline(engine, "web-1", "count.request")   # band vs observed
    >>> timescan.plot.heatmap(engine)                               # entity x time scores
    >>> timescan.plot.finding(engine, engine.findings().iloc[0])    # one finding explained

Each function draws on the Axes (or Figure) it is given, or on a new one,
and returns it. Times are shown in UTC.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np
import pandas as pd

from ._convert import TimeLike, make_error

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ._engine import Engine

__all__ = ["baseline", "heatmap", "finding"]

_FINDING_COLOR = "#d62728"
_OBSERVED_COLOR = "#1f77b4"
_BAND_COLOR = "#7f7f7f"


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover
        raise ImportError("timescan.plot needs matplotlib: pip install matplotlib") from e
    return plt


def _naive_utc(times: Union[pd.Series, pd.DatetimeIndex]) -> np.ndarray:
    """Returns tz-aware times as naive UTC datetime64 for matplotlib."""
    index = pd.DatetimeIndex(times)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index.to_numpy()


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def baseline(engine: "Engine", entity: str, feature: str = "count.request", *,
             start: Optional[TimeLike] = None, end: Optional[TimeLike] = None,
             ax: Optional["Axes"] = None, findings: bool = True,
             title: Optional[str] = None) -> "Axes":
    """Draws an entity's feature against its baseline.

    For a count feature ("count.<kind>"): the expected band (lower..upper,
    shaded), the expected mean (dashed) and the observed events per window
    (steps), with the entity's findings marked (red spans and dots). For a
    value feature ("<kind>.subject", "<kind>.actor"): the known values and
    their counts as bars.

    Args:
      engine: the Engine that ingested the events.
      entity: an entity (or group) name, as for Engine.baseline().
      feature: as for Engine.baseline().
      start, end: only this time range.
      ax: the Axes to draw on (default: a new figure).
      findings: mark the entity's findings.
      title: the title (default: entity and feature).

    Returns:
      The Axes.
    """
    plt = _pyplot()
    data = engine.baseline(entity, feature, start=start, end=end)
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 3.2), layout="constrained")
    group = data.attrs.get("group") or ""
    ax.set_title(title if title is not None else
                 f"{entity} · {feature}" + (f" · group {group}" if group and group != entity else ""))
    if "value" in data.columns:  # known values of a categorical feature
        top = data.iloc[::-1]
        ax.barh([_shorten(v, 48) for v in top["value"]], top["count"], color=_OBSERVED_COLOR)
        ax.set_xlabel("times seen in the baseline")
        if data.empty:
            ax.text(0.5, 0.5, "no known values", ha="center", va="center", transform=ax.transAxes)
        return ax

    x = _naive_utc(data["window_start"])
    if len(x):
        ax.fill_between(x, data["lower"], data["upper"], step="post", color=_BAND_COLOR,
                        alpha=0.25, linewidth=0, label="expected (~98% band)")
        ax.step(x, data["expected"], where="post", color=_BAND_COLOR, linestyle="--",
                linewidth=1, label="expected mean")
        ax.step(x, data["observed"], where="post", color=_OBSERVED_COLOR, linewidth=1.2,
                label="observed")
    else:
        ax.text(0.5, 0.5, "no windows", ha="center", va="center", transform=ax.transAxes)
    if findings and data.attrs.get("entity"):
        found = engine.findings()
        found = found[found["entity"] == data.attrs["entity"]]
        if len(found) and len(x):
            lo, hi = x.min(), x.max() + np.timedelta64(int(engine.window.value), "ns")
            starts = _naive_utc(found["window_start"])
            ends = _naive_utc(found["window_end"])
            keep = (starts >= lo) & (starts < hi)
            observed = pd.Series(data["observed"].to_numpy(), index=x)
            for i, (s, e) in enumerate(zip(starts[keep], ends[keep])):
                ax.axvspan(s, e, color=_FINDING_COLOR, alpha=0.25, linewidth=0,
                           label="finding" if i == 0 else None)
            ys = observed.reindex(starts[keep]).to_numpy()
            ax.scatter(starts[keep], ys, color=_FINDING_COLOR, s=18, zorder=3)
    ax.set_ylabel("events per window")
    ax.set_xlabel("window start (UTC)")
    ax.set_ylim(bottom=0)
    _date_axis(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax


def _date_axis(ax: "Axes") -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def heatmap(source: Union["Engine", pd.DataFrame], *, start: Optional[TimeLike] = None,
            end: Optional[TimeLike] = None, max_entities: int = 40, max_columns: int = 300,
            threshold: Optional[float] = None, ax: Optional["Axes"] = None) -> "Axes":
    """Draws the fleet's window scores as a heat map: entities by time.

    Rows are the `max_entities` entities with the highest maximum score
    (highest first); columns are windows, merged (by maximum) so that there
    are at most `max_columns`. The colour scale runs from 0 to above the
    threshold, which is marked on the colour bar.

    Args:
      source: an Engine (its window_scores()) or a window_scores() DataFrame.
      start, end: only windows starting in [start, end).
      max_entities, max_columns: size limits (see above).
      threshold: the score marked on the colour bar (default: the engine's).
      ax: the Axes to draw on (default: a new figure).

    Returns:
      The Axes.
    """
    plt = _pyplot()
    from ._convert import time_ns

    if isinstance(source, pd.DataFrame):
        scores = source
    else:
        scores = source.window_scores()
        if threshold is None:
            threshold = float(source.threshold)
    if start is not None:
        scores = scores[scores["window_start"] >= pd.Timestamp(time_ns(start, "start"), unit="ns", tz="UTC")]
    if end is not None:
        scores = scores[scores["window_start"] < pd.Timestamp(time_ns(end, "end"), unit="ns", tz="UTC")]
    if len(scores) == 0:
        if ax is None:
            _, ax = plt.subplots(figsize=(11, 2.5), layout="constrained")
        ax.set_title("window scores (-log10 p) by entity")
        ax.text(0.5, 0.5, "no scored windows", ha="center", va="center", transform=ax.transAxes)
        return ax
    entity = scores["entity"].astype(str).to_numpy()
    starts = scores["window_start"].to_numpy(dtype="datetime64[ns]") if not isinstance(
        scores["window_start"].dtype, pd.DatetimeTZDtype) else _naive_utc(scores["window_start"])
    t = starts.view(np.int64)
    width = np.diff(np.unique(t)).min() if len(np.unique(t)) > 1 else 60_000_000_000
    t0, t1 = t.min(), t.max() + width
    n_windows = int((t1 - t0) // width)
    per_column = max(1, -(-n_windows // max_columns))
    column = ((t - t0) // width // per_column).astype(np.int64)
    n_columns = int(column.max()) + 1
    frame = pd.DataFrame({"entity": entity, "column": column, "score": scores["score"].to_numpy()})
    top = frame.groupby("entity")["score"].max().sort_values(ascending=False, kind="stable").head(max_entities)
    frame = frame[frame["entity"].isin(top.index)]
    grid = frame.pivot_table(index="entity", columns="column", values="score", aggfunc="max")
    grid = grid.reindex(index=top.index, columns=range(n_columns))
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 0.22 * len(grid.index) + 1.6), layout="constrained")
    ax.set_title("window scores (-log10 p) by entity")
    # Scores run to hundreds for glaring attacks; a scale capped at 2.5x the
    # threshold keeps everything near the threshold visible.
    top_score = float(np.nanmax(grid.to_numpy()))
    vmax = max(min(top_score, 2.5 * threshold) if threshold else top_score, 1.0)
    cmap = plt.get_cmap("magma_r").with_extremes(bad="#f0f0f0")
    image = ax.imshow(np.ma.masked_invalid(grid.to_numpy()), aspect="auto", interpolation="nearest",
                      cmap=cmap, vmin=0, vmax=vmax)
    bar = ax.figure.colorbar(image, ax=ax, pad=0.01, extend="max" if top_score > vmax else "neither")
    bar.set_label("score")
    if threshold is not None:
        bar.ax.axhline(threshold, color=_FINDING_COLOR, linewidth=2)
        bar.ax.text(1.6, threshold, "threshold", color=_FINDING_COLOR, va="center",
                    fontsize="small", transform=bar.ax.get_yaxis_transform())
    ax.set_yticks(range(len(grid.index)), [_shorten(str(e), 32) for e in grid.index], fontsize="small")
    n_ticks = min(8, n_columns)
    ticks = np.linspace(0, n_columns - 1, n_ticks).round().astype(int) if n_ticks > 1 else np.array([0])
    labels = [pd.Timestamp(int(t0 + c * per_column * width), unit="ns").strftime("%m-%d %H:%M")
              for c in ticks]
    ax.set_xticks(ticks, labels, rotation=30, ha="right", fontsize="small")
    ax.set_xlabel("window start (UTC)" + (f", {per_column} windows per column" if per_column > 1 else ""))
    return ax


def finding(engine: "Engine", which: Union[pd.Series, int] = 0, *, context: str = "2h",
            fig: Optional["Figure"] = None) -> "Figure":
    """Draws one finding explained: its reasons ranked by how unlikely each
    is (score = -log10 p against the threshold), and, when a count reason
    is among them, that count around the finding against its baseline.

    Args:
      engine: the Engine that reported the finding.
      which: a row of engine.findings() or its position (default 0).
      context: how much time to show on each side of the window.
      fig: the Figure to draw on (default: a new one).

    Returns:
      The Figure.
    """
    plt = _pyplot()
    from ._convert import duration_ns

    if isinstance(which, (int, np.integer)):
        found = engine.findings()
        if not -len(found) <= which < len(found):
            raise make_error(f"finding {which}: the engine has {len(found)} findings", "OUT_OF_RANGE")
        row = found.iloc[int(which)]
    else:
        row = which
    reasons = list(row["reasons"])[:6]
    count_reason = next((r for r in reasons if r["feature"].startswith("count.")), None)
    if fig is None:
        fig = plt.figure(figsize=(11 if count_reason else 7, 3.4), layout="constrained")
    axes = fig.subplots(1, 2, width_ratios=[1, 1.4]) if count_reason else [fig.subplots()]
    ax = axes[0]
    threshold = engine.threshold
    labels, values = [], []
    for r in reasons[::-1]:
        p = max(float(r["p_value"]), 1e-300)
        values.append(-np.log10(p))
        observed = textwrap.shorten(f"{r['feature']}: {r['observed']}", 60, placeholder="…")
        expected = textwrap.shorten(f"expected {r['expected']}", 60, placeholder="…")
        labels.append("\n".join(textwrap.wrap(observed, 34, max_lines=2, placeholder="…") +
                                 textwrap.wrap(expected, 34, max_lines=2, placeholder="…")))
    ax.barh(range(len(values)), values, color=[_FINDING_COLOR if v >= threshold else _BAND_COLOR
                                               for v in values])
    ax.set_yticks(range(len(values)), labels, fontsize="x-small")
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel(f"-log10 p (threshold {threshold:.2f})")
    start = pd.Timestamp(row["window_start"])
    ax.set_title(f"{_shorten(str(row['entity']), 40)} · {start:%Y-%m-%d %H:%M} UTC\n"
                 f"score {float(row['score']):.1f} ({row['severity']})", fontsize="medium")
    if count_reason:
        pad = pd.Timedelta(duration_ns(context, "context"), unit="ns")
        try:
            baseline(engine, str(row["entity"]), count_reason["feature"], start=start - pad,
                     end=pd.Timestamp(row["window_end"]) + pad, ax=axes[1],
                     title=f"{count_reason['feature']} around the finding")
        except Exception as e:  # noqa: BLE001 - the reasons panel still stands
            axes[1].text(0.5, 0.5, f"no baseline: {e}", ha="center", va="center", wrap=True,
                         transform=axes[1].transAxes, fontsize="small")
    return fig
