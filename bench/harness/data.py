"""Readers for the JSONL files the CLI writes and the simulator's labels.

Times are int64 nanoseconds since the Unix epoch (UTC) throughout the harness.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S

_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": NS_PER_S, "sec": NS_PER_S,
          "m": 60 * NS_PER_S, "min": 60 * NS_PER_S, "h": 3600 * NS_PER_S,
          "d": 86_400 * NS_PER_S}


def parse_duration(text: str) -> int:
    """Parses a CLI duration (``90s``, ``1m``, ``1min``, ``24h``, ``1h30m``) into ns."""
    import re
    parts = re.findall(r"(\d+(?:\.\d+)?)([a-z]+)", text.strip())
    if not parts or "".join(a + b for a, b in parts) != text.strip():
        raise ValueError(f"bad duration {text!r}: expected e.g. 90s, 1m, 24h, 1h30m")
    total = 0.0
    for number, unit in parts:
        if unit not in _UNITS:
            raise ValueError(f"bad duration {text!r}: unknown unit {unit!r}")
        total += float(number) * _UNITS[unit]
    return int(round(total))


def format_duration(ns: int) -> str:
    """Formats ns as the CLI reads it, in the largest whole unit (``5m``, ``24h``, ``90s``)."""
    for unit, size in (("h", 3600 * NS_PER_S), ("m", 60 * NS_PER_S), ("s", NS_PER_S)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def to_ns(values: Iterable) -> np.ndarray:
    """Converts RFC 3339 strings (with a zone) or unix seconds into int64 ns."""
    values = list(values)
    if not values:
        return np.zeros(0, dtype=np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.round(np.asarray(values, dtype=np.float64) * NS_PER_S).astype(np.int64)
    ts = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
    return ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def ns_to_iso(ns: int) -> str:
    """Formats ns since the epoch as RFC 3339 UTC (``2026-11-03T00:03:00Z``)."""
    ts = pd.Timestamp(int(ns), unit="ns", tz="UTC")
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.nanosecond or ts.microsecond:
        text += f".{int(ns % NS_PER_S):09d}".rstrip("0")
    return text + "Z"


def read_jsonl(path: str | Path) -> list[dict]:
    """Reads a JSONL file into a list of dicts; a bad line raises with its line number."""
    out = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{number}: not JSON: {e}") from None
    return out


def labels_frame(records: list[dict]) -> pd.DataFrame:
    """Labels ({"type","entity","group","start","end",...}) as a frame with ns times."""
    cols = ["type", "entity", "group", "start", "end"]
    if not records:
        return pd.DataFrame({c: pd.Series(dtype=object if c in cols[:3] else np.int64)
                             for c in cols})
    df = pd.DataFrame(records)
    for c in ("type", "group"):
        if c not in df:
            df[c] = ""
    df["start"] = to_ns(df["start"])
    df["end"] = to_ns(df["end"])
    bad = df["end"] < df["start"]
    if bad.any():
        raise ValueError(f"label {df[bad].iloc[0].to_dict()} ends before it starts")
    return df[cols + [c for c in df.columns if c not in cols]].reset_index(drop=True)


def findings_frame(records: list[dict]) -> pd.DataFrame:
    """Findings as a frame: entity, group, window_start, window_end (ns), score, severity."""
    if not records:
        return pd.DataFrame({"entity": pd.Series(dtype=object),
                             "window_start": pd.Series(dtype=np.int64),
                             "window_end": pd.Series(dtype=np.int64),
                             "score": pd.Series(dtype=float)})
    df = pd.DataFrame(records)
    df["window_start"] = to_ns(df["window_start"])
    df["window_end"] = to_ns(df["window_end"])
    # A drop is confirmed by the window after it: such a finding's evidence
    # starts one window earlier (its reason says "in the previous window").
    if "reasons" in df:
        def about_previous(reasons) -> bool:
            return isinstance(reasons, list) and any(
                "in the previous window" in str(r.get("observed", "")) for r in reasons)
        previous = df["reasons"].map(about_previous).to_numpy(dtype=bool)
        width = (df["window_end"] - df["window_start"]).to_numpy(dtype=np.int64)
        df["evidence_start"] = df["window_start"].to_numpy(dtype=np.int64) - np.where(previous, width, 0)
    return df


def window_scores_frame(records: list[dict]) -> pd.DataFrame:
    """Window scores as a frame: entity, group, window_start (ns), score, events."""
    if not records:
        return pd.DataFrame({"entity": pd.Series(dtype=object),
                             "window_start": pd.Series(dtype=np.int64),
                             "score": pd.Series(dtype=float)})
    df = pd.DataFrame(records)
    df["window_start"] = to_ns(df["window_start"])
    df["score"] = df["score"].astype(float)
    return df


def load_labels(path: str | Path) -> pd.DataFrame:
    return labels_frame(read_jsonl(path))


def load_findings(path: str | Path) -> pd.DataFrame:
    return findings_frame(read_jsonl(path))


def load_window_scores(path: str | Path) -> pd.DataFrame:
    return window_scores_frame(read_jsonl(path))
