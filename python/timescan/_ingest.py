"""Turns tabular events (DataFrame, dict of arrays, list of dicts) into the
columns the C++ engine ingests: int64 times, uint8 kinds, uint32 symbols,
float64 values and int32 statuses.

Strings are never handled one per row here: each string column is
factorized (or its categorical codes reused), only its distinct values are
interned, and the symbols are gathered with one numpy take.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterator, Optional, Union

import numpy as np
import pandas as pd

from . import _timescan
from ._convert import make_error, time_ns

#: The native event fields, as in the JSONL schema.
FIELDS = ("time", "entity", "group", "kind", "subject", "actor", "value", "status")
REQUIRED = ("time", "entity", "kind")
KINDS: tuple[str, ...] = tuple(_timescan.kind_names())
_KIND_CODE = {name: code for code, name in enumerate(KINDS)}
_KINDS_EXPECTED = "one of " + ", ".join(KINDS)
_MISSING_KIND = 254
_UNKNOWN_KIND = 255
# Last representable time: 2262-04-11T23:47:16.854775807Z.
_MAX_NS = np.iinfo(np.int64).max
_RANGE_TEXT = "outside 1970-01-01T00:00:00Z..2262-04-11T23:47:16Z"
_MAX_MESSAGES = 10
_NS_PER_UNIT = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                "m": 60_000_000_000, "h": 3_600_000_000_000, "D": 86_400_000_000_000}

EventData = Union[pd.DataFrame, Mapping[str, Any], Sequence[Mapping[str, Any]]]


@dataclasses.dataclass(frozen=True)
class IngestReport:
    """What one ingest() or ingest_jsonl() call did.

    Attributes:
      rows: rows (or, for ingest_jsonl, non-blank lines/records) read.
      events: events handed to the engine.
      bad_rows: rows or records rejected (with errors="count", or bad JSONL
        lines, which are always counted); 0 otherwise.
      late_events: events the engine counted as late during this call (older
        than their window's close; not scored).
      errors: messages of the first bad rows or records ("row 3, column
        'kind': expected one of exec, ...").
      skipped: ingest_jsonl only: records deliberately not mapped to an
        event, by reason.
      format: ingest_jsonl only: the input format used (after detection).
    """

    rows: int
    events: int
    bad_rows: int = 0
    late_events: int = 0
    errors: tuple[str, ...] = ()
    skipped: Mapping[str, int] = dataclasses.field(default_factory=dict)
    format: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class IngestProgress:
    """How far a long ingest_jsonl() call has come (its progress callback's
    argument).

    Attributes:
      records: non-blank lines or records read so far (with the decode
        thread, counted a batch of 1,024 events at a time).
      events: events handed to the engine so far.
      bad_records: records rejected so far (counted as `records` is).
      watermark: the latest event time seen (UTC; NaT before the first event).
      seconds: wall time since the call started.
    """

    records: int
    events: int
    bad_records: int
    watermark: pd.Timestamp
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclasses.dataclass
class Columns:
    """Engine-ready columns of a batch (see module docstring)."""

    time_ns: np.ndarray
    kind: np.ndarray
    entity: np.ndarray
    group: Optional[np.ndarray] = None
    subject: Optional[np.ndarray] = None
    actor: Optional[np.ndarray] = None
    value: Optional[np.ndarray] = None
    status: Optional[np.ndarray] = None
    status_present: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.time_ns)

    def take(self, rows: np.ndarray) -> "Columns":
        """Returns the columns of `rows` (indices or a boolean mask)."""
        def pick(a: Optional[np.ndarray]) -> Optional[np.ndarray]:
            return None if a is None else np.ascontiguousarray(a[rows])
        return Columns(
            time_ns=np.ascontiguousarray(self.time_ns[rows]),
            kind=np.ascontiguousarray(self.kind[rows]),
            entity=np.ascontiguousarray(self.entity[rows]),
            group=pick(self.group), subject=pick(self.subject), actor=pick(self.actor),
            value=pick(self.value), status=pick(self.status),
            status_present=pick(self.status_present))

    def ingest_into(self, core: Any) -> None:
        """Ingests the columns into the C++ engine `core` (GIL released),
        CHUNK_ROWS rows a call: between calls Python sees Ctrl-C, so a long
        input (a sorted one is a single Columns) stops within a chunk."""
        def part(a: Optional[np.ndarray], lo: int, hi: int) -> Optional[np.ndarray]:
            return None if a is None else a[lo:hi]  # a view: contiguous, not copied
        n = len(self)
        step = max(1, int(CHUNK_ROWS))
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            core.ingest_arrays(self.time_ns[lo:hi], self.kind[lo:hi], self.entity[lo:hi],
                               group=part(self.group, lo, hi),
                               subject=part(self.subject, lo, hi),
                               actor=part(self.actor, lo, hi),
                               value=part(self.value, lo, hi),
                               status=part(self.status, lo, hi),
                               status_present=part(self.status_present, lo, hi))


class _Problems:
    """Bad rows found while converting, with a message for each."""

    def __init__(self, index: Optional[pd.Index], offset: int = 0) -> None:
        self._index = index
        self._offset = offset  # rows given to add() are of a chunk starting here
        self._items: list[tuple[np.ndarray, str, Callable[[int], str]]] = []

    def add(self, rows: np.ndarray, column: str, message: Union[str, Callable[[int], str]]) -> None:
        """Adds bad `rows` (of the chunk); `message` may be a function of the
        row (of the chunk) for messages that quote the value."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size:
            describe = message if callable(message) else (lambda _row, m=message: m)
            self._items.append((rows, column, describe))

    def __bool__(self) -> bool:
        return bool(self._items)

    def _where(self, row: int, column: str) -> str:
        row += self._offset
        where = f"row {row}"
        if self._index is not None:
            label = self._index[row]
            label = label.item() if isinstance(label, np.generic) else label
            where += f" (index {label!r})"
        return f"{where}, column '{column}'"

    def rows(self, n: int) -> np.ndarray:
        """Returns a boolean mask of the bad rows of the chunk (n rows)."""
        mask = np.zeros(n, dtype=bool)
        for rows, _, _ in self._items:
            mask[rows] = True
        return mask

    def messages(self, limit: int) -> list[str]:
        """Returns messages for the first `limit` bad rows, by row."""
        firsts: list[tuple[int, int, str, Callable[[int], str]]] = []
        for order, (rows, column, describe) in enumerate(self._items):
            for row in rows[:limit]:
                firsts.append((int(row), order, column, describe))
        firsts.sort(key=lambda item: (item[0], item[1]))
        out: list[str] = []
        seen: set[int] = set()
        for row, _, column, describe in firsts:
            if row in seen:
                continue
            seen.add(row)
            out.append(f"{self._where(row, column)}: {describe(row)}")
            if len(out) == limit:
                break
        return out


def to_columns(data: Any, columns: Optional[Mapping[str, str]] = None) -> tuple[dict[str, pd.Series], int, Optional[pd.Index]]:
    """Returns ({field: Series}, number of rows, index to report or None).

    Accepts a DataFrame, a mapping of column name to array-like, a sequence
    of mappings (one per event), or an object with a to_pandas() method
    (pyarrow, polars). `columns` maps event fields to source column names.
    """
    if not isinstance(data, (pd.DataFrame, Mapping, Sequence, np.ndarray)) and hasattr(data, "to_pandas"):
        data = data.to_pandas()
    if isinstance(data, (str, bytes)):
        raise make_error("ingest(): expected a DataFrame, a dict of arrays or a list of dicts, "
                         "got a string (for a file, use ingest_jsonl(path))")
    if isinstance(data, Sequence) and not isinstance(data, pd.DataFrame):
        for i, record in enumerate(data):
            if not isinstance(record, Mapping):
                raise make_error(f"ingest(): item {i} of the list is a {type(record).__name__}; "
                                 "expected one dict per event")
        data = pd.DataFrame.from_records(list(data)) if len(data) else pd.DataFrame()
    if not isinstance(data, (pd.DataFrame, Mapping)):
        raise make_error("ingest(): expected a DataFrame, a dict of arrays or a list of dicts, "
                         f"got {type(data).__name__}")

    rename = dict(columns or {})
    for field in rename:
        if field not in FIELDS:
            raise make_error(f"ingest(columns=...): '{field}' is not an event field; "
                             f"expected some of {', '.join(FIELDS)}")
    available = list(data.columns) if isinstance(data, pd.DataFrame) else list(data.keys())

    out: dict[str, pd.Series] = {}
    for field in FIELDS:
        source = rename.get(field, field)
        if source in available:
            raw = data[source]
            if isinstance(raw, pd.DataFrame):
                raise make_error(f"column '{source}' appears more than once")
            out[field] = raw if isinstance(raw, pd.Series) else _series(raw, source)
        elif field in rename:
            raise make_error(f"ingest(columns=...): column '{source}' (for '{field}') not found; "
                             f"columns are {', '.join(map(str, available))}")
    index: Optional[pd.Index] = None
    if isinstance(data, pd.DataFrame):
        n = len(data)
        if "time" not in out and isinstance(data.index, pd.DatetimeIndex):
            out["time"] = pd.Series(data.index, copy=False)
        if not isinstance(data.index, pd.RangeIndex) or data.index.start != 0 or data.index.step != 1:
            index = data.index
        # Positional access from here on: drop the index (no copy).
        out = {k: (v.reset_index(drop=True) if index is not None else v) for k, v in out.items()}
    else:
        lengths = {k: len(v) for k, v in out.items()}
        n = max(lengths.values(), default=0)
        for name, length in lengths.items():
            if length != n:
                raise make_error(f"column '{name}' has {length} rows; expected {n} "
                                 "(every column must have the same length)")
    if n > 0:
        missing = [f for f in REQUIRED if f not in out]
        if missing:
            raise make_error(
                f"column '{missing[0]}' is missing; expected columns time, entity and kind "
                f"(and optionally group, subject, actor, value, status); got "
                f"{', '.join(map(str, available)) or 'none'}")
    return out, n, index


def _series(values: Any, name: str) -> pd.Series:
    if np.ndim(values) == 0:
        raise make_error(f"column '{name}' is a scalar; expected an array or list")
    if np.ndim(values) != 1:
        raise make_error(f"column '{name}' has {np.ndim(values)} dimensions; expected 1")
    return pd.Series(values, copy=False)


def _factorize(col: pd.Series) -> tuple[np.ndarray, Any]:
    """Returns (codes with -1 for missing, distinct values)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy(), col.cat.categories
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    return codes, uniques


def _object_values(col: pd.Series) -> Optional[np.ndarray]:
    """Returns the column as a numpy array of Python objects when that is how
    pandas holds it (object dtype, Python-backed strings), else None."""
    dtype = col.dtype
    if isinstance(dtype, np.dtype) and dtype == object:
        return col.to_numpy()
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "python":
        return col.to_numpy(dtype=object)
    return None


def _symbols(core: Any, col: pd.Series, tables: Optional[dict[str, Any]] = None,
             name: str = "") -> np.ndarray:
    """Returns the uint32 symbols of a string column (0 for missing or "").

    `tables` keeps what was learned of column `name` across the chunks of
    one input: a categorical column's symbol table (its categories, which
    may be many, e.g. routes with ids, are interned once, not once per
    chunk), or an object column's memo of the symbol of each object.
    """
    values = _object_values(col)
    if values is not None:  # one pass in C++, each distinct object once
        if tables is None:
            return core.intern_column(values)
        memo = tables.get(name)
        if not isinstance(memo, _timescan.ObjectSymbols):
            memo = tables[name] = _timescan.ObjectSymbols()
        return core.intern_column(values, memo)
    if tables is not None and isinstance(col.dtype, pd.CategoricalDtype):
        table = tables.get(name)
        if not isinstance(table, np.ndarray):
            table = np.append(core.intern(col.cat.categories), np.uint32(0))
            tables[name] = table
        return table[col.cat.codes.to_numpy()]
    codes, uniques = _factorize(col)  # categorical codes, Arrow, numbers
    table = np.append(core.intern(uniques), np.uint32(0))  # code -1 -> last -> 0
    return table[codes]


def _kinds(col: pd.Series, problems: _Problems) -> np.ndarray:
    values = _object_values(col)
    if values is not None:
        kinds = _timescan.kind_column(values)
        value_of = values.__getitem__
    else:
        codes, uniques = _factorize(col)
        table = np.array([_KIND_CODE.get(u, _UNKNOWN_KIND) if isinstance(u, str) else _UNKNOWN_KIND
                          for u in uniques] + [_MISSING_KIND], dtype=np.uint8)
        kinds = table[codes]
        value_of = lambda row: uniques[codes[row]]  # noqa: E731
    bad = np.flatnonzero(kinds >= _MISSING_KIND)
    if bad.size:
        missing = bad[kinds[bad] == _MISSING_KIND]
        unknown = bad[kinds[bad] == _UNKNOWN_KIND]
        problems.add(missing, "kind", f"missing; expected {_KINDS_EXPECTED}")
        problems.add(unknown, "kind",
                     lambda row: f"expected {_KINDS_EXPECTED}; got {value_of(row)!r}")
    return kinds


def _times(col: pd.Series, problems: _Problems) -> np.ndarray:
    """Returns int64 unix nanoseconds; bad rows hold 0 and are reported."""
    dtype = col.dtype
    n = len(col)
    if isinstance(dtype, pd.DatetimeTZDtype) or np.issubdtype(_numpy_dtype(dtype), np.datetime64):
        # The int64 instants (UTC for tz-aware columns), without a copy.
        array = col.array
        unit, count = (getattr(array, "unit", "ns"), 1)
        raw = np.asarray(array.asi8)
        if isinstance(dtype, np.dtype):
            unit, count = np.datetime_data(dtype)
        nat = raw == np.iinfo(np.int64).min
        if unit != "ns":
            per_unit = count * _NS_PER_UNIT[unit]
            outside = ~nat & ((raw > _MAX_NS // per_unit) | (raw < 0))
            problems.add(np.flatnonzero(outside), "time", f"time is {_RANGE_TEXT}")
            ns = np.where(nat | outside, 0, raw) * per_unit
        else:
            ns = raw
        problems.add(np.flatnonzero(nat), "time", "missing (NaT); expected a time")
        problems.add(np.flatnonzero(~nat & (ns < 0)), "time", f"time is {_RANGE_TEXT}")
        return ns
    if pd.api.types.is_bool_dtype(dtype):
        problems.add(np.arange(n), "time", "expected a time, got a bool")
        return np.zeros(n, dtype=np.int64)
    if pd.api.types.is_numeric_dtype(dtype):
        return _unix_seconds(col, problems)
    # Strings (object or string dtype): RFC 3339, parsed in C++.
    inferred = pd.api.types.infer_dtype(col, skipna=True)
    if inferred in ("string", "empty"):
        values = col.to_numpy(dtype=object, na_value=None)
        ns, bad_rows, _ = _timescan.parse_times(values, 0)
        if bad_rows.size:
            def describe(row: int) -> str:
                value = values[row]
                if value is None:
                    return "missing; expected an RFC 3339 string or unix seconds"
                try:
                    _timescan.parse_time(value)
                except Exception as e:  # the C++ message for this row
                    return str(e)
                return "bad time"
            problems.add(bad_rows, "time", describe)
        return ns
    # Mixed objects (Timestamps, datetimes, numbers, strings): one by one.
    values = col.to_numpy(dtype=object)
    ns = np.zeros(n, dtype=np.int64)
    bad: list[int] = []
    messages: dict[int, str] = {}
    for i, value in enumerate(values):
        if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
            bad.append(i)
            messages[i] = "missing; expected an RFC 3339 string, a datetime or unix seconds"
            continue
        try:
            ns[i] = time_ns(value, "time")
        except Exception as e:  # noqa: BLE001 - every failure is a bad row
            bad.append(i)
            text = str(e)
            messages[i] = text[len("time: "):] if text.startswith("time: ") else text
    problems.add(np.array(bad, dtype=np.int64), "time", lambda row: messages[row])
    return ns


def _unix_seconds(col: pd.Series, problems: _Problems) -> np.ndarray:
    if pd.api.types.is_integer_dtype(col.dtype) and not isinstance(col.dtype, pd.api.extensions.ExtensionDtype):
        seconds = col.to_numpy()
        bad = (seconds < 0) | (seconds > _MAX_NS // 1_000_000_000)
        problems.add(np.flatnonzero(bad), "time", f"time is {_RANGE_TEXT}")
        return np.where(bad, 0, seconds).astype(np.int64) * 1_000_000_000
    x = col.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(x)
    bad = ~missing & ~((x >= 0) & (x < _MAX_NS / 1e9))
    problems.add(np.flatnonzero(missing), "time", "missing; expected an RFC 3339 string or unix seconds")
    problems.add(np.flatnonzero(bad), "time", lambda row: f"{x[row]!r} unix seconds is {_RANGE_TEXT}")
    x = np.where(missing | bad, 0.0, x)
    # As UnixSecondsToNanos: whole seconds, then the fraction rounded to ns.
    whole = np.floor(x)
    frac = np.floor((x - whole) * 1e9 + 0.5).astype(np.int64)
    return whole.astype(np.int64) * 1_000_000_000 + frac


def _values(col: pd.Series, problems: _Problems) -> np.ndarray:
    dtype = col.dtype
    if _numpy_dtype(dtype) == np.float64:
        x = col.to_numpy()
    elif pd.api.types.is_bool_dtype(dtype):
        x = np.full(len(col), np.nan)
        problems.add(np.flatnonzero(col.notna().to_numpy()), "value", "expected a number, got a bool")
    elif pd.api.types.is_numeric_dtype(dtype):
        x = col.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        numbers = pd.to_numeric(col, errors="coerce")
        x = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        wrong = np.flatnonzero(col.notna().to_numpy() & np.isnan(x))
        original = col.to_numpy(dtype=object)
        problems.add(wrong, "value", lambda row: f"expected a number, got {original[row]!r}")
    problems.add(np.flatnonzero(np.isinf(x)), "value", "expected a finite number (a double)")
    return x


def _statuses(col: pd.Series, problems: _Problems) -> tuple[np.ndarray, Optional[np.ndarray]]:
    dtype = col.dtype
    lo, hi = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        raw = col.to_numpy()
        bad = (raw < lo) | (raw > hi)
        problems.add(np.flatnonzero(bad), "status",
                     lambda row: f"expected an integer in the 32-bit range, got {raw[row]}")
        return np.where(bad, 0, raw).astype(np.int32), None
    if pd.api.types.is_bool_dtype(dtype):
        problems.add(np.flatnonzero(col.notna().to_numpy()), "status", "expected an integer, got a bool")
        return np.zeros(len(col), np.int32), np.zeros(len(col), bool)
    if isinstance(col.array, pd.arrays.IntegerArray):
        masked = _masked_statuses(col.array)
        if masked is not None:
            return masked
    if _numpy_dtype(dtype) == np.float64:
        x = col.to_numpy()  # NaN already means absent: no copy
    elif pd.api.types.is_numeric_dtype(dtype):
        x = col.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        original = col.to_numpy(dtype=object)
        wrong = np.flatnonzero(col.notna().to_numpy() & np.isnan(x))
        problems.add(wrong, "status", lambda row: f"expected an integer, got {original[row]!r}")
    # One pass in C++: NaN is absent; not an integer in the 32-bit range is bad.
    status, present, bad = _timescan.status_column(x)
    problems.add(bad, "status", lambda row: f"expected an integer in the 32-bit range, got {x[row]!r}")
    return status, (None if present.all() else present)


def _masked_statuses(array: Any) -> Optional[tuple[np.ndarray, Optional[np.ndarray]]]:
    """Returns (status, present or None) of a nullable integer column (Int32,
    Int64, ...) read through its values and mask, without a float copy; None
    when they are not numpy arrays (pandas' layout is private) or when a
    present value is outside the 32-bit range (the float path names it)."""
    data, mask = getattr(array, "_data", None), getattr(array, "_mask", None)
    if not (isinstance(data, np.ndarray) and isinstance(mask, np.ndarray)
            and data.ndim == 1 and data.shape == mask.shape
            and data.dtype.kind in "iu" and mask.dtype == np.bool_):
        return None
    info = np.iinfo(np.int32)
    if data.dtype.itemsize > 4 or data.dtype == np.uint32:
        outside = data > info.max
        if data.dtype.kind == "i":
            outside |= data < info.min
        if np.any(outside & ~mask):
            return None
    # Masked rows keep whatever value they hold: the engine reads a status
    # only where present.
    status = data if data.dtype == np.int32 else data.astype(np.int32)
    return status, (~mask if mask.any() else None)


def _numpy_dtype(dtype: Any) -> np.dtype:
    return dtype if isinstance(dtype, np.dtype) else np.dtype(object)


#: Rows converted at a time: bounds the memory Engine.ingest adds on top of
#: the DataFrame and the engine (about 25 bytes a row: under 10 MiB).
CHUNK_ROWS = 1 << 18


def _convert_rows(core: Any, fields: Mapping[str, pd.Series], lo: int, hi: int,
                  index: Optional[pd.Index], checks_only: bool = False,
                  tables: Optional[dict[str, Any]] = None) -> tuple[Columns, _Problems]:
    """Converts rows [lo, hi); with checks_only, only the columns that can
    have bad rows (group, subject and actor cannot). `tables`: see _symbols."""
    skip = ("group", "subject", "actor") if checks_only else ()
    part = {k: (v if lo == 0 and hi == len(v) else v.iloc[lo:hi])
            for k, v in fields.items() if k not in skip}
    problems = _Problems(index, offset=lo)
    time = _times(part["time"], problems)
    kind = _kinds(part["kind"], problems)
    entity = _symbols(core, part["entity"], tables, "entity")
    problems.add(np.flatnonzero(entity == 0), "entity", "missing or empty; expected the container id")
    cols = Columns(time_ns=time, kind=kind, entity=entity)
    if "value" in part:
        cols.value = _values(part["value"], problems)
    if "status" in part:
        cols.status, cols.status_present = _statuses(part["status"], problems)
    if not checks_only:
        for name in ("group", "subject", "actor"):
            if name in part:
                setattr(cols, name, _symbols(core, part[name], tables, name))
    return cols, problems


def _raise_first(count: int, messages: list[str]) -> None:
    more = f" ({count} bad rows in all; errors='count' skips and counts them)" if count > 1 else ""
    raise make_error(messages[0] + more)


def convert(core: Any, data: Any, *, columns: Optional[Mapping[str, str]] = None,
            errors: str = "raise", one_chunk: bool = False
            ) -> Iterator[tuple[Columns, int, list[str]]]:
    """Yields (engine-ready columns of the good rows, bad rows, messages) for
    each chunk of CHUNK_ROWS rows (or the whole input), in row order.

    With errors="raise", raises Error for the first bad row before anything
    is yielded (a larger input is checked chunk by chunk first, keeping
    nothing, so that memory stays bounded and ingest stays all or nothing);
    with errors="count", bad rows are dropped and counted.
    """
    if errors not in ("raise", "count"):
        raise make_error(f"errors={errors!r}: expected 'raise' or 'count'")
    fields, n, index = to_columns(data, columns)
    if n == 0:
        return
    step = n if one_chunk else max(1, int(CHUNK_ROWS))
    tables: dict[str, Any] = {}
    bounds = [(lo, min(n, lo + step)) for lo in range(0, n, step)]
    if errors == "raise" and len(bounds) > 1:
        count, messages = 0, []
        for lo, hi in bounds:
            _, problems = _convert_rows(core, fields, lo, hi, index, checks_only=True,
                                        tables=tables)
            if problems:
                count += int(problems.rows(hi - lo).sum())
                messages += problems.messages(_MAX_MESSAGES)
        if count:
            _raise_first(count, messages)
    for lo, hi in bounds:
        cols, problems = _convert_rows(core, fields, lo, hi, index, tables=tables)
        if problems:
            bad = problems.rows(hi - lo)
            count = int(bad.sum())
            messages = problems.messages(_MAX_MESSAGES)
            if errors == "raise":
                _raise_first(count, messages)
            cols, count_messages = cols.take(~bad), (count, messages)
        else:
            count_messages = (0, [])
        del problems
        yield (cols, *count_messages)
        del cols  # one chunk alive at a time


def convert_all(core: Any, data: Any, *, columns: Optional[Mapping[str, str]] = None,
                errors: str = "raise") -> tuple[Columns, int, list[str]]:
    """Returns convert() of the whole input as one chunk."""
    for cols, bad, messages in convert(core, data, columns=columns, errors=errors, one_chunk=True):
        return cols, bad, messages
    empty = np.zeros(0, np.int64)
    return Columns(empty, np.zeros(0, np.uint8), np.zeros(0, np.uint32)), 0, []
