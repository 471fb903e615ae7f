"""Writes the evaluation report (markdown) and its PNG plots."""
from __future__ import annotations

import math
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from . import nab  # noqa: E402

# Published NAB standard scores on the full corpus (NAB scoreboard), for orientation only:
# they are not comparable with scores on this subset.
PUBLISHED_FULL_CORPUS = [("ARTime", 74.9), ("Numenta HTM", 70.1), ("CAD OSE", 69.9),
                         ("AWS Random Cut Forest", 51.7), ("windowed Gaussian", 39.6)]
HTM_ON_SUBSET = 66.6


def fmt(x, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, (int, np.integer)):
        return f"{x:,}"
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(xf):
        return "–"
    if math.isinf(xf):
        return "∞" if xf > 0 else "-∞"
    if xf != 0 and (abs(xf) >= 1e5 or abs(xf) < 10 ** -digits):
        return f"{xf:.{max(1, digits - 1)}e}"
    if abs(xf) >= 100:
        return f"{xf:,.0f}"
    return f"{xf:.{digits}g}" if abs(xf) < 1 else f"{xf:.{digits}f}".rstrip("0").rstrip(".")


def md_table(df: pd.DataFrame, formats: dict | None = None) -> str:
    formats = formats or {}
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(" --- " for _ in cols) + "|"]
    for _, row in df.iterrows():
        cells = []
        for c in cols:
            f = formats.get(c)
            v = row[c]
            cells.append(f(v) if f else fmt(v))
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


# --- plots ---------------------------------------------------------------------------

