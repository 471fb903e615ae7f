"""Native JSONL events into columns, and per-entity window feature vectors.

Most peers do not read events themselves: the harness parses the events once
(``read_events``), builds one feature vector per entity and window
(``window_features``) and hands the vectors (or the columns) to each peer. Both
steps are timed so that a peer's end-to-end throughput counts them. The
streaming peer reads the file itself, one line at a time, and keeps the same
features incrementally (``WindowState``, ``time_ns``).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from .data import to_ns

KINDS = ["exec", "exit", "connect", "accept", "request", "api", "file", "syscall", "metric"]
KIND_INDEX = {k: i for i, k in enumerate(KINDS)}
BYTES_KINDS = ("connect", "accept", "file")


class Vocabulary:
    """Interns strings into dense int codes (0 is the empty string)."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {"": 0}
        self.names: list[str] = [""]

    def code(self, s) -> int:
        if s is None:
            return 0
        c = self.codes.get(s)
        if c is None:
            c = len(self.names)
            self.codes[s] = c
            self.names.append(s)
        return c

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class Events:
    """Events as columns (all arrays of one length, in file order)."""
    time: np.ndarray       # int64 ns
    entity: np.ndarray     # int64 codes into entities
    group: np.ndarray      # int64 codes into groups (an entity without one: its own name)
    kind: np.ndarray       # int64 index into KINDS
    subject: np.ndarray    # int64 codes into subjects
    actor: np.ndarray      # int64 codes into actors
    value: np.ndarray      # float64, NaN when absent
    status: np.ndarray     # float64, NaN when absent
    entities: Vocabulary = field(default_factory=Vocabulary)
    groups: Vocabulary = field(default_factory=Vocabulary)
    subjects: Vocabulary = field(default_factory=Vocabulary)
    actors: Vocabulary = field(default_factory=Vocabulary)

    def __len__(self) -> int:
        return len(self.time)


def records(path):
    """Yields (record, kind index, entity) for each line of a native JSONL file
    that has an entity and a known kind; the one line loop of the harness."""
    loads, kind_index = json.loads, KIND_INDEX
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            o = loads(line)
            kind = kind_index.get(o.get("kind"))
            entity = o.get("entity")
            if kind is None or not entity:
                continue
            yield o, kind, entity


def read_events(path) -> Events:
    """Reads native JSONL events; lines without entity or with an unknown kind are skipped."""
    ent, grp, sub, act = Vocabulary(), Vocabulary(), Vocabulary(), Vocabulary()
    times, e, g, k, s, a, v, st = [], [], [], [], [], [], [], []
    nan = float("nan")
    for o, kind, entity in records(path):
        times.append(o["time"])
        e.append(ent.code(entity))
        g.append(grp.code(o.get("group") or entity))
        k.append(kind)
        s.append(sub.code(o.get("subject")))
        a.append(act.code(o.get("actor")))
        v.append(o.get("value", nan))
        st.append(o.get("status", nan))
    return Events(time=to_ns(times), entity=np.asarray(e, np.int64), group=np.asarray(g, np.int64),
                  kind=np.asarray(k, np.int64), subject=np.asarray(s, np.int64),
                  actor=np.asarray(a, np.int64), value=np.asarray(v, np.float64),
                  status=np.asarray(st, np.float64), entities=ent, groups=grp,
                  subjects=sub, actors=act)


FEATURES = ([f"log_count.{k}" for k in KINDS] + [f"log_distinct_subjects.{k}" for k in KINDS]
            + ["log_distinct_actors", "log_bytes", "log_mean_latency", "error_share"])


@dataclass
class WindowTable:
    """One row per (entity, window) from each entity's first to its last event window.

    Empty windows in between are rows too (a rate of zero), as in the engine.
    ``row_of_event`` maps every event to its row.
    """
    entity: np.ndarray        # int64 entity code per row
    group: np.ndarray         # int64 group code per row (the entity's first group)
    window_start: np.ndarray  # int64 ns
    row_of_event: np.ndarray  # int64 per event
    window_ns: int

    def __len__(self) -> int:
        return len(self.entity)


def window_table(ev: Events, window_ns: int) -> WindowTable:
    w = ev.time // window_ns
    n_ent = len(ev.entities)
    first = np.full(n_ent, np.iinfo(np.int64).max)
    last = np.full(n_ent, np.iinfo(np.int64).min)
    np.minimum.at(first, ev.entity, w)
    np.maximum.at(last, ev.entity, w)
    present = first <= last
    # The group of an entity: that of its first event.
    group_of = np.zeros(n_ent, np.int64)
    order = np.argsort(ev.time, kind="stable")
    ents_seen, first_idx = np.unique(ev.entity[order], return_index=True)
    group_of[ents_seen] = ev.group[order[first_idx]]
    lengths = np.where(present, last - first + 1, 0)
    base = np.r_[0, np.cumsum(lengths)[:-1]]
    total = int(lengths.sum())
    ents = np.repeat(np.arange(n_ent), lengths)
    starts = (np.arange(total) - np.repeat(base, lengths) + np.repeat(first * present, lengths))
    row = base[ev.entity] + (w - first[ev.entity])
    return WindowTable(entity=ents, group=group_of[ents], window_start=starts * window_ns,
                       row_of_event=row, window_ns=window_ns)


