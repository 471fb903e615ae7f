"""Detection metrics on tiny hand-made labels, findings and window scores."""
import math

import numpy as np
import pandas as pd
import pytest

from harness import data, metrics

T0 = data.to_ns(["2026-11-03T10:00:00Z"])[0]
MIN = 60 * 10**9


def at(minutes: float) -> int:
    return int(T0 + minutes * MIN)


def labels():
    return data.labels_frame([
        {"type": "crypto_miner", "entity": "a", "group": "g", "start": "2026-11-03T10:00:30Z",
         "end": "2026-11-03T10:05:00Z"},
        {"type": "scan", "entity": "b", "group": "g", "start": "2026-11-03T11:00:00Z",
         "end": "2026-11-03T11:01:00Z"},
    ])


def findings(rows):
    return pd.DataFrame({"entity": [e for e, _ in rows],
                         "window_start": [at(m) for _, m in rows],
                         "window_end": [at(m + 1) for _, m in rows]})


def windows_all(entities=("a", "b", "c"), minutes=120, hot=()):
    rows = []
    for e in entities:
        for m in range(minutes):
            rows.append({"entity": e, "window_start": at(m),
                         "score": 9.0 if (e, m) in hot else 0.1 * (m % 3)})
    return pd.DataFrame(rows)


def test_labels_are_parsed_to_ns():
    lab = labels()
    assert lab.loc[0, "start"] == at(0.5)
    assert lab.loc[1, "end"] - lab.loc[1, "start"] == MIN


def test_recall_ttd_false_findings_precision():
    # a@10:02 covers the miner (TTD 10:02 - 10:00:30 = 90 s); c@10:00 and a@12:00 cover nothing.
    f = findings([("a", 2), ("c", 0), ("a", 120)])
    w = windows_all()
    ev = metrics.evaluate(f, w, labels(), MIN)
    assert ev.findings == 3 and ev.true_findings == 1 and ev.false_findings == 2
    assert ev.recall == 0.5
    a = ev.attacks.set_index("type")
    assert bool(a.loc["crypto_miner", "found"]) and not bool(a.loc["scan", "found"])
    assert a.loc["crypto_miner", "ttd_s"] == 90.0
    assert a.loc["crypto_miner", "alert_latency_s"] == 150.0
    assert ev.median_ttd_s == 90.0
    assert ev.entity_days == pytest.approx(3 * 120 / 1440)     # 360 one-minute windows
    assert ev.false_per_entity_day == pytest.approx(2 / 0.25)
    assert ev.precision == pytest.approx(1 / 3)


def test_ttd_is_clipped_at_zero_when_the_window_holds_the_start():
    ev = metrics.evaluate(findings([("a", 0)]), windows_all(), labels(), MIN)
    assert ev.attacks.loc[0, "ttd_s"] == 0.0


def test_a_finding_on_another_entity_does_not_cover_an_attack():
    ev = metrics.evaluate(findings([("b", 2)]), windows_all(), labels(), MIN)
    assert ev.recall == 0.0 and ev.false_findings == 1


def test_window_boundaries_are_half_open():
    # The scan is [11:00, 11:01]: the window [10:59, 11:00) does not overlap it, [11:00, 11:01) does.
    assert not metrics.evaluate(findings([("b", 59)]), windows_all(), labels(), MIN).attacks.loc[1, "found"]
    assert metrics.evaluate(findings([("b", 60)]), windows_all(), labels(), MIN).attacks.loc[1, "found"]


def test_no_findings():
    ev = metrics.evaluate(findings([]), windows_all(), labels(), MIN)
    assert ev.recall == 0.0 and ev.false_findings == 0
    assert math.isnan(ev.precision)


def test_window_aucs_are_perfect_when_only_attack_windows_score_high():
    # Positive windows: a at minutes 0..4 (overlap [10:00:30, 10:05]), b at minute 60.
    hot = {("a", m) for m in range(5)} | {("b", 60)}
    ev = metrics.evaluate(findings([]), windows_all(hot=hot), labels(), MIN)
    assert ev.roc_auc == 1.0 and ev.pr_auc == 1.0
    ev = metrics.evaluate(findings([]), windows_all(hot={("c", 1)}), labels(), MIN)
    assert ev.roc_auc < 0.6


def test_roc_auc_by_hand():
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    # Pairs (pos, neg) ranked right: (0.35>0.1), (0.8>0.1), (0.8>0.4); wrong: (0.35<0.4) -> 3/4.
    assert metrics.roc_auc(y, s) == 0.75
    assert metrics.roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert math.isnan(metrics.roc_auc([1, 1], [0.1, 0.2]))


def test_average_precision_by_hand():
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    # Ranked: 0.8 (+) P=1 R=.5; 0.4 (-); 0.35 (+) P=2/3 R=1 -> AP = .5*1 + .5*2/3.
    assert metrics.average_precision(y, s) == pytest.approx(0.5 + 0.5 * 2 / 3)
    # Tied scores form one threshold: both at once, P = 1/2 -> AP = 0.5.
    assert metrics.average_precision([1, 0], [0.5, 0.5]) == 0.5


def test_durations():
    assert data.parse_duration("1h30m") == 90 * MIN
    assert data.parse_duration("90s") == int(1.5 * MIN)
    assert data.parse_duration("1min") == MIN
    assert data.format_duration(5 * MIN) == "5m"
    assert data.format_duration(24 * 60 * MIN) == "24h"
    with pytest.raises(ValueError):
        data.parse_duration("5 parsecs")


def test_times_rfc3339_and_unix_seconds():
    assert data.to_ns(["2026-11-03T10:00:00.5Z"])[0] == at(0) + 500_000_000
    assert data.to_ns(["2026-11-03T11:00:00+01:00"])[0] == at(0)
    assert data.to_ns([1.5])[0] == 1_500_000_000


def test_recall_at_false_rate():
    # Attack windows: a@0..4 and b@60. Give a@2 score 5, b@60 score 3, one negative c@1 score 4.
    w = windows_all()
    w.loc[(w.entity == "a") & (w.window_start == at(2)), "score"] = 5.0
    w.loc[(w.entity == "b") & (w.window_start == at(60)), "score"] = 3.0
    w.loc[(w.entity == "c") & (w.window_start == at(1)), "score"] = 4.0
    # No false finding allowed: the threshold is the best negative (4): only a is found.
    recall, thr = metrics.recall_at_false_rate(w, labels(), MIN, 0.0)
    assert (recall, thr) == (0.5, 4.0)
    # One false finding per 0.25 entity-days (360 windows): 4 allowed -> past c@1, b found.
    recall, thr = metrics.recall_at_false_rate(w, labels(), MIN, 4.0)
    assert recall == 1.0 and thr < 3.0