def plot_nab(results: dict, path: Path) -> None:
    names = list(results)
    profiles = list(next(iter(results.values())))
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    width = 0.8 / len(profiles)
    for k, p in enumerate(profiles):
        vals = [results[n][p].normalized for n in names]
        bars = ax.bar(np.arange(len(names)) + k * width, vals, width, label=p)
        for b, v in zip(bars, vals):
            ax.text(b.get_x() + b.get_width() / 2, max(v, 0) + 1, f"{v:.1f}", ha="center",
                    fontsize=7)
    ax.axhline(HTM_ON_SUBSET, color="grey", ls="--", lw=1)
    ax.text(len(names) - 0.5, HTM_ON_SUBSET + 1, f"Numenta HTM, standard: {HTM_ON_SUBSET}",
            ha="right", fontsize=7, color="grey")
    ax.set_xticks(np.arange(len(names)) + width * (len(profiles) - 1) / 2)
    ax.set_xticklabels(names)
    ax.set_ylabel("normalised NAB score")
    ax.set_title("NAB subset: normalised scores by profile")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_nab_series(series: nab.NabSeries, scores: dict[str, np.ndarray], path: Path) -> None:
    fig, axes = plt.subplots(1 + len(scores), 1, figsize=(9, 1.6 * (1 + len(scores))),
                             sharex=True)
    t = pd.to_datetime(series.timestamps)
    axes[0].plot(t, series.values, lw=0.6, color="black")
    axes[0].set_ylabel("value")
    for ax in axes:
        for left, right in series.windows:
            ax.axvspan(t[left], t[right], color="tab:red", alpha=0.15)
        p = nab.probation_length(len(series))
        ax.axvspan(t[0], t[min(p, len(t) - 1)], color="grey", alpha=0.1)
    for ax, (name, sc) in zip(axes[1:], scores.items()):
        ax.plot(t, sc, lw=0.6)
        ax.set_ylabel(name, fontsize=7)
    axes[0].set_title(f"{series.name}: anomaly windows (red), probation (grey)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_accuracy(tables: dict[str, pd.DataFrame], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    markers = "os^Dv<>p"
    detectors = list(dict.fromkeys(d for t in tables.values() for d in t["detector"]))
    for i, det in enumerate(detectors):
        xs, ys = [], []
        for t in tables.values():
            r = t[t["detector"] == det]
            if len(r):
                xs.append(max(float(r["false_per_entity_day"].iloc[0]), 1e-3))
                ys.append(float(r["recall"].iloc[0]))
        ax.scatter(xs, ys, marker=markers[i % len(markers)], s=50, label=det, alpha=0.8)
    ax.axvline(0.1, color="grey", ls="--", lw=1)
    ax.text(0.1, 0.02, " goal: 0.1", fontsize=7, color="grey")
    ax.set_xscale("log")
    ax.set_xlabel("false findings per entity-day (log; 0 drawn at 0.001)")
    ax.set_ylabel("per-attack recall")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Simulator scenarios: recall against false findings (one point per scenario)")
    ax.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_throughput(pooled: pd.DataFrame, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    y = np.arange(len(pooled))
    ax.barh(y - 0.2, pooled["events_per_s"], 0.4, label="end to end (from JSONL)")
    ax.barh(y + 0.2, pooled["model_events_per_s"], 0.4, label="model only")
    ax.set_yticks(y)
    ax.set_yticklabels(pooled["detector"], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("events per CPU-second (log)")
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    ax.set_title("Throughput, all simulator scenarios pooled")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_sweep(df: pd.DataFrame, path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    learn = df["learn"].iloc[-1]
    sub = df[df["learn"] == learn]
    for window, g in sub.groupby("window", sort=False):
        g = g.sort_values("threshold_used")
        axes[0].plot(g["threshold_used"], g["recall"], "o-", label=f"window {window}")
        axes[1].plot(g["threshold_used"], np.maximum(g["false_per_entity_day"], 1e-3), "o-",
                     label=f"window {window}")
    axes[0].set_xlabel("threshold (-log10 p)")
    axes[0].set_ylabel("per-attack recall")
    axes[0].set_title(f"recall (learn {learn})")
    axes[1].set_xlabel("threshold (-log10 p)")
    axes[1].set_ylabel("false findings per entity-day")
    axes[1].set_yscale("log")
    axes[1].axhline(0.1, color="grey", ls="--", lw=1)
    axes[1].set_title(f"false findings (learn {learn}; 0 at 0.001)")
    for learn_v, g in df.groupby("learn", sort=False):
        axes[2].scatter(np.maximum(g["false_per_entity_day"], 1e-3), g["recall"],
                        label=f"learn {learn_v}", alpha=0.8)
    axes[2].set_xscale("log")
    axes[2].axvline(0.1, color="grey", ls="--", lw=1)
    axes[2].set_xlabel("false findings per entity-day")
    axes[2].set_ylabel("recall")
    axes[2].set_title("every grid point")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- report --------------------------------------------------------------------------

def pooled_table(results: Sequence) -> pd.DataFrame:
    """Per detector over all scenarios: attacks found, false findings per entity-day, speed."""
    acc: dict[str, dict] = {}
    for res in results:
        for d in res.detectors:
            a = acc.setdefault(d.name, {"detector": d.name, "found": 0, "attacks": 0,
                                        "false_findings": 0, "findings": 0, "entity_days": 0.0,
                                        "events": 0, "seconds": 0.0, "model_seconds": 0.0,
                                        "ttd": [], "oracle_found": 0.0})
            s = d.evaluation.summary()
            a["found"] += s["found"]
            o = s.get("recall_at_ts_false_rate", math.nan)
            a["oracle_found"] += (o * s["attacks"]) if o == o else math.nan
            a["attacks"] += s["attacks"]
            a["false_findings"] += s["false_findings"]
            a["findings"] += s["findings"]
            a["entity_days"] += s["entity_days"]
            a["events"] += res.events
            a["seconds"] += d.seconds
            a["model_seconds"] += d.model_seconds
            at = d.evaluation.attacks
            a["ttd"] += at.loc[at["found"], "ttd_s"].tolist()
    rows = []
    for a in acc.values():
        rows.append({"detector": a["detector"], "found": f"{a['found']}/{a['attacks']}",
                     "recall": a["found"] / a["attacks"] if a["attacks"] else math.nan,
                     "median_ttd_s": float(np.median(a["ttd"])) if a["ttd"] else math.nan,
                     "findings": a["findings"],
                     "false_per_entity_day": (a["false_findings"] / a["entity_days"]
                                              if a["entity_days"] else math.nan),
                     "precision": ((a["findings"] - a["false_findings"]) / a["findings"]
                                   if a["findings"] else math.nan),
                     "recall_at_ts_false_rate": (a["oracle_found"] / a["attacks"]
                                                 if a["attacks"] else math.nan),
                     "events_per_s": a["events"] / a["seconds"] if a["seconds"] else math.nan,
                     "model_events_per_s": (a["events"] / a["model_seconds"]
                                            if a["model_seconds"] else math.nan)})
    df = pd.DataFrame(rows)
    if len(df):
        # Like with like: timescan's CLI end to end over the peer's end to end, and
        # timescan's engine alone over the peer's model alone; and, as before the engine
        # was timed alone, timescan's CLI end to end over the peer's model alone.
        df["timescan_x"] = df["events_per_s"].iloc[0] / df["events_per_s"]
        df["timescan_x_model"] = df["model_events_per_s"].iloc[0] / df["model_events_per_s"]
        df["timescan_x_cli_model"] = df["events_per_s"].iloc[0] / df["model_events_per_s"]
    return df


def ratio(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.2f}×" if x < 10 else f"{x:,.0f}×"


SIM_COLUMNS = {
    "detector": "detector", "found": "found", "median_ttd_s": "median TTD (s)",
    "findings": "findings", "false_per_entity_day": "false / entity-day",
    "precision": "precision", "roc_auc": "ROC AUC", "pr_auc": "PR AUC",
    "recall_at_ts_false_rate": "recall at timescan's false rate (oracle)",
    "events_per_s": "events/s (end to end)", "timescan_x": "timescan ×",
    "model_events_per_s": "events/s (model)", "timescan_x_model": "timescan × (model)",
    "timescan_x_cli_model": "timescan CLI × peer model",
}


def sim_table_md(t: pd.DataFrame) -> str:
    t = t.copy()
    if "attacks" in t:
        t["found"] = [f"{int(f)}/{int(a)}" for f, a in zip(t["found"], t["attacks"])]
    t = t[[c for c in SIM_COLUMNS if c in t.columns]].rename(columns=SIM_COLUMNS)
    return md_table(t, {"timescan ×": ratio, "timescan × (model)": ratio,
                        "timescan CLI × peer model": ratio,
                        "events/s (end to end)": lambda v: f"{v:,.0f}",
                        "events/s (model)": lambda v: f"{v:,.0f}"})


def goals(pooled: pd.DataFrame, results: Sequence) -> list[tuple[str, str, str]]:
    """Issue 7's goals at default settings, checked against the pooled figures."""
    out = []
    if not len(pooled):
        return out
    ts = pooled.iloc[0]
    by = {r["detector"]: r for _, r in pooled.iterrows()}
    found, total = (int(x) for x in ts["found"].split("/"))
    out.append(("every attack found", f"{ts['found']}", "met" if found == total else "not met"))
    out.append(("at most 0.1 false findings per entity-day", fmt(ts["false_per_entity_day"]),
                "met" if ts["false_per_entity_day"] <= 0.1 else "not met"))
    out.append(("median time to detect: one window (60 s)", f"{fmt(ts['median_ttd_s'])} s",
                "met" if ts["median_ttd_s"] <= 60 else "not met"))
    for key, label in (("allowlist", "allowlist drowns in false findings"),
                       ("windowed Gaussian", "windowed Gaussian misses most attacks")):
        row = next((r for n, r in by.items() if n.startswith(key)), None)
        if row is None:
            continue
        if key == "allowlist":
            ok = row["false_per_entity_day"] > 10 * max(ts["false_per_entity_day"], 0.1)
            out.append((label, f"{fmt(row['false_per_entity_day'])} false / entity-day",
                        "yes" if ok else "no"))
        else:
            ok = row["recall"] < 0.5
            out.append((label, f"recall {fmt(row['recall'])}", "yes" if ok else "no"))
    # Throughput: like with like (timescan's CLI from JSONL against the peer from JSONL;
    # timescan's engine on parsed events against the peer's model on its prepared input),
    # for every peer of the family (river: window vectors and streaming).
    for key, want in (("HalfSpaceTrees", 100), ("Random Cut Forest", 10)):
        for name, row in by.items():
            if not name.startswith(key):
                continue
            e2e, model = row["timescan_x"], row["timescan_x_model"]
            e2e_ok, model_ok = e2e >= want, model >= want      # NaN: not met
            status = ("met" if e2e_ok and model_ok else "met end to end only" if e2e_ok
                      else "met model only" if model_ok else "not met")
            out.append((f"throughput ≥ {want}× {name}'s",
                        f"end to end {ratio(e2e)} (timescan CLI vs the peer, both from JSONL); "
                        f"model only {ratio(model)} (timescan engine vs the peer's model, both "
                        f"on parsed input); timescan CLI vs the peer's model "
                        f"{ratio(row['timescan_x_cli_model'])}", status))
    return out


def timing_table(results: Sequence) -> pd.DataFrame:
    """How each detector's throughput was measured (from the first scenario that ran it)."""
    rows: dict[str, str] = {}
    for res in results:
        for d in res.detectors:
            if d.timing and d.name not in rows:
                rows[d.name] = d.timing
    return pd.DataFrame({"detector": list(rows), "how throughput was measured": list(rows.values())})


def write(out_dir: Path, *, mode: str, command: str, timescan: str, nab_result: dict | None,
          sim_results: Sequence, sweep_df: pd.DataFrame | None, sweep_scenario=None,
          errors: dict | None = None, versions: dict | None = None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    L: list[str] = []
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    L += ["# timescan evaluation report", "",
          f"Generated {now} by `{command}` ({mode} mode) on {machine()}.",
          f"timescan CLI: `{timescan}`."]
    if versions:
        L.append("Peers: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".")
    L.append("")

    pooled = pooled_table(sim_results) if sim_results else pd.DataFrame()

    # Headline.
    L += ["## Summary", ""]
    if nab_result:
        r = nab_result["results"]
        L.append("NAB subset ({files} series, {windows} windows), normalised scores "
                 "standard / reward-low-FP / reward-low-FN:".format(**nab_result))
        L.append("")
        for name, res in r.items():
            L.append(f"- {name}: " + " / ".join(f"{res[p].normalized:.1f}" for p in res))
        L.append("")
    if len(pooled):
        ts = pooled.iloc[0]
        L.append(f"Simulator suite ({len(sim_results)} scenario(s)), timescan at default "
                 f"settings: {ts['found']} attacks found, {fmt(ts['false_per_entity_day'])} false "
                 f"findings per entity-day, median time to detect {fmt(ts['median_ttd_s'])} s, "
                 f"{ts['events_per_s']:,.0f} events/s end to end (CLI from JSONL), "
                 f"{ts['model_events_per_s']:,.0f} events/s for the engine alone.")
        L.append("")
        L.append(md_table(pooled[["detector", "found", "false_per_entity_day", "median_ttd_s",
                                  "recall_at_ts_false_rate",
                                  "timescan_x", "timescan_x_model",
                                  "timescan_x_cli_model"]].rename(columns={
                    "false_per_entity_day": "false / entity-day",
                    "recall_at_ts_false_rate": "recall at timescan's false rate (oracle)",
                    "median_ttd_s": "median TTD (s)", "timescan_x": "timescan × (end to end)",
                    "timescan_x_model": "timescan × (model only)",
                    "timescan_x_cli_model": "timescan CLI × peer model"}),
                          {"timescan × (end to end)": ratio, "timescan × (model only)": ratio,
                           "timescan CLI × peer model": ratio}))
        L.append("")
        L.append("timescan × (end to end): timescan's CLI from the JSONL file against the "
                 "peer from the same file; timescan × (model only): timescan's engine on "
                 "already-parsed events against the peer's model on its prepared input; "
                 "timescan CLI × peer model: the CLI end to end against the peer's model "
                 "alone (the conservative figure reported before the engine was timed "
                 "alone). How each figure was measured: see *Throughput* below.")
        L.append("")
        g = goals(pooled, sim_results)
        if g:
            L += ["Goals of issue 7 (default settings, simulator suite):", "",
                  "| goal | measured | status |", "| --- | --- | --- |"]
            L += [f"| {a} | {b} | {c} |" for a, b, c in g]
            L.append("")
    if errors:
        L += ["Failures (reported, not fatal):", ""]
        L += [f"- {k}: {v}" for k, v in errors.items()]
        L.append("")

    # NAB.
    if nab_result:
        L += ["## NAB", "",
              f"{nab_result['files']} series, {nab_result['rows']:,} rows, "
              f"{nab_result['windows']} anomaly windows (the subset in the dataset's README). "
              "Each series is fed to `timescan score` as `metric` events (entity = the file's "
              "name, subject `value`), window = the series' step, learning = its probationary "
              "period; every window's score is given to the rows in it (0 where no window "
              "was scored) and the rows go through the NAB scorer (`harness/nab.py`: "
              "probation, scaled sigmoid, the three profiles, one threshold swept over all "
              "files, normalisation by the null and perfect detectors).", "",
              "timescan scores each series with its metric model (lib/models/metric_model.h): "
              "level, detected season and a spread per phase; spike, level-shift, burst, "
              "record, variance and long- and medium-run shift tests, each "
              "ranked against the series' own history, and a stuck test (a value repeated "
              "longer than any earlier run); one default parameter set for every "
              "file, no labels at run time.", ""]
        rows = []
        for name, res in nab_result["results"].items():
            for p, s in res.items():
                rows.append({"detector": name, "profile": p, "score": s.normalized,
                             "raw": s.raw, "null raw": s.null, "perfect raw": s.perfect,
                             "threshold": s.threshold,
                             "windows detected": f"{s.detected_windows}/{s.detected_windows + s.missed_windows}",
                             "false detections": s.false_detections})
        L.append(md_table(pd.DataFrame(rows)))
        cc = nab_result.get("cross_check")
        if cc and cc["files"]:
            L += ["", f"Scorer cross-check: NAB's published per-file scores of its windowed "
                  f"Gaussian detector (standard profile, threshold 1.0; numenta/NAB "
                  f"`results/windowedGaussian/windowedGaussian_standard_scores.csv`) are "
                  f"reproduced on {cc['matched']}/{cc['files']} files (largest difference "
                  f"{cc['max_abs_diff']:.2g}; totals {cc['ours_total']:.4f} here, "
                  f"{cc['nab_total']:.4f} published) by this harness's windowed Gaussian "
                  "and scorer. The windowed Gaussian rows above follow NAB's pipeline: scores "
                  "rounded to 12 significant digits, as NAB's result files hold them."]
        L += ["", "For orientation, published standard scores on the *full* corpus "
              "(not comparable with this subset): "
              + ", ".join(f"{n} {v}" for n, v in PUBLISHED_FULL_CORPUS)
              + f". Numenta HTM's published detections score {HTM_ON_SUBSET} (standard) on "
              "this subset.", ""]
        plot_nab(nab_result["results"], out_dir / "nab_scores.png")
        L += ["![NAB scores](nab_scores.png)", ""]
        corpus = nab_result["corpus"]
        pick = next((i for i, s in enumerate(corpus) if s.name.endswith("nyc_taxi.csv")),
                    next((i for i, s in enumerate(corpus) if s.windows), 0))
        if corpus:
            plot_nab_series(corpus[pick], {k: v[pick] for k, v in nab_result["scores"].items()
                                           if k != "null"}, out_dir / "nab_example.png")
            L += [f"![{corpus[pick].name}](nab_example.png)", ""]
        pf = nab_result["timescan_per_file"]
        L += ["<details><summary>timescan per file (standard profile, at its best threshold)"
              "</summary>", "", md_table(pf), "", "</details>", ""]

    # Simulator suite.
    if sim_results:
        L += ["## Simulator suite", "",
              "Each scenario is generated by `timescan simulate` (a labelled fleet with eight "
              "injected attacks after the learning period) and scored by `timescan score` at "
              "default settings (1-minute windows, threshold from `--fp-rate 0.1`). The peers "
              "get the same events: parsed once in Python and turned into one feature vector "
              "per entity and 1-minute window (log counts per kind, log distinct subjects per "
              "kind, distinct actors, bytes, mean latency, error share), learning on the same "
              "period (the streaming river peer reads the file itself, event by event, and "
              "keeps the same features per entity incrementally). Their thresholds are calibrated on the learning windows to the same "
              "target (0.1 false findings per entity-day); ROC and PR AUC do not depend on it. "
              "*Recall at timescan's false rate (oracle)* gives every detector its best case: "
              "the threshold is chosen knowing the labels so that it makes no more false "
              "findings per entity-day than timescan made at its defaults, and the recall is "
              "read there (from window scores, for timescan too).", "",
              "Throughput: events in the file divided by CPU seconds (user + system: the "
              "machine is shared with other work, so wall time would also measure the "
              "neighbours). *End to end* counts "
              "everything from the JSONL file to scores: for timescan, the whole CLI run "
              "(parse, learn, score, write); for a window-vector peer, the shared Python "
              "parse and featurisation plus its own time; for the streaming river peer, its "
              "own loop over the file. *Model* counts the detector's work on input already "
              "parsed: for timescan, the engine fed the same events as columns through the "
              "Python binding; for a peer, its fit and score on prepared vectors (Random Cut "
              "Forest: the scoring thread's CPU time inside the JVM; streaming river: "
              "incremental feature upkeep and river calls). `timescan ×` is timescan's "
              "events/s over the peer's, like with like; `timescan CLI × peer model` sets "
              "timescan's end-to-end figure against the peer's model alone. Per detector:", "",
              md_table(timing_table(sim_results)), ""]
        L += ["### All scenarios pooled", "", sim_table_md(pooled.assign(
            attacks=[int(f.split('/')[1]) for f in pooled['found']],
            found=[int(f.split('/')[0]) for f in pooled['found']])), ""]
        tables = {}
        for res in sim_results:
            t = res.table()
            tables[res.scenario.name] = t
            L += [f"### {res.scenario.name}", "",
                  f"{res.scenario.describe()}: {res.events:,} events, {len(res.labels)} attacks"
                  + (f", {res.windows:,} entity-windows; Python parse {res.parse_seconds:.1f} s, "
                     f"features {res.featurise_seconds:.1f} s" if res.windows else "") + ".", "",
                  sim_table_md(t), "",
                  "Time to detect per attack (seconds from the attack's start to the start "
                  "of the first finding window on its entity, 0 when that window holds the "
                  "start):", "", md_table(res.attack_table()), ""]
            notes = [f"- {d.name}: {d.notes}" for d in res.detectors if d.notes]
            if notes:
                L += ["Configurations:", ""] + notes + [""]
            if res.errors:
                L += [f"- {k}: FAILED: {v}" for k, v in res.errors.items()] + [""]
        plot_accuracy(tables, out_dir / "sim_accuracy.png")
        plot_throughput(pooled, out_dir / "sim_throughput.png")
        L += ["![recall against false findings](sim_accuracy.png)", "",
              "![throughput](sim_throughput.png)", ""]

    # Sweep.
    if sweep_df is not None and len(sweep_df):
        L += ["## Tuning sweep", "",
              f"A grid over `timescan score --window`, `--learn` and `--threshold` on "
              f"{sweep_scenario.name if sweep_scenario else 'the first scenario'} "
              f"({sweep_scenario.describe() if sweep_scenario else ''}); `default` is the "
              "threshold derived from `--fp-rate 0.1` for that window (the value used is in "
              "`threshold_used`). Attacks inside a learning period shorter than the "
              "simulator's are still after it; a longer one would swallow them.", "",
              md_table(sweep_df.drop(columns=["attacks"]).assign(
                  found=[f"{f}/{a}" for f, a in zip(sweep_df["found"], sweep_df["attacks"])])),
              ""]
        plot_sweep(sweep_df, out_dir / "sweep.png")
        L += ["![sweep](sweep.png)", ""]

    L += ["## Definitions", "",
          "- A finding or window *covers* an attack when it is on the attack's entity and "
          "overlaps its labelled interval.",
          "- **Recall**: attacks covered by at least one finding, over all attacks.",
          "- **Time to detect (TTD)**: start of the first covering finding's window minus "
          "the attack's start, clipped at 0.",
          "- **False findings per entity-day**: findings that cover no attack, over scored "
          "entity-days (scored windows × window width).",
          "- **Precision**: findings that cover an attack, over all findings.",
          "- **ROC AUC / PR AUC** (average precision): over every scored window's score; a "
          "window is positive when it covers an attack.",
          "- **NAB**: see `harness/nab.py` and the dataset's README.", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(L), encoding="utf-8")
    return path