def _distinct_per_row(row: np.ndarray, code: np.ndarray, n_rows: int, n_codes: int) -> np.ndarray:
    if len(row) == 0:
        return np.zeros(n_rows)
    key = np.unique(row * np.int64(n_codes) + code)
    return np.bincount(key // n_codes, minlength=n_rows).astype(np.float64)


def window_features(ev: Events, table: WindowTable) -> np.ndarray:
    """Per-row feature vectors (float64, len(FEATURES) columns); see FEATURES for the order."""
    r = table.row_of_event
    n = len(table)
    nk = len(KINDS)
    counts = np.bincount(r * nk + ev.kind, minlength=n * nk).reshape(n, nk).astype(np.float64)
    n_sub = max(1, len(ev.subjects))
    distinct_sub = np.zeros((n, nk))
    for k in range(nk):
        m = ev.kind == k
        if m.any():
            distinct_sub[:, k] = _distinct_per_row(r[m], ev.subject[m], n, n_sub)
    distinct_act = _distinct_per_row(r, ev.actor, n, max(1, len(ev.actors)))
    bmask = np.isin(ev.kind, [KIND_INDEX[k] for k in BYTES_KINDS]) & np.isfinite(ev.value)
    bytes_ = np.bincount(r[bmask], weights=ev.value[bmask], minlength=n)
    req = (ev.kind == KIND_INDEX["request"])
    lat_mask = req & np.isfinite(ev.value)
    lat_sum = np.bincount(r[lat_mask], weights=ev.value[lat_mask], minlength=n)
    lat_n = np.bincount(r[lat_mask], minlength=n)
    mean_lat = np.divide(lat_sum, lat_n, out=np.zeros(n), where=lat_n > 0)
    api = ev.kind == KIND_INDEX["api"]
    err = (req & (ev.status >= 500)) | (api & np.isfinite(ev.status) & (ev.status != 0))
    denom = np.bincount(r[req | api], minlength=n)
    errs = np.bincount(r[err], minlength=n)
    share = np.divide(errs, denom, out=np.zeros(n), where=denom > 0)
    return np.column_stack([np.log1p(counts), np.log1p(distinct_sub), np.log1p(distinct_act),
                            np.log1p(np.maximum(bytes_, 0)), np.log1p(np.maximum(mean_lat, 0)),
                            share])


# --- the same features, kept incrementally for a streaming peer ----------------------

_REQUEST = KIND_INDEX["request"]
_API = KIND_INDEX["api"]
_BYTES = frozenset(KIND_INDEX[k] for k in BYTES_KINDS)
_NK = len(KINDS)
_COUNT_KEYS = FEATURES[:_NK]
_DISTINCT_KEYS = FEATURES[_NK:2 * _NK]
_ZERO_VECTOR = dict.fromkeys(FEATURES, 0.0)
_fromisoformat = datetime.fromisoformat


def time_ns(value) -> int:
    """One event's time in ns: RFC 3339 (naive means UTC) or unix seconds.

    Strings go through ``datetime.fromisoformat``, what a Python stream would use; it
    keeps microseconds, so digits below are dropped. That never moves an event to
    another window of whole microseconds (the time only goes down, not past a
    boundary).
    """
    if isinstance(value, str):
        dt = _fromisoformat(value)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return round(dt.timestamp() * 1e6) * 1000
    return int(round(value * 1_000_000_000))


class WindowState:
    """One entity's open window, kept event by event; ``vector()`` is its row of
    ``window_features`` (same definitions: an absent subject or actor counts as the
    empty one, bytes of connect/accept/file values, latency of request values, errors
    among requests and API calls).

    Not thread-safe.
    """

    __slots__ = ("group", "window", "counts", "subjects", "actors", "bytes", "lat_sum",
                 "lat_n", "errors", "calls")

    def __init__(self, group: str, window: int) -> None:
        self.group = group
        self.reset(window)

    def reset(self, window: int) -> None:
        self.window = window
        self.counts = [0] * _NK
        self.subjects = [None] * _NK    # a set per kind, made on the kind's first event
        self.actors = set()
        self.bytes = 0.0
        self.lat_sum = 0.0
        self.lat_n = 0
        self.errors = 0
        self.calls = 0

    def add(self, kind: int, o: dict) -> None:
        """Adds one parsed event (its JSON object) of kind index ``kind``."""
        self.counts[kind] += 1
        s = self.subjects[kind]
        if s is None:
            s = self.subjects[kind] = set()
        s.add(o.get("subject") or "")
        self.actors.add(o.get("actor") or "")
        if kind == _REQUEST:
            self.calls += 1
            v = o.get("value")
            if v is not None:
                self.lat_sum += v
                self.lat_n += 1
            st = o.get("status")
            if st is not None and st >= 500:
                self.errors += 1
        elif kind == _API:
            self.calls += 1
            st = o.get("status")
            if st is not None and st != 0:
                self.errors += 1
        elif kind in _BYTES:
            v = o.get("value")
            if v is not None:
                self.bytes += v

    def vector(self) -> dict:
        """The window's features as river wants them: {FEATURES name: value}."""
        log1p = math.log1p
        x = dict(zip(_COUNT_KEYS, map(log1p, self.counts)))
        x.update(zip(_DISTINCT_KEYS, [log1p(len(s)) if s else 0.0 for s in self.subjects]))
        x["log_distinct_actors"] = log1p(len(self.actors))
        x["log_bytes"] = log1p(max(self.bytes, 0.0))
        x["log_mean_latency"] = log1p(max(self.lat_sum / self.lat_n, 0.0)) if self.lat_n else 0.0
        x["error_share"] = self.errors / self.calls if self.calls else 0.0
        return x

    @staticmethod
    def empty_vector() -> dict:
        """The features of a window without events (shared: do not modify)."""
        return _ZERO_VECTOR
