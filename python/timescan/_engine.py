"""timescan.Engine: the C++ engine with pandas in and pandas out."""

from __future__ import annotations

import numbers
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from . import _timescan
from ._convert import (DurationLike, Error, TimeLike, as_timedelta, duration_ns, make_error,
                       time_ns, timestamp, utc_index)
from ._ingest import (_MAX_MESSAGES, KINDS, Columns, IngestProgress, IngestReport, convert,
                      convert_all)

_SPECS: dict[str, tuple[str, Any]] = dict(_timescan.option_specs())
# Short names accepted for EngineOptions fields.
_ALIASES = {"lateness": "allowed_lateness"}
_SEVERITIES = list(_timescan.severity_names())
_SEVERITY_DTYPE = pd.CategoricalDtype(_SEVERITIES, ordered=True)
_KIND_CODE = {name: code for code, name in enumerate(KINDS)}


def _print_progress(p: IngestProgress) -> None:
    """ingest_jsonl(progress=True): one line on stderr, rewritten in place."""
    at = "" if pd.isna(p.watermark) else f", at {p.watermark.isoformat()}"
    sys.stderr.write(f"\rtimescan: {p.events:,} events, {p.events_per_second / 1e6:.1f} M/s, "
                     f"{p.bad_records:,} bad records{at}")
    sys.stderr.flush()


def _option_names() -> str:
    names = ["window", "learn"] + [n for n in _SPECS if n not in ("window", "learning_period")]
    return ", ".join(names + sorted(_ALIASES))


def _convert_option(name: str, value: Any) -> Any:
    kind, _ = _SPECS[name]
    if kind == "duration":
        return duration_ns(value, name)
    if kind == "bool":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise make_error(f"option '{name}': expected True or False, got {value!r}")
    if kind in ("float", "optional_float"):
        if value is None and kind == "optional_float":
            return None
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            return float(value)
        raise make_error(f"option '{name}': expected a number, got {value!r}")
    if kind == "uint32":
        if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            return int(value)
        raise make_error(f"option '{name}': expected an integer, got {value!r}")
    if kind == "uint32_pair":
        if (isinstance(value, (tuple, list)) and len(value) == 2 and
                all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
                    for v in value)):
            return (int(value[0]), int(value[1]))
        raise make_error(f"option '{name}': expected two integers, got {value!r}")
    raise make_error(f"option '{name}': unsupported type {kind}")  # pragma: no cover


def _categorical(core: Any, symbols: np.ndarray) -> pd.Categorical:
    """Returns symbols as a Categorical of their names, in symbol order (the
    order the engine first interned them)."""
    uniques, inverse = np.unique(symbols, return_inverse=True)
    names = core.names(uniques)
    try:
        return pd.Categorical.from_codes(inverse.reshape(-1), categories=pd.Index(names, dtype=object))
    except ValueError:  # two names equal after UTF-8 repair: plain strings
        return pd.Categorical(np.asarray(names, dtype=object)[inverse.reshape(-1)])


def _parse_feature(feature: str) -> tuple[str, int, Optional[str]]:
    """Returns ("count", kind, None) or ("values", kind, field)."""
    expected = ("expected 'count.<kind>' (events per window) or '<kind>.subject' / "
                "'<kind>.actor' (known values), with kind one of " + ", ".join(KINDS))
    if not isinstance(feature, str) or "." not in feature:
        raise make_error(f"feature {feature!r}: {expected}")
    head, tail = feature.split(".", 1)
    if head == "count" and tail in _KIND_CODE:
        return "count", _KIND_CODE[tail], None
    if head in _KIND_CODE and tail in ("subject", "actor"):
        return "values", _KIND_CODE[head], tail
    raise make_error(f"feature {feature!r}: {expected}")


