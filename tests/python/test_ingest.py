"""ingest(): every input shape gives the same events; bad rows are named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import timescan
from conftest import START, make_events, write_jsonl


def scores_of(data, **ingest_kwargs) -> pd.DataFrame:
    engine = timescan.Engine(window="1min", learn="1h")
    engine.ingest(data, **ingest_kwargs)
    engine.flush()
    ws = engine.window_scores()
    ws["entity"] = ws["entity"].astype(str)
    ws["group"] = ws["group"].astype(str)
    return ws


def test_dataframe_list_of_dicts_and_arrays_give_identical_window_scores(fleet):
    from_frame = scores_of(fleet)
    assert len(from_frame) > 0

    records = fleet.astype({"status": object}).to_dict("records")
    for r in records:  # as a JSON-ish producer would: absent means missing
        if r["status"] is pd.NA:
            del r["status"]
        if r["value"] != r["value"]:
            del r["value"]
        r["time"] = r["time"].isoformat()
    from_records = scores_of(records)

    arrays = {
        "time": fleet["time"].to_numpy(dtype="datetime64[ns]"),
        "entity": fleet["entity"].to_numpy(dtype=object),
        "group": fleet["group"].to_numpy(dtype=object),
        "kind": fleet["kind"].to_numpy(dtype=object),
        "subject": fleet["subject"].to_numpy(dtype=object),
        "actor": fleet["actor"].to_numpy(dtype=object),
        "value": fleet["value"].to_numpy(dtype=np.float64),
        "status": fleet["status"].to_numpy(dtype=np.float64, na_value=np.nan),
    }
    from_arrays = scores_of(arrays)

    categorical = fleet.astype({c: "category" for c in ("entity", "group", "kind", "subject", "actor")})
    from_categorical = scores_of(categorical)

    unix_seconds = fleet.assign(time=fleet["time"].astype("int64") / 1e9)
    from_seconds = scores_of(unix_seconds)

    pd.testing.assert_frame_equal(from_frame, from_records)
    pd.testing.assert_frame_equal(from_frame, from_arrays)
    pd.testing.assert_frame_equal(from_frame, from_categorical)
    # Float seconds lose sub-microsecond precision but not window membership.
    pd.testing.assert_frame_equal(from_frame, from_seconds)


def test_report_counts_rows_and_events(fleet):
    engine = timescan.Engine(window="1min", learn="1h")
    report = engine.ingest(fleet)
    assert isinstance(report, timescan.IngestReport)
    assert report.rows == len(fleet) == report.events
    assert report.bad_rows == 0 and report.errors == ()
    assert engine.stats["events"] == len(fleet)


def test_only_required_columns():
    engine = timescan.Engine(window="1min", learn="0s")
    report = engine.ingest({"time": ["2026-11-02T00:00:01Z", "2026-11-02T00:00:02Z"],
                            "entity": ["a", "b"], "kind": ["exec", "exec"]})
    assert report.events == 2
    assert engine.stats["entities_seen"] == 2


def test_extra_columns_are_ignored_and_columns_can_be_renamed(fleet):
    renamed = fleet.rename(columns={"entity": "container_id", "time": "ts"}).assign(note="x")
    expected = scores_of(fleet)
    got = scores_of(renamed, columns={"entity": "container_id", "time": "ts"})
    pd.testing.assert_frame_equal(expected, got)


def test_datetime_index_serves_as_time(fleet):
    indexed = fleet.set_index("time")
    pd.testing.assert_frame_equal(scores_of(fleet), scores_of(indexed))


def test_sort_orders_by_time(fleet):
    shuffled = fleet.sample(frac=1.0, random_state=3)
    engine = timescan.Engine(window="1min", learn="1h")
    report = engine.ingest(shuffled, sort=True)
    assert report.late_events == 0
    engine.flush()
    ws = engine.window_scores()
    ws["entity"] = ws["entity"].astype(str)
    ws["group"] = ws["group"].astype(str)
    pd.testing.assert_frame_equal(ws, scores_of(fleet))


def test_sorted_ingest_goes_in_chunks_that_ctrl_c_stops_between(fleet, monkeypatch):
    # A sorted input is converted in one piece but ingested a chunk at a
    # time: the same scores, and Ctrl-C is seen between chunks rather than
    # after the whole input.
    from timescan import _ingest
    monkeypatch.setattr(_ingest, "CHUNK_ROWS", 1000)
    shuffled = fleet.sample(frac=1.0, random_state=3)
    assert len(shuffled) > 3000
    engine = timescan.Engine(window="1min", learn="1h")
    engine.ingest(shuffled, sort=True)
    engine.flush()
    ws = engine.window_scores()
    ws["entity"] = ws["entity"].astype(str)
    ws["group"] = ws["group"].astype(str)
    pd.testing.assert_frame_equal(ws, scores_of(fleet))

    engine = timescan.Engine(window="1min", learn="1h")
    core = engine._core
    chunks = []

    class InterruptedDuringSecondChunk:
        def __getattr__(self, name):
            return getattr(core, name)

        def ingest_arrays(self, *args, **kwargs):
            chunks.append(len(args[0]))
            core.ingest_arrays(*args, **kwargs)
            if len(chunks) == 2:
                raise KeyboardInterrupt

    engine._core = InterruptedDuringSecondChunk()
    with pytest.raises(KeyboardInterrupt):
        engine.ingest(shuffled, sort=True)
    engine._core = core
    assert chunks == [1000, 1000]
    assert engine.stats["events"] == 2000  # what came before stays ingested


def test_unsorted_input_counts_late_events(fleet):
    shuffled = fleet.sample(frac=1.0, random_state=3)
    engine = timescan.Engine(window="1min", learn="1h")
    report = engine.ingest(shuffled)
    assert report.late_events > 0
    assert engine.stats["late_events"] == report.late_events


def test_missing_value_and_status_are_absent_not_zero():
    # Both forms must give the same engine: NaN/<NA> mean "absent".
    base = {"time": ["2026-11-02T00:00:01Z"] * 3, "entity": ["a"] * 3, "kind": ["request"] * 3}
    engine = timescan.Engine(window="1min", learn="0s")
    report = engine.ingest({**base, "value": [1.5, np.nan, None],
                            "status": pd.array([200, None, 404], dtype="Int64")})
    assert report.events == 3


def test_non_string_values_are_converted_with_str():
    engine = timescan.Engine(window="1min", learn="0s")
    engine.ingest({"time": [1_793_577_600.0], "entity": [1234], "kind": ["exec"], "subject": [7]})
    assert list(engine.entities()["entity"]) == ["1234"]


def test_empty_input_is_a_no_op():
    engine = timescan.Engine()
    assert engine.ingest([]).events == 0
    assert engine.ingest(pd.DataFrame()).events == 0
    assert engine.ingest(pd.DataFrame(columns=["time", "entity", "kind"])).events == 0


# --- bad rows ---------------------------------------------------------------

def bad_frame(**overrides) -> pd.DataFrame:
    df = pd.DataFrame({
        "time": pd.date_range("2026-11-02", periods=5, freq="s", tz="UTC"),
        "entity": ["a", "b", "c", "d", "e"],
        "kind": ["exec", "connect", "request", "api", "file"],
        "value": [1.0, 2.0, 3.0, 4.0, 5.0],
        "status": [0, 1, 2, 3, 4],
    })
    for column, (row, value) in overrides.items():
        df[column] = df[column].astype(object)
        df.loc[row, column] = value
    return df


@pytest.mark.parametrize("column,row,value,text", [
    ("kind", 3, "exce", "expected one of exec, exit, connect, accept, request, api, file, syscall, metric; got 'exce'"),
    ("kind", 1, None, "missing"),
    ("entity", 2, None, "missing or empty"),
    ("entity", 4, "", "missing or empty"),
    ("time", 1, pd.NaT, "missing"),
    ("time", 2, "yesterday", "expected an RFC 3339 time"),
    ("time", 3, pd.Timestamp("1969-12-31T23:59:59Z"), "outside 1970"),
    ("value", 0, "fast", "expected a number, got 'fast'"),
    ("value", 4, np.inf, "expected a finite number"),
    ("status", 2, 2.5, "expected an integer"),
    ("status", 3, 2**40, "32-bit range"),
    ("status", 1, "ok", "expected an integer, got 'ok'"),
])
def test_bad_row_raises_error_with_row_and_column(column, row, value, text):
    engine = timescan.Engine()
    with pytest.raises(timescan.Error) as info:
        engine.ingest(bad_frame(**{column: (row, value)}))
    message = str(info.value)
    assert message.startswith(f"row {row}, column '{column}': "), message
    assert text in message
    assert isinstance(info.value, ValueError)
    assert info.value.code == "INVALID_ARGUMENT"
    assert engine.stats["events"] == 0  # nothing of a bad batch is ingested


def test_time_after_2262_is_out_of_range():
    engine = timescan.Engine()
    df = bad_frame()
    df["time"] = df["time"].dt.as_unit("s")
    df.loc[2, "time"] = pd.Timestamp("2300-01-01", tz="UTC").as_unit("s")
    with pytest.raises(timescan.Error, match=r"row 2, column 'time': .*outside 1970"):
        engine.ingest(df)


def test_first_bad_row_is_reported_and_the_total_counted():
    df = bad_frame(kind=(3, "nope"), entity=(1, None))
    with pytest.raises(timescan.Error, match=r"^row 1, column 'entity'.*\(2 bad rows in all"):
        timescan.Engine().ingest(df)


def test_index_label_is_named_for_a_non_default_index():
    df = bad_frame(kind=(2, "nope")).set_axis(["v", "w", "x", "y", "z"])
    with pytest.raises(timescan.Error, match=r"row 2 \(index 'x'\), column 'kind'"):
        timescan.Engine().ingest(df)


def test_errors_count_skips_and_counts_bad_rows():
    engine = timescan.Engine()
    report = engine.ingest(bad_frame(kind=(3, "nope"), entity=(1, None)), errors="count")
    assert report.rows == 5 and report.events == 3 and report.bad_rows == 2
    assert report.errors[0].startswith("row 1, column 'entity'")
    assert report.errors[1].startswith("row 3, column 'kind'")
    assert engine.stats["events"] == 3


def test_missing_required_column_is_named():
    with pytest.raises(timescan.Error, match="column 'kind' is missing"):
        timescan.Engine().ingest({"time": [1.0e9], "entity": ["a"]})


def test_columns_of_different_lengths_are_rejected():
    with pytest.raises(timescan.Error, match="column 'entity' has 1 rows; expected 2"):
        timescan.Engine().ingest({"time": [1.0e9, 1.0e9], "entity": ["a"], "kind": ["exec", "exec"]})


def test_unsupported_inputs_are_rejected():
    engine = timescan.Engine()
    with pytest.raises(timescan.Error, match="ingest_jsonl"):
        engine.ingest("events.jsonl")
    with pytest.raises(timescan.Error, match="item 1"):
        engine.ingest([{"time": 1e9, "entity": "a", "kind": "exec"}, 5])
    with pytest.raises(timescan.Error, match="errors="):
        engine.ingest([], errors="ignore")
    with pytest.raises(timescan.Error, match="not an event field"):
        engine.ingest([], columns={"container": "x"})


def test_big_frame_goes_through_in_one_call():
    n = 200_000
    rng = np.random.default_rng(1)
    df = pd.DataFrame({
        "time": START + pd.to_timedelta(np.sort(rng.integers(0, 3_600_000_000_000, n)), unit="ns"),
        "entity": pd.Categorical.from_codes(rng.integers(0, 50, n), [f"c{i}" for i in range(50)]),
        "kind": "connect",
        "subject": rng.choice(["10.0.0.1:443", "10.0.0.2:5432"], n),
        "value": rng.gamma(2.0, 100.0, n),
    })
    engine = timescan.Engine(window="1min", learn="30min")
    assert engine.ingest(df).events == n
    assert engine.stats["events"] == n


def test_object_columns_match_by_value_not_identity():
    # Every row its own str object (as a CSV reader makes them) interns to the
    # same symbols as a categorical column of the same values.
    n = 3000
    times = pd.date_range("2026-11-02", periods=n, freq="100ms", tz="UTC")
    distinct = pd.DataFrame({
        "time": times,
        "entity": np.array(["".join(["c-", str(i % 3)]) for i in range(n)], dtype=object),
        "kind": np.array(["".join(["ex", "ec"]) for _ in range(n)], dtype=object),
        "subject": np.array([f"/bin/{'ab'[i % 2]}" for i in range(n)], dtype=object),
    })
    categorical = distinct.astype({"entity": "category", "kind": "category", "subject": "category"})
    pd.testing.assert_frame_equal(scores_of(distinct), scores_of(categorical))
    engine = timescan.Engine()
    engine.ingest(distinct)
    assert sorted(engine.entities()["entity"]) == ["c-0", "c-1", "c-2"]


def test_missing_markers_in_object_columns_are_missing():
    engine = timescan.Engine(window="1min", learn="0s")
    df = pd.DataFrame({
        "time": pd.date_range("2026-11-02", periods=4, freq="s", tz="UTC"),
        "entity": ["a", "a", "a", "a"],
        "group": np.array([None, np.nan, pd.NA, ""], dtype=object),
        "kind": ["exec"] * 4,
        "subject": np.array([None, pd.NaT, "x", float("nan")], dtype=object),
    })
    assert engine.ingest(df).events == 4
    assert engine.group_of("a") == ""  # no group: all four are "absent"


def test_unusual_strings_are_kept():
    engine = timescan.Engine(window="1min", learn="0s")
    names = ["é-container", "\udcff-lone-surrogate", "x" * 5000, b"bytes-entity"]
    engine.ingest({"time": [1.8e9] * 4, "entity": np.array(names, dtype=object),
                   "kind": ["exec"] * 4})
    got = list(engine.entities()["entity"])
    assert got[0] == "é-container"
    assert got[1].endswith("-lone-surrogate")  # escaped, then shown with U+FFFD
    assert len(got[2]) == 1024  # cut to kMaxSymbolBytes
    assert got[3] == "bytes-entity"
    assert engine.stats["symbols_truncated"] == 1


def test_unknown_kind_in_object_and_categorical_columns():
    base = {"time": [1.8e9, 1.8e9], "entity": ["a", "b"]}
    for kinds in (np.array(["exec", "Exec"], dtype=object),
                  pd.Categorical(["exec", "Exec"]), pd.array(["exec", "Exec"], dtype="string")):
        with pytest.raises(timescan.Error, match="row 1, column 'kind': .*got 'Exec'"):
            timescan.Engine().ingest({**base, "kind": kinds})


@pytest.fixture
def small_chunks(monkeypatch):
    from timescan import _ingest

    monkeypatch.setattr(_ingest, "CHUNK_ROWS", 1000)


def test_chunked_ingest_gives_the_same_scores(fleet, small_chunks):
    assert len(fleet) > 10 * 1000
    chunked = scores_of(fleet)
    categorical = scores_of(fleet.astype({"entity": "category", "subject": "category"}))
    pd.testing.assert_frame_equal(chunked, categorical)


def test_chunked_ingest_is_all_or_nothing(fleet, small_chunks):
    bad = fleet.copy()
    bad["kind"] = bad["kind"].astype(object)
    bad.loc[len(bad) - 5, "kind"] = "nope"  # in the last chunk
    engine = timescan.Engine(window="1min", learn="1h")
    with pytest.raises(timescan.Error, match=rf"^row {len(bad) - 5}, column 'kind'"):
        engine.ingest(bad)
    assert engine.stats["events"] == 0
    report = engine.ingest(bad, errors="count")
    assert report.bad_rows == 1 and report.events == len(bad) - 1
    assert report.errors == (f"row {len(bad) - 5}, column 'kind': expected one of exec, exit, "
                             "connect, accept, request, api, file, syscall, metric; got 'nope'",)


def test_chunked_ingest_reports_rows_of_the_whole_input(small_chunks):
    n = 2500
    df = pd.DataFrame({"time": pd.date_range("2026-11-02", periods=n, freq="s", tz="UTC"),
                       "entity": "a", "kind": "exec"}).set_axis(np.arange(n) * 10)
    df.loc[1500 * 10, "entity"] = ""
    df.loc[2100 * 10, "entity"] = None
    with pytest.raises(timescan.Error, match=r"^row 1500 \(index 15000\), column 'entity'.*2 bad rows"):
        timescan.Engine().ingest(df)
    report = timescan.Engine().ingest(df, errors="count")
    assert [m.split(",")[0] for m in report.errors] == ["row 1500 (index 15000)", "row 2100 (index 21000)"]


@pytest.mark.parametrize("chunk_rows", [None, 1000])
def test_object_str_categorical_and_jsonl_give_identical_findings(tmp_path, spiky_fleet,
                                                                  monkeypatch, chunk_rows):
    # The same events as Python-object, pandas "str" and categorical string
    # columns, in one chunk and in many, and as JSONL read by the C++
    # decoder: the same window scores and, byte for byte, the same findings.
    from timescan import _ingest

    if chunk_rows is not None:
        monkeypatch.setattr(_ingest, "CHUNK_ROWS", chunk_rows)
        assert len(spiky_fleet) > 10 * chunk_rows
    strings = ("entity", "group", "kind", "subject", "actor")

    def run(ingest):
        engine = timescan.Engine(window="1min", learn="2h")
        ingest(engine)
        engine.flush()
        return engine.window_scores(), engine.findings_json()

    as_object = spiky_fleet.astype({c: object for c in strings})
    as_str = spiky_fleet.astype({c: "str" for c in strings})
    as_category = spiky_fleet.astype({c: "category" for c in strings})
    # Distinct str objects for equal values (as a CSV reader makes them).
    as_copies = as_object.assign(**{c: np.array([("" + s + ".")[:-1] for s in as_object[c]],
                                                dtype=object) for c in strings})
    path = tmp_path / "events.jsonl"
    write_jsonl(path, spiky_fleet)

    scores, findings = run(lambda e: e.ingest(as_object))
    assert len(findings) >= 1
    # Strings met in the same order intern to the same symbols: even the
    # categories of window_scores' entity and group (symbol order) agree.
    for ingest in (lambda e: e.ingest(as_str), lambda e: e.ingest(as_copies),
                   lambda e: e.ingest_jsonl(path)):
        other_scores, other_findings = run(ingest)
        pd.testing.assert_frame_equal(scores, other_scores)
        assert other_findings == findings
    # Categories are interned in category order: the same names, by value.
    other_scores, other_findings = run(lambda e: e.ingest(as_category))
    pd.testing.assert_frame_equal(scores.astype({"entity": str, "group": str}),
                                  other_scores.astype({"entity": str, "group": str}))
    assert other_findings == findings


@pytest.mark.parametrize("dtype", ["Int64", "Int32", "Int16", "UInt8", "UInt32", "UInt64"])
def test_nullable_integer_statuses_match_float_statuses(fleet, dtype):
    statuses = fleet["status"].to_numpy(dtype=np.float64, na_value=np.nan)
    as_float = scores_of(fleet.assign(status=statuses))
    pd.testing.assert_frame_equal(as_float, scores_of(fleet.assign(status=fleet["status"].astype(dtype))))


def test_nullable_integer_status_reads_only_present_values():
    # A masked slot may hold any value; only present ones are checked.
    values = np.array([200, 2**40, 404, -(2**40)], dtype=np.int64)
    status = pd.arrays.IntegerArray(values, np.array([False, True, False, True]))
    base = {"time": [1.8e9] * 4, "entity": ["a"] * 4, "kind": ["request"] * 4}
    assert timescan.Engine().ingest({**base, "status": status}).events == 4
    status = pd.arrays.IntegerArray(values, np.array([False, False, False, True]))
    with pytest.raises(timescan.Error,
                       match=r"^row 1, column 'status': expected an integer in the 32-bit range, "
                             r"got .*1099511627776\.0"):
        timescan.Engine().ingest({**base, "status": status})


def test_object_memo_is_bounded_and_belongs_to_one_engine():
    from timescan import _timescan

    n = (1 << 18) + 1000
    objects = np.array([f"s{i}" for i in range(n)], dtype=object)
    engine = timescan.Engine()
    memo = _timescan.ObjectSymbols()
    repeated = np.repeat(objects, 3)  # each object in three rows
    first = engine._core.intern_column(repeated, memo)
    assert len(memo) == 1 << 18  # the rest are interned without being remembered
    np.testing.assert_array_equal(first[::3], first[0] + np.arange(n, dtype=np.uint32))  # row order
    np.testing.assert_array_equal(first[1::3], first[::3])
    np.testing.assert_array_equal(engine._core.intern_column(objects[::-1].copy(), memo), first[::-3])
    with pytest.raises(timescan.Error, match="another engine"):
        timescan.Engine()._core.intern_column(objects[:10], memo)

    # One object per row: the memo stops growing once it does not pay.
    memo = _timescan.ObjectSymbols()
    copies = np.array([("" + s + ".")[:-1] for s in repeated[:300_000]], dtype=object)
    np.testing.assert_array_equal(engine._core.intern_column(copies, memo), first[:300_000])
    assert len(memo) < 20_000
