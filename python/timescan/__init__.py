"""timescan: learn what is normal for every container over time windows and
score how far each new window deviates, with explanations.

pandas in, pandas out:

    >>> import timescan
    >>> events, labels = timescan.sim.generate(load=0.2)
    >>> engine = timescan.Engine(window="1min", learn="24h")
    >>> engine.ingest(events)
    >>> engine.flush()
    >>> engine.findings()[["entity", "window_start", "score", "top_reason"]]
    >>> timescan.plot.baseline(engine, "web-1", "count.request")

The work is done by the C++ library (the private `timescan._timescan`
module) with the GIL released; this package converts inputs and outputs.
Every failure raises `timescan.Error`, a ValueError carrying the library's
message. `timescan.plot` needs matplotlib and is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _timescan, sim
from ._convert import DurationLike, TimeLike
from ._engine import Engine
from ._ingest import FIELDS, KINDS, IngestProgress, IngestReport

if TYPE_CHECKING:
    import pandas as pd

    from . import plot

__version__ = "0.1.0"

#: Raised for every failure; a ValueError with the C++ message and a `code`.
Error = _timescan.Error
Error.__module__ = "timescan"

__all__ = [
    "Engine",
    "Error",
    "IngestProgress",
    "IngestReport",
    "KINDS",
    "FIELDS",
    "DurationLike",
    "TimeLike",
    "parse_duration",
    "parse_time",
    "plot",
    "sim",
    "__version__",
]


def parse_duration(value: DurationLike) -> "pd.Timedelta":
    """Returns a duration ("90s", "1min", "24h", "1h30m", a timedelta or
    seconds) as a pandas Timedelta, parsed as the engine parses it.

    Raises:
      Error: not a duration.
    """
    import pandas as pd

    from ._convert import duration_ns

    return pd.Timedelta(duration_ns(value, "duration"), unit="ns")


def parse_time(value: TimeLike) -> "pd.Timestamp":
    """Returns a time (RFC 3339 string, datetime or Timestamp, naive = UTC,
    or unix seconds) as a tz-aware UTC pandas Timestamp.

    Raises:
      Error: not a time, or outside 1970..2262.
    """
    import pandas as pd

    from ._convert import time_ns

    return pd.Timestamp(time_ns(value, "time"), unit="ns", tz="UTC")


def __getattr__(name: str) -> Any:
    if name == "plot":  # matplotlib is imported only when plots are wanted
        import importlib

        module = importlib.import_module(".plot", __name__)
        globals()["plot"] = module
        return module
    raise AttributeError(f"module 'timescan' has no attribute {name!r}")