class Engine:
    """Learns what is normal for every entity over time windows and scores
    each closed window; the analyst's view of the C++ timescan::Engine.

    Args:
      window: width of the tumbling windows (aligned to the unix epoch):
        "1min", "90s", a timedelta or seconds. Default 1 minute.
      learn: the learning period from the first event; windows ending in it
        build baselines and are not scored. Default 24 hours.
      record_window_scores: keep every scored window for window_scores()
        (about 40 bytes per entity window). Default True.
      record_counts: keep each entity's event count per kind and window for
        the `observed` column of baseline() (about 12 bytes per (entity,
        kind, window) with events). Default True.
      **options: the other timescan::EngineOptions fields, by name:
        allowed_lateness (alias lateness; duration, default 5s), idle_ttl
        (duration, default 1h), false_findings_per_entity_day (default 0.1),
        threshold (score; overrides the rate when set), categorical_model,
        count_model, value_model, hour_of_day_seasonality, report_new_groups,
        learn_after_learning_period (bools, default True),
        max_values_per_feature (10000), max_values_per_window (128),
        group_consensus (bool, default True: a behaviour most replicas of a
        group show at once is one low group-level finding, entity ""),
        consensus_quorum (share of replicas, 0.5), consensus_wait_windows
        (how long a finding may wait for the other replicas, 2) and
        consensus_span_windows (how far back their sightings count, 5),
        metric_model (bool, default True: per entity and metric name, level,
        season, spikes, shifts and runs of unusual windows),
        value_distribution (bool, default True: per group and kind, request
        latency and bytes per connection in a quantile sketch; each window's
        values above the learned p99 and median, as binomial tails),
        sequence_model (bool, default True: per group, n-grams of exec
        subjects per entity and of syscalls per process; new and rare ones
        in a window, against the group's novelty rate), sequence_length (the
        n, 2..6, default 3),
        accumulate_evidence (bool, default True: per entity and test, a
        CUSUM of the window p-values, so a weak signal repeated over many
        windows becomes a finding), evidence_drift_p (the window p-value
        below which evidence accumulates, 0.05),
        baseline_half_life (duration; default 0: every learned window weighs
        alike; else baselines lose half their weight per half-life and
        follow drift),
        multivariate_model (bool, default True: per group, the window's mix
        of counts per kind, bytes, latency, error counts and distinct
        subjects against a robust covariance, by Mahalanobis distance),
        mix_model (bool, default False, costly: each window's mix of known routes, API
        actions and destinations, and its count of distinct known values,
        ranked against the group's learned windows of similar size),
        lifecycle_phase (bool, default True: the values of an entity's first
        two windows are learned as its group's start-up behaviour and judged
        against it; in steady state a value seen only at start-up is new,
        "seen only at start-up"),
        coarse_windows (two integers, default (0, 0), off; e.g. (10, 60): per entity, the
        counts per kind over coarse windows of that many windows, 10 minutes
        and 1 hour at 1-minute windows, scored for spikes and drops against
        the group's coarse baseline when they close, so that a sustained
        modest change of rate is found; reasons name the resolution, as in
        "count.request@1h"; 0 turns a level off; else 2..1440) and
        metric_season (duration; default 0: each series' period detected).

    Durations accept strings ("90s", "1min", "24h", "1h30m", parsed by the
    C++ library), datetime.timedelta, pandas.Timedelta, numpy.timedelta64
    and numbers of seconds. Times accept RFC 3339 strings, pandas
    Timestamps, datetimes and numpy.datetime64 (naive means UTC) and unix
    seconds.

    Raises:
      Error: an unknown option (named) or a value out of range.

    Not thread-safe in the sense of the C++ engine: calls from several
    threads are serialised, but the event order then depends on them.

    Example:
      >>> engine = timescan.Engine(window="1min", learn="6h", lateness="10s")
      >>> engine.ingest(events_df)
      >>> engine.flush()
      >>> engine.findings()
    """

    def __init__(self, window: DurationLike = "1min", learn: DurationLike = "24h", *,
                 record_window_scores: bool = True, record_counts: bool = True,
                 **options: Any) -> None:
        values: dict[str, Any] = {
            "window": duration_ns(window, "window"),
            "learning_period": duration_ns(learn, "learn"),
        }
        given: dict[str, str] = {}
        for name, value in options.items():
            field = _ALIASES.get(name, name)
            if field == "learning_period":
                raise make_error("option 'learning_period': pass it as learn=")
            if field not in _SPECS:
                raise make_error(f"unknown option '{name}'; expected one of {_option_names()}")
            if field in given:
                raise make_error(f"option '{name}' given twice (as '{given[field]}' too)")
            given[field] = name
            values[field] = _convert_option(field, value)
        self._core = _timescan._Engine(values, bool(record_window_scores), bool(record_counts))
        self._record_window_scores = bool(record_window_scores)
        self._record_counts = bool(record_counts)

    @classmethod
    def _wrap(cls, core: Any, record_window_scores: bool, record_counts: bool) -> "Engine":
        engine = cls.__new__(cls)
        engine._core = core
        engine._record_window_scores = bool(record_window_scores)
        engine._record_counts = bool(record_counts)
        return engine

    # --- snapshots -------------------------------------------------------
    #
    # A snapshot is the engine's whole state (options, symbols, baselines,
    # live entities with their open windows, clock) in timescan's versioned
    # protobuf format, the same files the CLI's --save/--load, learn, merge
    # and inspect use. What the bindings recorded for findings(),
    # window_scores() and baseline()'s observed counts is not part of it.

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes a snapshot to `path` atomically (temporary file, fsync,
        rename; readable by the owner only).

        Raises:
          Error: the file cannot be written (the path and the reason).
        """
        self._core.save_snapshot(os.fspath(path))

    @classmethod
    def load(cls, path: Union[str, os.PathLike], *, record_window_scores: bool = True,
             record_counts: bool = True) -> "Engine":
        """Returns the engine saved in snapshot file `path` (by save(), or
        `timescan score --save`, `learn`, `merge`); scoring continues exactly
        where it stopped.

        Raises:
          Error: a missing, truncated, corrupt or invalid file, with the path
            and the field at fault (code DATA_LOSS or INVALID_ARGUMENT).
        """
        core = _timescan._Engine.load_snapshot(os.fspath(path), bool(record_window_scores),
                                               bool(record_counts))
        return cls._wrap(core, record_window_scores, record_counts)

    def snapshot(self) -> bytes:
        """Returns the engine's state as snapshot bytes (see load())."""
        return self._core.snapshot()

    @classmethod
    def from_snapshot(cls, data: bytes, *, record_window_scores: bool = True,
                      record_counts: bool = True) -> "Engine":
        """Returns an engine restored from snapshot bytes (see snapshot())."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise make_error(f"from_snapshot: expected bytes, got {type(data).__name__}")
        core = _timescan._Engine.from_snapshot(bytes(data), bool(record_window_scores),
                                               bool(record_counts))
        return cls._wrap(core, record_window_scores, record_counts)

    def merge(self, other: "Engine") -> None:
        """Adds the baselines `other` learned (other replicas or hosts of the
        same groups) to this engine's: counts and moments combine, value
        histograms and categorical counts add, groups new here are copied.
        This engine's clock and live entities stay; other's entities are not
        copied. Associative and commutative up to floating-point rounding.

        Raises:
          Error: the window widths or value caps differ (nothing changes).
        """
        if not isinstance(other, Engine):
            raise make_error(f"merge: expected a timescan.Engine, got {type(other).__name__}")
        self._core.merge(other._core)

    def end_learning(self) -> None:
        """Ends the learning period now: every window not yet closed will be
        scored. For an engine that learned from a replay and then monitors."""
        self._core.end_learning()

    def set_mode(self, mode: Optional[str], name: Optional[str] = None) -> None:
        """Sets how windows are used: "learn" (learned, never scored),
        "monitor" (scored; learned only below the threshold, so an attacker
        cannot teach the baseline) or "frozen" (scored, never learned).

        Without `name`, the engine's mode ("monitor" or "frozen" during the
        learning period ends it). With `name`, the mode of that group (its
        future entities too) or else of that live entity, which come first;
        None clears it. Takes effect on windows closing after the call.

        Raises:
          Error: an unknown mode, or no group or live entity named `name`.
        """
        self._core.set_mode(mode, None if name is None else str(name))

    def mode_of(self, entity: str) -> str:
        """Returns the mode in force for the live entity `entity`.

        Raises:
          Error: no live entity of that name (code NOT_FOUND).
        """
        return str(self._core.mode_of(str(entity)))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickles through snapshot bytes (the recorded outputs stay behind).
        return (_from_pickle, (self.snapshot(), self._record_window_scores, self._record_counts))

    # --- configuration ---------------------------------------------------

    @property
    def options(self) -> dict[str, Any]:
        """The EngineOptions in force, durations as pandas.Timedelta."""
        out = dict(self._core.options())
        for name, (kind, _) in _SPECS.items():
            if kind == "duration":
                out[name] = as_timedelta(out[name])
        return out

    @property
    def threshold(self) -> float:
        """The score (-log10 p) at or over which a window is a finding."""
        return float(self._core.threshold())

    @property
    def window(self) -> pd.Timedelta:
        """The window width."""
        return as_timedelta(self._core.window_ns)

    @property
    def stats(self) -> dict[str, Any]:
        """Counters since the engine was created (EngineStats): events,
        late_events, invalid_events, bad_lines, entities_seen,
        entities_live, entities_retired, groups, windows_scored, findings,
        group_findings, consensus_replaced,
        values_overflowed, watermark and learning_ends (UTC Timestamps, NaT
        before the first event), symbols, and what the bindings recorded
        (window_scores_recorded, findings_recorded, count_series)."""
        out = dict(self._core.stats())
        out["watermark"] = timestamp(out.pop("watermark_ns"))
        out["learning_ends"] = timestamp(out.pop("learning_ends_ns"))
        return out

    def __repr__(self) -> str:
        s = self._core.stats()
        return (f"<timescan.Engine window={_timescan.format_duration(self._core.window_ns)} "
                f"threshold={self.threshold:.2f} events={s['events']} "
                f"entities={s['entities_seen']} findings={s['findings']}>")

    # --- input -----------------------------------------------------------

    def ingest(self, data: Any, *, columns: Optional[Mapping[str, str]] = None,
               errors: str = "raise", sort: bool = False) -> IngestReport:
        """Adds events, in row order, and scores every window they close.

        Args:
          data: a pandas DataFrame with the native column names (time,
            entity, kind required; group, subject, actor, value, status
            optional; other columns ignored; a DatetimeIndex serves as time
            when there is no time column), a dict of equal-length arrays
            with the same names, a list of dicts (one per event), or an
            object with to_pandas() (pyarrow, polars).
            time: datetime64 (naive = UTC) or tz-aware, RFC 3339 strings,
            or unix seconds (numbers). entity, group, subject, actor, kind:
            strings (object, string or categorical dtype; other values are
            converted with str()). value: numbers (NaN = absent). status:
            integers (NaN / <NA> = absent).
          columns: maps event fields to differently named columns, e.g.
            {"entity": "container_id", "time": "ts"}.
          errors: "raise" (default): a bad row (missing time or entity,
            unknown kind, time outside 1970..2262, non-finite value,
            non-integer status) raises Error naming the first bad row and
            column, and nothing is ingested. "count": bad rows are skipped;
            the report counts them and keeps the first messages.
          sort: ingest in time order (stable) rather than row order. Events
            older than a window's close (by more than allowed_lateness) are
            counted as late and not scored, so unsorted input from several
            sources usually wants sort=True. Sorting converts the input in
            one piece (about 25 bytes a row while it runs).

        Returns:
          An IngestReport (rows, events, bad_rows, late_events, errors).

        Rows are converted 262,144 at a time: each distinct string object
        is interned once per input (categorical columns: each category),
        times, values and statuses are read in place, and the C++ engine
        ingests each chunk with the GIL released. Memory added is bounded
        whatever the input's size: under 10 MiB for the chunk, plus, for a
        string column of many distinct values, its table of symbols (4
        bytes a category; 32 to 64 bytes a distinct object, at most 8 MiB).
        With errors="raise", an input of more than one chunk is checked
        whole before any row is ingested. Ctrl-C (KeyboardInterrupt) stops
        ingesting within a chunk, sorted or not; the rows before it stay
        ingested.
        """
        if not isinstance(sort, (bool, np.bool_)):
            raise make_error(f"sort={sort!r}: expected True or False")
        late_before = self._core.stats()["late_events"]
        batches: Iterable[tuple[Columns, int, list[str]]]
        if sort:  # needs the whole input's times: one chunk
            cols, bad, messages = convert_all(self._core, data, columns=columns, errors=errors)
            if len(cols) > 1 and np.any(cols.time_ns[1:] < cols.time_ns[:-1]):
                cols = cols.take(np.argsort(cols.time_ns, kind="stable"))
            batches = [(cols, bad, messages)]
        else:
            batches = convert(self._core, data, columns=columns, errors=errors)
        events, bad_rows = 0, 0
        errors_seen: list[str] = []
        for cols, bad, messages in batches:
            if len(cols):
                cols.ingest_into(self._core)
            events += len(cols)
            bad_rows += bad
            errors_seen += messages[:_MAX_MESSAGES - len(errors_seen)]
            del cols  # before the next chunk is converted
        late = self._core.stats()["late_events"] - late_before
        return IngestReport(rows=events + bad_rows, events=events, bad_rows=bad_rows,
                            late_events=int(late), errors=tuple(errors_seen))

    def ingest_jsonl(self, path: Union[str, os.PathLike], format: str = "auto", *,
                     strict: bool = False,
                     decode_thread: Optional[bool] = None,
                     progress: Union[bool, Callable[[IngestProgress], None]] = False,
                     progress_seconds: float = 2.0) -> IngestReport:
        """Reads events from a file with the C++ readers and ingests them.

        Args:
          path: a file (gzip detected by its magic bytes) or "-" for stdin.
          format: "auto" (from the first record), "native" (timescan JSONL),
            "proto", "falco", "tetragon", "cloudtrail" or "csv".
          strict: raise Error at the first bad record (the events before it
            stay ingested). By default bad records are skipped and counted,
            and the report keeps the first messages ("path:line: field ...").
            An input that cannot be read to its end (a read error, a gzip
            cut short) raises Error whatever `strict` says, once the events
            read before the cut are ingested: a report would hide that the
            rest is missing.
          decode_thread: decode on a second thread while the engine ingests
            (the same results, faster on two cores). None (default): for a
            regular file on a machine with two cores or more. Never for
            stdin, a pipe or a device (usually a live stream, paced by its
            writer): a stream is read on the calling thread, which leaves
            the engine free for other threads while it waits for the writer,
            and stops at Ctrl-C (KeyboardInterrupt) even then, or while a
            FIFO waits for a writer to open it. A file, or a
            stream that keeps coming, stops at Ctrl-C within 65,536 records.
            Either way the events read before it stay ingested.
          progress: True writes a progress line to stderr about every
            `progress_seconds` (events, rate, bad records, event time); a
            callable is called with an IngestProgress instead (it may call
            this engine's stats(); an exception it raises stops reading and
            is raised here, the events before staying ingested). From a
            stream (stdin, a pipe, a device) events reach the engine as they
            arrive, and progress is checked at each.

        Returns:
          An IngestReport (rows = records read, events, bad_rows, skipped by
          reason, format, late_events, errors).
        """
        if format not in _timescan.format_names():
            raise make_error(f"format {format!r}: expected one of "
                             f"{', '.join(_timescan.format_names())}")
        late_before = self._core.stats()["late_events"]
        if not (progress_seconds > 0):
            raise make_error(f"progress_seconds is {progress_seconds!r}; expected a positive number")
        callback = None
        if progress is True:
            callback = _print_progress
        elif callable(progress):
            callback = progress
        elif progress is not False and progress is not None:
            raise make_error(f"progress is {progress!r}; expected True, False or a callable")

        reported = []

        def report(records: int, events: int, bad_records: int, watermark_ns: int,
                   seconds: float) -> None:
            reported.append(True)
            callback(IngestProgress(records=records, events=events, bad_records=bad_records,
                                    watermark=timestamp(watermark_ns), seconds=seconds))

        out = self._core.ingest_jsonl(os.fspath(path), format, bool(strict),
                                      decode_thread=None if decode_thread is None
                                      else bool(decode_thread),
                                      progress=report if callback is not None else None,
                                      progress_seconds=float(progress_seconds))
        if callback is _print_progress and reported:
            sys.stderr.write("\n")  # past the line rewritten in place
        late = self._core.stats()["late_events"] - late_before
        return IngestReport(rows=int(out["records"]), events=int(out["events"]),
                            bad_rows=int(out["bad_records"]), late_events=int(late),
                            errors=tuple(out["errors"]), skipped=dict(out["skipped"]),
                            format=str(out["format"]))

    def advance_to(self, time: TimeLike) -> None:
        """Moves event time forward to `time` as if an event had arrived
        then: closes (and scores) the windows the watermark passes. Never
        moves time back."""
        self._core.advance_to(time_ns(time, "advance_to"))

    def flush(self) -> None:
        """Closes and scores every open window (the end of the input)."""
        self._core.flush()

    # --- output ----------------------------------------------------------

    def findings(self, *, clear: bool = False) -> pd.DataFrame:
        """Returns the findings so far, in report order, one row each.

        Columns: entity, group (str; group "" when ungrouped), window_start,
        window_end (datetime64[ns, UTC]), score (-log10 p, float64),
        p_value, severity (ordered categorical low < medium < high <
        critical), top_reason (str: "feature: observed (expected ...)" of
        the most important reason) and reasons (a list of dicts with model,
        feature, observed, expected, p_value; most important first).

        Args:
          clear: forget the returned findings (for incremental notebooks).
        """
        rows = self._core.findings(bool(clear))
        columns = ["entity", "group", "window_start", "window_end", "score", "p_value",
                   "severity", "reasons", "json"]
        raw = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
        top = []
        for reasons in raw["reasons"]:
            if reasons:
                r = reasons[0]
                top.append(f"{r['feature']}: {r['observed']} (expected {r['expected']})")
            else:
                top.append("")
        return pd.DataFrame({
            "entity": pd.Series(raw["entity"], dtype=str),
            "group": pd.Series(raw["group"], dtype=str),
            "window_start": utc_index(np.array(raw["window_start"], dtype=np.int64)),
            "window_end": utc_index(np.array(raw["window_end"], dtype=np.int64)),
            "score": np.array(raw["score"], dtype=np.float64),
            "p_value": np.array(raw["p_value"], dtype=np.float64),
            "severity": pd.Categorical(raw["severity"], dtype=_SEVERITY_DTYPE),
            "top_reason": pd.Series(top, dtype=str),
            "reasons": pd.Series(raw["reasons"], dtype=object),
        })

    def findings_json(self) -> list[str]:
        """Returns the findings so far as JSON lines, byte for byte what the
        C++ FindingToJson (and so the command line) writes."""
        return [r[8] for r in self._core.findings(False)]

    def window_scores(self, *, clear: bool = False) -> pd.DataFrame:
        """Returns the score of every entity window scored so far (after the
        learning period, anomalous or not), in report order.

        Columns: entity, group (categorical, categories in the order the
        engine first met them; group "" when ungrouped), window_start,
        window_end (datetime64[ns, UTC]), score (-log10 p), p_value
        (float64) and events (int64; 0 for an empty window). Empty when the engine was made with
        record_window_scores=False.

        Args:
          clear: forget the returned rows (bounds memory on long replays).
        """
        cols = self._core.window_scores(bool(clear))
        return pd.DataFrame({
            "entity": _categorical(self._core, cols["entity"]),
            "group": _categorical(self._core, cols["group"]),
            "window_start": utc_index(cols["window_start"]),
            "window_end": utc_index(cols["window_end"]),
            "score": cols["score"],
            "p_value": cols["p_value"],
            "events": cols["events"].astype(np.int64),
        })

    def groups(self) -> pd.DataFrame:
        """Returns every baseline the engine keeps, the fleet ("*") first:
        columns group (str), ungrouped_entity (the baseline of an entity
        without a group), new_after_learning, learned_windows (entity windows
        learned into it) and live_entities."""
        rows = self._core.groups()
        columns = ["group", "ungrouped_entity", "new_after_learning", "learned_windows",
                   "live_entities"]
        frame = pd.DataFrame(rows, columns=columns)
        return frame.astype({"group": str, "ungrouped_entity": bool, "new_after_learning": bool,
                             "learned_windows": np.int64, "live_entities": np.int64})

    def entities(self) -> pd.DataFrame:
        """Returns every entity that had events (columns entity, group), in
        first-seen order. Needs record_counts=True (else empty)."""
        entities, groups = self._core.entities()
        return pd.DataFrame({
            "entity": pd.Series(self._core.names(entities), dtype=str),
            "group": pd.Series(self._core.names(groups), dtype=str),
        })

    def group_of(self, entity: str) -> str:
        """Returns the group of `entity` ("" when ungrouped).

        Raises:
          Error: the entity was never seen (code NOT_FOUND).
        """
        sym = self._core.find_symbol(str(entity))
        if sym is not None and self._record_counts:
            entities, groups = self._core.entities()
            hit = np.flatnonzero(entities == sym)
            if hit.size:
                return self._core.names(groups[hit[:1]])[0]
        return str(self._core.group_of(str(entity)))

    def baseline(self, entity_or_group: str, feature: str, *, start: Optional[TimeLike] = None,
                 end: Optional[TimeLike] = None, limit: int = 50) -> pd.DataFrame:
        """Returns what the baseline expects of a feature beside what was seen.

        Args:
          entity_or_group: an entity (container id) or a group (workload).
          feature: "count.<kind>" (events of that kind per window, e.g.
            "count.request") or "<kind>.subject" / "<kind>.actor" (the
            values the categorical baseline knows, e.g. "exec.subject").
          start, end: only windows starting in [start, end) (count features).
            For a name with no recorded events (a group known only to the
            engine, or record_counts=False) both are required.
          limit: at most this many known values (value features).

        Returns:
          For "count.<kind>", one row per window from the first to the last
          window with an event of the entity (empty windows included, as the
          engine sees them): window_start, window_end (UTC), observed (the
          entity's events of that kind in the window; for a group, the mean
          over the group's entities that had any event in the window; NaN
          without recorded counts), expected (the count model's mean for the
          group at that UTC hour of day), lower and upper (its ~98% interval),
          baseline_windows (the windows the estimate rests on) and score (the
          entity's window score, NaN where not scored or not recorded).
          Observed counts come from the events ingested through this object
          (late events included), kept by the bindings, not from the engine.
          For "<kind>.subject" / "<kind>.actor": value and count, most frequent
          first. attrs holds entity, group and feature.

        Raises:
          Error: a malformed feature, or a name the engine does not know.
        """
        mode, kind, field = _parse_feature(feature)
        name = str(entity_or_group)
        sym = self._core.find_symbol(name)
        entities, groups = self._core.entities()
        is_entity = sym is not None and bool(np.any(entities == sym))
        group_sym = None
        if is_entity:
            group_sym = int(groups[np.flatnonzero(entities == sym)[0]])
            group = self._core.names(np.array([group_sym], np.uint32))[0] or name
        else:
            try:
                group = self._core.group_of(name) or name
                is_live_entity = True
            except Error:
                group, is_live_entity = name, False
            if sym is not None and not is_live_entity and np.any(groups == sym):
                group_sym = int(sym)
        attrs = {"entity": name if is_entity else None, "group": group, "feature": feature}

        if mode == "values":
            if not isinstance(limit, numbers.Integral) or limit < 0:
                raise make_error(f"limit={limit!r}: expected a non-negative integer")
            rows = self._core.known_values(group, kind, field, int(limit))
            out = pd.DataFrame({
                "value": pd.Series([r[0] for r in rows], dtype=str),
                "count": np.array([r[1] for r in rows], dtype=np.int64),
            })
            out.attrs.update(attrs)
            return out

        window_ns = int(self._core.window_ns)
        start_ns = None if start is None else time_ns(start, "start")
        end_ns = None if end is None else time_ns(end, "end")
        observed: Optional[pd.Series] = None
        if is_entity:
            assert sym is not None
            series = self._core.count_series(entity=int(sym))
            observed = self._observed(series, kind, per_entity=False)
        elif group_sym is not None:
            series = self._core.count_series(group=group_sym)
            observed = self._observed(series, kind, per_entity=True)
        if observed is not None and len(observed):
            lo = observed.index.min() if start_ns is None else start_ns
            hi = observed.index.max() + window_ns if end_ns is None else end_ns
        else:
            if start_ns is None or end_ns is None:
                if not is_entity and group_sym is None:
                    # Not an entity or group with events here: check the engine knows it.
                    self._core.expected_count(group, kind, 0)
                raise make_error(f"baseline('{name}', '{feature}'): no recorded events; "
                                 "pass start= and end=", "FAILED_PRECONDITION")
            lo, hi = start_ns, end_ns
        first = -(-lo // window_ns) * window_ns  # the first window starting at or after lo
        starts = np.arange(first, hi, window_ns, dtype=np.int64)
        obs = np.full(len(starts), np.nan)
        if observed is not None and len(observed):
            obs = observed.reindex(starts).to_numpy(dtype=np.float64)
            if is_entity:
                # A window of the entity without an event of this kind is a
                # 0; outside its first..last window with events, unknown.
                inside = (starts >= observed.index.min()) & (starts <= observed.index.max())
                obs = np.where(np.isnan(obs) & inside, 0.0, obs)

        hours = (starts // 3_600_000_000_000) % 24
        table = np.full((24, 4), np.nan)
        found = False
        for hour in np.unique(hours):
            try:
                table[hour] = self._core.expected_count(group, kind, int(hour))
                found = True
            except Error as e:
                if getattr(e, "code", "") != "NOT_FOUND":
                    raise
        if not found and observed is None:
            self._core.expected_count(group, kind, int(hours[0]) if len(hours) else 0)
        scores = np.full(len(starts), np.nan)
        if is_entity and len(starts):
            ws = self._core.window_scores(False)
            mask = ws["entity"] == sym
            if np.any(mask):
                s = pd.Series(ws["score"][mask], index=ws["window_start"][mask])
                s = s[~s.index.duplicated(keep="last")]
                scores = s.reindex(starts).to_numpy(dtype=np.float64)
        out = pd.DataFrame({
            "window_start": utc_index(starts),
            "window_end": utc_index(starts + window_ns),
            "observed": obs,
            "expected": table[hours, 0],
            "lower": table[hours, 1],
            "upper": table[hours, 2],
            "baseline_windows": table[hours, 3],
            "score": scores,
        })
        out.attrs.update(attrs)
        return out

    @staticmethod
    def _observed(series: Mapping[str, np.ndarray], kind: int, per_entity: bool) -> pd.Series:
        """Returns counts of `kind` by window start (ns); for a group, the
        mean over the entities with any event in the window."""
        starts = series["window_start"]
        if len(starts) == 0:
            return pd.Series(dtype=np.float64)
        of_kind = series["kind"] == kind
        counts = pd.Series(series["count"][of_kind].astype(np.float64), index=starts[of_kind])
        counts = counts.groupby(level=0).sum()
        all_windows = np.unique(starts)
        if per_entity:
            frame = pd.DataFrame({"entity": series["entity"], "window_start": starts})
            active = frame.drop_duplicates().groupby("window_start").size()
            return (counts.reindex(all_windows, fill_value=0.0) / active.reindex(all_windows)).astype(np.float64)
        return counts.reindex(all_windows, fill_value=0.0)


def _from_pickle(data: bytes, record_window_scores: bool, record_counts: bool) -> Engine:
    return Engine.from_snapshot(data, record_window_scores=record_window_scores,
                                record_counts=record_counts)
