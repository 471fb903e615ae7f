"""Conversions between Python values and the engine's nanoseconds.

Durations and times are parsed by the C++ library (one grammar for Python,
the command line and JSONL); this module only routes each Python type to it.
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
from typing import Any, Union

import numpy as np
import pandas as pd

from . import _timescan

Error = _timescan.Error

#: A duration: "90s", "1min", "24h", "1h30m"; a datetime.timedelta,
#: pandas.Timedelta or numpy.timedelta64; or a number of seconds.
DurationLike = Union[str, _dt.timedelta, np.timedelta64, int, float]

#: A point in time: an RFC 3339 string ("2026-11-02T10:00:00Z"); a
#: pandas.Timestamp, datetime.datetime or numpy.datetime64 (naive means UTC);
#: or unix seconds (int or float).
TimeLike = Union[str, _dt.datetime, _dt.date, pd.Timestamp, np.datetime64, int, float]

_MIN_NS = 0
_MAX_NS = np.iinfo(np.int64).max
_RANGE_TEXT = "outside 1970-01-01T00:00:00Z..2262-04-11T23:47:16Z"


def make_error(message: str, code: str = "INVALID_ARGUMENT") -> Exception:
    """Returns a timescan.Error with `message` and status `code`."""
    error = Error(message)
    error.code = code
    return error


def duration_ns(value: DurationLike, name: str = "duration") -> int:
    """Returns the nanoseconds of a duration; raises Error naming `name`."""
    if isinstance(value, (bool, np.bool_)):
        raise make_error(f"{name}: expected a duration like '90s', '1min' or '24h', got a bool")
    if isinstance(value, str):
        try:
            return int(_timescan.parse_duration(value))
        except Error as e:
            raise make_error(f"{name}: {e}") from None
    if isinstance(value, (_dt.timedelta, np.timedelta64)):
        td = pd.Timedelta(value)
        if td is pd.NaT:
            raise make_error(f"{name}: expected a duration, got NaT")
        return int(td.value)
    if isinstance(value, numbers.Real):
        seconds = float(value)
        if not math.isfinite(seconds) or abs(seconds) > 9.2e9:
            raise make_error(f"{name}: expected a finite number of seconds, got {value!r}")
        return int(round(seconds * 1e9))
    raise make_error(
        f"{name}: expected a duration like '90s', '1min' or '24h', a timedelta or seconds, "
        f"got {type(value).__name__}")


def time_ns(value: TimeLike, name: str = "time") -> int:
    """Returns the unix nanoseconds of a time; raises Error naming `name`."""
    if isinstance(value, (bool, np.bool_)):
        raise make_error(f"{name}: expected a time, got a bool")
    if isinstance(value, str):
        try:
            return int(_timescan.parse_time(value))
        except Error as e:
            raise make_error(f"{name}: {e}", getattr(e, "code", "INVALID_ARGUMENT")) from None
    if isinstance(value, (_dt.datetime, _dt.date, np.datetime64)):
        ts = pd.Timestamp(value)
        if ts is pd.NaT:
            raise make_error(f"{name}: missing (NaT); expected a time")
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        try:
            ns = int(ts.as_unit("ns").value)
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            raise make_error(f"{name}: {ts} is {_RANGE_TEXT}", "OUT_OF_RANGE") from None
        if ns < _MIN_NS:
            raise make_error(f"{name}: {ts} is {_RANGE_TEXT}", "OUT_OF_RANGE")
        return ns
    if isinstance(value, numbers.Real):
        try:
            return int(_timescan.unix_seconds_to_ns(float(value)))
        except Error as e:
            raise make_error(f"{name}: {e}", getattr(e, "code", "INVALID_ARGUMENT")) from None
    raise make_error(
        f"{name}: expected an RFC 3339 string, a datetime or pandas Timestamp, or unix seconds, "
        f"got {type(value).__name__}")


def timestamp(ns: int) -> pd.Timestamp:
    """Returns unix nanoseconds as a tz-aware UTC Timestamp (NaT for 0)."""
    if ns <= 0:
        return pd.NaT
    return pd.Timestamp(int(ns), unit="ns", tz="UTC")


def utc_index(ns: np.ndarray) -> pd.DatetimeIndex:
    """Returns int64 unix nanoseconds as a tz-aware UTC DatetimeIndex."""
    arr = np.ascontiguousarray(ns, dtype=np.int64).view("datetime64[ns]")
    return pd.DatetimeIndex(arr).tz_localize("UTC")


def as_timedelta(ns: int) -> pd.Timedelta:
    """Returns nanoseconds as a pandas Timedelta."""
    return pd.Timedelta(int(ns), unit="ns")


def to_python_scalar(value: Any) -> Any:
    """Returns numpy scalars as Python ones (for messages and options)."""
    return value.item() if isinstance(value, np.generic) else value
