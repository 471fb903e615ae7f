"""Findings, window scores, baselines and JSONL input of timescan.Engine."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

import pytest

import timescan
from conftest import make_events, write_jsonl

SPIKE = pd.Timestamp("2026-11-02T02:30:00Z")


@pytest.fixture(scope="module")
def scored(spiky_fleet):
    engine = timescan.Engine(window="1min", learn="2h")
    engine.ingest(spiky_fleet)
    engine.flush()
    return engine


def test_spike_after_learning_is_a_finding(scored):
    found = scored.findings()
    spikes = found[(found["entity"] == "c-1") & (found["window_start"] == SPIKE)]
    assert len(spikes) == 1, found
    row = spikes.iloc[0]
    assert row["score"] >= scored.threshold
    assert row["reasons"][0]["feature"] == "count.request"
    assert row["top_reason"].startswith("count.request: ")
    # The stationary rest of the fleet stays (almost) quiet.
    assert len(found) <= 3


def test_no_finding_during_learning():
    engine = timescan.Engine(window="1min", learn="3h")
    engine.ingest(make_events(spike_entity="c-1", spike_at="2026-11-02T02:30:00Z"))
    engine.flush()
    assert engine.findings().empty
    assert engine.window_scores().empty


def test_findings_columns_and_dtypes(scored):
    found = scored.findings()
    assert list(found.columns) == ["entity", "group", "window_start", "window_end", "score",
                                   "p_value", "severity", "top_reason", "reasons"]
    assert pd.api.types.is_string_dtype(found["entity"])
    assert pd.api.types.is_string_dtype(found["group"])
    assert found["window_start"].dtype == "datetime64[ns, UTC]"
    assert found["window_end"].dtype == "datetime64[ns, UTC]"
    assert (found["window_end"] - found["window_start"] == pd.Timedelta("1min")).all()
    assert found["score"].dtype == np.float64 and found["p_value"].dtype == np.float64
    assert list(found["severity"].cat.categories) == ["low", "medium", "high", "critical"]
    assert found["severity"].cat.ordered
    reason = found["reasons"].iloc[0][0]
    assert set(reason) == {"model", "feature", "observed", "expected", "p_value"}
    assert np.allclose(found["score"], -np.log10(found["p_value"]), rtol=1e-6)


def test_empty_findings_keep_columns_and_dtypes():
    found = timescan.Engine().findings()
    assert found.empty
    assert found["window_start"].dtype == "datetime64[ns, UTC]"
    assert found["score"].dtype == np.float64
    assert isinstance(found["severity"].dtype, pd.CategoricalDtype)


def test_window_scores_cover_every_scored_window(scored, spiky_fleet):
    ws = scored.window_scores()
    assert list(ws.columns) == ["entity", "group", "window_start", "window_end", "score",
                                "p_value", "events"]
    assert isinstance(ws["entity"].dtype, pd.CategoricalDtype)
    # Categories in first-seen order.
    assert list(ws["entity"].cat.categories) == list(pd.unique(spiky_fleet["entity"]))
    assert ws["window_start"].dtype == "datetime64[ns, UTC]"
    assert ws["score"].dtype == np.float64 and ws["events"].dtype == np.int64
    assert len(ws) == scored.stats["windows_scored"]
    # 4 entities x the 60 minutes after the 2 h learning period.
    assert len(ws) == 4 * 60
    assert ws["window_start"].min() >= pd.Timestamp("2026-11-02T02:00:00Z")
    # Every event after learning is in exactly one scored window.
    after = spiky_fleet[spiky_fleet["time"] >= pd.Timestamp("2026-11-02T02:00:00.315918273Z")]
    assert ws["events"].sum() == pytest.approx(len(after), abs=100)
    spike = ws[(ws["entity"] == "c-1") & (ws["window_start"] == SPIKE)]
    assert spike["score"].iloc[0] >= scored.threshold
    assert ws["p_value"].between(0, 1).all()


def test_findings_json_is_the_cli_format(scored):
    lines = scored.findings_json()
    assert len(lines) == len(scored.findings())
    first = json.loads(lines[0])
    assert set(first) >= {"entity", "group", "window_start", "window_end", "score", "severity", "reasons"}


def test_clear_forgets_returned_rows(spiky_fleet):
    engine = timescan.Engine(window="1min", learn="2h")
    engine.ingest(spiky_fleet)
    engine.flush()
    assert len(engine.window_scores(clear=True)) > 0
    assert engine.window_scores().empty
    assert len(engine.findings(clear=True)) > 0
    assert engine.findings().empty


def test_recording_can_be_turned_off(spiky_fleet):
    engine = timescan.Engine(window="1min", learn="2h", record_window_scores=False,
                             record_counts=False)
    engine.ingest(spiky_fleet)
    engine.flush()
    assert engine.window_scores().empty
    assert engine.stats["windows_scored"] == 240
    assert engine.stats["count_series"] == 0
    assert len(engine.findings()) >= 1


def test_stats_and_repr(scored):
    s = scored.stats
    assert s["entities_seen"] == 4 and s["groups"] == 1
    assert s["learning_ends"] > pd.Timestamp("2026-11-02T02:00:00Z")
    assert s["watermark"] >= pd.Timestamp("2026-11-02T03:00:00Z")
    assert "timescan.Engine" in repr(scored)


def test_group_of_and_entities(scored, spiky_fleet):
    assert scored.group_of("c-2") == "web"
    assert list(scored.entities()["entity"]) == list(pd.unique(spiky_fleet["entity"]))
    assert set(scored.entities()["group"]) == {"web"}
    with pytest.raises(timescan.Error) as info:
        scored.group_of("nobody")
    assert info.value.code == "NOT_FOUND"


def test_count_baseline_of_an_entity(scored, spiky_fleet):
    b = scored.baseline("c-1", "count.request")
    assert list(b.columns) == ["window_start", "window_end", "observed", "expected", "lower",
                               "upper", "baseline_windows", "score"]
    assert b["window_start"].dtype == "datetime64[ns, UTC]"
    assert b.attrs == {"entity": "c-1", "group": "web", "feature": "count.request"}
    # One row per window from the first to the last event of c-1.
    assert len(b) == 180
    ours = spiky_fleet[(spiky_fleet["entity"] == "c-1") & (spiky_fleet["kind"] == "request")]
    per_window = ours.groupby(ours["time"].dt.floor("1min")).size()
    observed = b.set_index("window_start")["observed"]
    assert (observed.reindex(per_window.index) == per_window).all()
    spike = b[b["window_start"] == SPIKE].iloc[0]
    assert spike["observed"] > spike["upper"]
    assert spike["score"] >= scored.threshold
    quiet = b[b["window_start"] == SPIKE - pd.Timedelta("10min")].iloc[0]
    assert quiet["lower"] <= quiet["expected"] <= quiet["upper"]
    assert quiet["lower"] <= quiet["observed"] <= quiet["upper"] + 10
    # Windows during learning have observations but no score.
    assert b["score"].iloc[:100].isna().all()


def test_count_baseline_window_range_and_group(scored):
    part = scored.baseline("c-1", "count.request", start="2026-11-02T02:00:00Z",
                           end="2026-11-02T02:10:00Z")
    assert len(part) == 10
    group = scored.baseline("web", "count.request")
    assert group.attrs["entity"] is None and group.attrs["group"] == "web"
    assert group["observed"].between(5, 150).all()  # mean per active entity


def test_values_baseline(scored):
    v = scored.baseline("c-0", "request.subject")
    assert list(v.columns) == ["value", "count"]
    assert set(v["value"]) == {"/", "/cart", "/api/items", "/login"}
    assert v["count"].is_monotonic_decreasing
    assert list(scored.baseline("web", "exec.subject")["value"]) == ["/usr/bin/app"]
    assert len(scored.baseline("c-0", "request.subject", limit=2)) == 2


@pytest.mark.parametrize("feature", ["requests", "count.requests", "request.path", "count", 5])
def test_bad_features_are_rejected(scored, feature):
    with pytest.raises(timescan.Error, match="feature"):
        scored.baseline("c-0", feature)


def test_unknown_name_in_baseline(scored):
    with pytest.raises(timescan.Error) as info:
        scored.baseline("nobody", "count.request", start="2026-11-02T02:00:00Z",
                        end="2026-11-02T03:00:00Z")
    assert info.value.code == "NOT_FOUND"


# --- JSONL -------------------------------------------------------------------

@pytest.mark.parametrize("decode_thread", [None, False, True])
def test_ingest_jsonl_matches_dataframe_ingest(tmp_path, spiky_fleet, scored, decode_thread):
    path = tmp_path / "events.jsonl.gz"
    write_jsonl(path, spiky_fleet)
    engine = timescan.Engine(window="1min", learn="2h")
    report = engine.ingest_jsonl(path, decode_thread=decode_thread)
    assert report.format == "native"
    assert report.events == report.rows == len(spiky_fleet) and report.bad_rows == 0
    engine.flush()
    a, b = engine.window_scores(), scored.window_scores()
    pd.testing.assert_frame_equal(a, b)
    assert engine.findings_json() == scored.findings_json()


@pytest.mark.parametrize("decode_thread", [False, True])
def test_ingest_jsonl_counts_bad_lines(tmp_path, fleet, decode_thread):
    path = tmp_path / "events.jsonl"
    write_jsonl(path, fleet.head(50), bad_lines=[(3, "{not json"), (10, '{"time": 5}')])
    engine = timescan.Engine()
    report = engine.ingest_jsonl(str(path), format="native", decode_thread=decode_thread)
    assert report.events == 50 and report.bad_rows == 2
    assert len(report.errors) == 2 and "events.jsonl:4" in report.errors[0]


@pytest.mark.parametrize("decode_thread", [False, True])
def test_ingest_jsonl_strict_raises_at_the_first_bad_line(tmp_path, fleet, decode_thread):
    path = tmp_path / "events.jsonl"
    write_jsonl(path, fleet.head(50), bad_lines=[(3, "{not json")])
    engine = timescan.Engine()
    with pytest.raises(timescan.Error, match="events.jsonl:4"):
        engine.ingest_jsonl(path, strict=True, decode_thread=decode_thread)
    assert engine.stats["events"] == 3  # the events before it stay ingested


def _long_jsonl(path, lines: int) -> None:
    with open(path, "w") as f:
        for i in range(lines):
            f.write(f'{{"time":{1793613600 + i // 100},"entity":"c{i % 50}","kind":"request",'
                    f'"subject":"/r{i % 7}","value":1.5}}\n')


@pytest.mark.parametrize("decode_thread", [False, True])
def test_ingest_jsonl_reports_progress_and_the_callback_may_ask_the_engine(tmp_path,
                                                                          decode_thread):
    path = tmp_path / "long.jsonl"
    _long_jsonl(path, 200_000)
    engine = timescan.Engine(window="1min", learn="10min")
    seen = []

    def progress(p):
        stats = engine.stats  # the engine is not locked meanwhile
        seen.append((p, stats["events"], stats["watermark"]))

    report = engine.ingest_jsonl(path, progress=progress, progress_seconds=1e-9,
                                 decode_thread=decode_thread)
    assert report.events == 200_000
    # A check every 65,536 records, and the interval always passed.
    assert [p.events for p, _, _ in seen] == [65_535, 131_071, 196_607]
    for p, events, watermark in seen:
        assert isinstance(p, timescan.IngestProgress) and p.bad_records == 0
        assert events == p.events and p.watermark == watermark  # all handed over before the call
        assert p.events - 1024 <= p.records <= p.events and p.seconds >= 0
    watermarks = [p.watermark for p, _, _ in seen]
    assert watermarks == sorted(watermarks) and watermarks[0] > pd.Timestamp("2026-11-02", tz="UTC")


def test_ingest_jsonl_progress_printed_and_an_exception_in_the_callback_stops(tmp_path, capsys):
    path = tmp_path / "long.jsonl"
    _long_jsonl(path, 200_000)
    engine = timescan.Engine(window="1min", learn="10min")
    engine.ingest_jsonl(path, progress=True, progress_seconds=1e-9)
    err = capsys.readouterr().err
    assert err.count("\rtimescan: ") == 3 and "196,607 events" in err and err.endswith("\n")
    # Nothing to report on a short file: nothing written.
    _long_jsonl(tmp_path / "short.jsonl", 10)
    timescan.Engine().ingest_jsonl(tmp_path / "short.jsonl", progress=True)
    assert capsys.readouterr().err == ""

    engine = timescan.Engine(window="1min", learn="10min")

    def stop(p):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine.ingest_jsonl(path, progress=stop, progress_seconds=1e-9)
    assert 0 < engine.stats["events"] < 200_000  # what came before stays ingested
    with pytest.raises(timescan.Error, match="progress_seconds"):
        engine.ingest_jsonl(path, progress=True, progress_seconds=0)
    with pytest.raises(timescan.Error, match="progress is"):
        engine.ingest_jsonl(path, progress="yes")


def test_ingest_jsonl_missing_file_and_bad_format(tmp_path):
    engine = timescan.Engine()
    with pytest.raises(timescan.Error) as info:
        engine.ingest_jsonl(tmp_path / "missing.jsonl")
    assert info.value.code == "NOT_FOUND"
    with pytest.raises(timescan.Error, match="format 'xml'"):
        engine.ingest_jsonl(tmp_path / "missing.jsonl", format="xml")


def test_ingest_jsonl_hands_a_streams_events_over_as_they_arrive(tmp_path):
    # A live stream (here a FIFO): the first event reaches the engine, and
    # the progress callback sees it, while the writer still holds the
    # stream open, not when 2,048 events have come or the stream ends.
    import threading

    fifo = tmp_path / "live"
    os.mkfifo(fifo)
    lines = [f'{{"time":{1793613600 + i},"entity":"c1","kind":"exec","subject":"/bin/sh"}}\n'
             for i in range(2)]
    seen = threading.Event()
    seen_while_open = []

    def writer():
        with open(fifo, "w") as f:
            f.write(lines[0])
            f.flush()
            seen_while_open.append(seen.wait(timeout=10))
            f.write(lines[1])

    thread = threading.Thread(target=writer)
    thread.start()
    engine = timescan.Engine()

    def on_progress(p):
        if p.events >= 1:
            seen.set()

    report = engine.ingest_jsonl(fifo, progress=on_progress, progress_seconds=1e-6)
    thread.join()
    assert seen_while_open == [True]
    assert report.events == 2


def _feed_fifo(fifo, text: str, *, hold: float = 0.0):
    """Starts a thread that writes `text` to `fifo`, then keeps it open for
    `hold` seconds (a writer gone quiet) before closing it."""
    import threading
    import time

    data = text.encode()  # here: encoding in the thread would hold the GIL

    def writer():
        try:
            with open(fifo, "wb") as f:
                f.write(data)
                f.flush()
                time.sleep(hold)
        except BrokenPipeError:
            pass  # the reader stopped first

    thread = threading.Thread(target=writer)
    thread.start()
    return thread


def _quiet_fifo(tmp_path):
    """A FIFO whose writer sends one event, then stays quiet for 3 s."""
    fifo = tmp_path / "live"
    os.mkfifo(fifo)
    line = '{"time":1793613600,"entity":"c1","kind":"exec","subject":"/bin/sh"}\n'
    return fifo, _feed_fifo(fifo, line, hold=3.0)


def test_ingest_jsonl_from_a_stream_scores_as_from_the_file(tmp_path, spiky_fleet):
    # A stream is decoded into symbols of its own and translated: the
    # engine must come out as from the same bytes in a file.
    path = tmp_path / "fleet.jsonl"
    long_name = '{"time": 1793577600, "entity": "' + "x" * 2000 + '", "kind": "exec"}'
    write_jsonl(path, spiky_fleet, bad_lines=[(100, '{"time": "soon", "entity": "c-9"}'),
                                              (200, long_name)])
    from_file = timescan.Engine(window="1min", learn="1h")
    file_report = from_file.ingest_jsonl(path)
    fifo = tmp_path / "live"
    os.mkfifo(fifo)
    thread = _feed_fifo(fifo, path.read_text())
    from_stream = timescan.Engine(window="1min", learn="1h")
    stream_report = from_stream.ingest_jsonl(fifo)
    thread.join()
    assert stream_report.events == file_report.events > 0
    assert stream_report.bad_rows == file_report.bad_rows == 1
    assert from_stream.stats["symbols_truncated"] == from_file.stats["symbols_truncated"] == 1
    for engine in (from_file, from_stream):
        engine.flush()
    assert len(from_file.findings()) > 0
    assert from_stream.findings_json() == from_file.findings_json()
    pd.testing.assert_frame_equal(from_stream.window_scores(), from_file.window_scores())
    pd.testing.assert_frame_equal(from_stream.entities(), from_file.entities())


def test_ingest_jsonl_leaves_the_engine_free_while_a_stream_waits(tmp_path):
    # A writer gone quiet: another thread can use the engine meanwhile.
    import threading
    import time

    fifo, thread = _quiet_fifo(tmp_path)
    engine = timescan.Engine()
    reader = threading.Thread(target=engine.ingest_jsonl, args=(fifo,))
    reader.start()
    deadline = time.monotonic() + 2.5
    while engine.stats["events"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)  # stats() takes the engine's lock: it must get it
    assert engine.stats["events"] == 1
    assert time.monotonic() < deadline
    engine.ingest(pd.DataFrame({"time": [pd.Timestamp(1793613601, unit="s", tz="UTC")],
                                "entity": ["c2"], "kind": ["exec"], "subject": ["/bin/ls"]}))
    assert engine.stats["events"] == 2
    thread.join()
    reader.join()
    assert engine.stats["events"] == 2


def test_ctrl_c_stops_ingest_jsonl_waiting_on_a_quiet_stream(tmp_path):
    # SIGINT while the writer is quiet: KeyboardInterrupt at once, not when
    # the writer next writes, and the event read before stays ingested.
    import signal
    import threading
    import time

    fifo, thread = _quiet_fifo(tmp_path)
    engine = timescan.Engine()
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        engine.ingest_jsonl(fifo)
    assert time.monotonic() - started < 2.5
    assert engine.stats["events"] == 1
    thread.join()


def test_ctrl_c_stops_ingest_jsonl_waiting_for_a_fifo_writer(tmp_path):
    # A FIFO nobody writes to yet: opening it waits. SIGINT then raises
    # KeyboardInterrupt, not an error about an interrupted system call.
    import signal
    import threading

    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    engine = timescan.Engine()
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt) as info:
        engine.ingest_jsonl(fifo)
    assert info.value.__context__ is None  # no timescan.Error on the way
    assert engine.stats["events"] == 0


def test_ctrl_c_stops_ingest_jsonl_reading_a_busy_stream(tmp_path):
    # A stream that never pauses (zcat ... |): keep_waiting is never asked,
    # yet Ctrl-C stops the read within 65,536 records.
    import signal
    import threading

    fifo = tmp_path / "busy"
    os.mkfifo(fifo)
    line = '{"time":1793613600,"entity":"c1","kind":"request","subject":"/r"}\n'
    thread = _feed_fifo(fifo, line * 2_000_000)
    engine = timescan.Engine()
    timer = threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        engine.ingest_jsonl(fifo)
    thread.join()
    assert 0 < engine.stats["events"] < 2_000_000


def test_ctrl_c_stops_ingest_jsonl_reading_a_long_file(tmp_path):
    # A notebook replaying a long file: Ctrl-C stops it within 65,536
    # records, not at the end, and what was read stays ingested.
    import signal
    import threading

    path = tmp_path / "long.jsonl"
    line = '{"time":1793613600,"entity":"c1","kind":"request","subject":"/r"}\n'
    path.write_text(line * 2_000_000)
    engine = timescan.Engine()
    timer = threading.Timer(0.05, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        engine.ingest_jsonl(path, decode_thread=False)
    assert 0 < engine.stats["events"] < 2_000_000


def test_ingest_jsonl_directory_is_refused(tmp_path):
    engine = timescan.Engine()
    with pytest.raises(timescan.Error, match="is a directory") as info:
        engine.ingest_jsonl(tmp_path)
    assert info.value.code == "INVALID_ARGUMENT"


@pytest.mark.parametrize("decode_thread", [False, True])
def test_ingest_jsonl_cut_gzip_raises_after_ingesting_what_was_read(tmp_path, decode_thread):
    import gzip

    plain = tmp_path / "events.jsonl"
    _long_jsonl(plain, 2000)
    data = gzip.compress(plain.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[:-8])  # no trailer: every line is there, the end is not
    engine = timescan.Engine()
    with pytest.raises(timescan.Error, match="cut.jsonl.gz: truncated") as info:
        engine.ingest_jsonl(cut, decode_thread=decode_thread)
    assert info.value.code == "DATA_LOSS"
    assert "ingested" in str(info.value)
    assert engine.stats["events"] == 2000


def test_gil_is_released_during_ingest(fleet):
    # Two engines fed from two threads finish with the same results as one
    # after the other (the C++ work runs without the GIL).
    import threading

    engines = [timescan.Engine(window="1min", learn="1h") for _ in range(2)]
    threads = [threading.Thread(target=e.ingest, args=(fleet,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.flush()
    pd.testing.assert_frame_equal(engines[0].window_scores(), engines[1].window_scores())
