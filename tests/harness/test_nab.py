"""The NAB scorer on hand-made cases whose scores are worked out by hand below."""
import math

import numpy as np
import pytest

from harness import nab

# The hand-made file: 20 rows, one anomaly window on rows 8..11 (width 4).
# Probation: floor(0.15 * 20) = 3 rows (0, 1, 2) are not scored.
N = 20
WINDOW = (8, 11)


def hand_scores():
    s = np.zeros(N)
    s[1] = 0.99   # in probation: ignored whatever the threshold
    s[5] = 0.2    # before any window: a false positive worth -fp
    s[9] = 0.6    # in the window, 3 rows from its end
    s[15] = 0.8   # 4 rows after the window's end
    return s


# Worked by hand, with s(y) = 2 / (1 + exp(5y)) - 1:
#   s(-1)   = 2 / (1 + e^-5) - 1                       = 0.9866142981514305
#   row 9:  y = -(11 - 9 + 1) / 4 = -0.75
#           s(-0.75) = 2 / (1 + e^-3.75) - 1            = 0.9540452601799487
#           tp score = s(-0.75) / s(-1)                 = 0.9669890878000605
#   row 15: d = (15 - 11) / (4 - 1) = 4/3
#           s(4/3) = 2 / (1 + e^(20/3)) - 1             = -0.9974579674738373
#   row 5:  no window before it: -1
# Thresholds swept (scores of scorable rows, highest first):
#   none    : -1 (the window missed)
#   0.8     : -1 + 0.11 s(4/3)
#   0.6     : 0.9669890878 + 0.11 s(4/3) = 0.8572687113779385   <- best (standard)
#   0.2     : the above - 0.11                                   = 0.7472687...
#   0       : every row: worse (many false positives)
TP_ROW9 = 0.9669890878000605
S_43 = -0.9974579674738373
STANDARD_RAW = TP_ROW9 + 0.11 * S_43          # 0.8572687113779385
LOW_FP_RAW = TP_ROW9 + 0.22 * S_43            # 0.7475483349558163


def corpus_of(*files):
    out = []
    for k, (n, windows) in enumerate(files):
        ts = np.arange(n, dtype=np.int64) * 300 * 10**9
        out.append(nab.NabSeries(name=f"f{k}.csv", timestamps=ts, values=np.zeros(n),
                                 windows=list(windows)))
    return out


def test_scaled_sigmoid_matches_nab_docstring_values():
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert nab.scaled_sigmoid(0.0) == 0.0
    assert nab.scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(3.5) == -1.0


def test_probation_length():
    assert nab.probation_length(20) == 3
    assert nab.probation_length(4032) == 604
    assert nab.probation_length(22695) == 750      # capped at 0.15 * 5000


def test_sweep_rows_weights():
    r = nab.sweep_rows(N, [WINDOW])
    assert list(r.window[:3]) == [-2, -2, -2]
    assert list(r.window[8:12]) == [0, 0, 0, 0]
    assert r.tp_unit[8] == pytest.approx(1.0)          # the window's first row: y = -1
    assert r.tp_unit[9] == pytest.approx(TP_ROW9, abs=1e-12)
    assert r.fp_unit[5] == -1.0
    assert r.fp_unit[15] == pytest.approx(S_43, abs=1e-12)
    assert r.n_windows == 1


def test_hand_case_standard_profile():
    corpus = corpus_of((N, [WINDOW]))
    res = nab.score_detector(corpus, [hand_scores()])
    std = res["standard"]
    assert std.threshold == 0.6
    assert std.raw == pytest.approx(STANDARD_RAW, abs=1e-9)
    assert std.null == -1.0 and std.perfect == pytest.approx(1.0)
    assert std.normalized == pytest.approx(100 * (STANDARD_RAW + 1) / 2, abs=1e-7)  # 92.8634
    assert std.normalized == pytest.approx(92.86343556889692, abs=1e-7)
    assert (std.detected_windows, std.missed_windows, std.false_detections) == (1, 0, 1)


def test_hand_case_other_profiles():
    res = nab.score_detector(corpus_of((N, [WINDOW])), [hand_scores()])
    low_fp = res["reward_low_FP_rate"]
    assert low_fp.threshold == 0.6
    assert low_fp.raw == pytest.approx(LOW_FP_RAW, abs=1e-9)
    assert low_fp.normalized == pytest.approx(87.37741674779082, abs=1e-7)
    low_fn = res["reward_low_FN_rate"]
    assert low_fn.null == -2.0
    assert low_fn.raw == pytest.approx(STANDARD_RAW, abs=1e-9)
    assert low_fn.normalized == pytest.approx(100 * (STANDARD_RAW + 2) / 3, abs=1e-7)  # 95.2423


def test_only_the_earliest_detection_in_a_window_counts():
    s = hand_scores()
    s[10] = 0.6                       # a later detection in the same window adds nothing
    res = nab.score_detector(corpus_of((N, [WINDOW])), [s])
    assert res["standard"].raw == pytest.approx(STANDARD_RAW, abs=1e-9)
    s[8] = 0.6                        # an earlier one replaces it: the full tp weight
    res = nab.score_detector(corpus_of((N, [WINDOW])), [s])
    assert res["standard"].raw == pytest.approx(1.0 + 0.11 * S_43, abs=1e-9)


def test_threshold_is_swept_over_all_files_together():
    other = np.zeros(N)
    other[10] = 0.7                   # a file without windows: a -0.11 false positive at >= 0.7
    res = nab.score_detector(corpus_of((N, [WINDOW]), (N, [])), [hand_scores(), other])
    std = res["standard"]
    assert std.threshold == 0.6
    assert std.raw == pytest.approx(STANDARD_RAW - 0.11, abs=1e-9)
    # The per-file scores at that threshold add up to the swept total.
    rows = [nab.sweep_rows(N, [WINDOW]), nab.sweep_rows(N, [])]
    total = sum(nab.score_at_threshold(s, r, nab.PROFILES["standard"], 0.6)
                for s, r in zip([hand_scores(), other], rows))
    assert total == pytest.approx(std.raw, abs=1e-12)


def test_null_and_perfect_detectors_normalise_to_0_and_100():
    # Files long enough that flagging every row costs more than missing every window.
    corpus = corpus_of((200, [(100, 104)]), (300, [(150, 154), (250, 254)]))
    for name, res in nab.score_detector(corpus, nab.null_scores(corpus)).items():
        assert res.normalized == pytest.approx(0.0), name
        assert res.null == -nab.PROFILES[name]["fn"] * 3
    for name, res in nab.score_detector(corpus, nab.perfect_scores(corpus)).items():
        assert res.normalized == pytest.approx(100.0), name
        assert res.perfect == pytest.approx(3.0)


def test_probationary_detections_are_ignored():
    s = np.zeros(N)
    s[0] = s[2] = 1.0                 # rows 0..2 are probationary
    rows = nab.sweep_rows(N, [WINDOW])
    r = nab.sweep([s], [rows], nab.PROFILES["standard"])
    assert 1.0 not in set(r.thresholds.tolist())
    assert nab.score_at_threshold(s, rows, nab.PROFILES["standard"], 1.0) == -1.0


def test_window_rows_from_timestamps():
    ts = np.arange(10, dtype=np.int64) * 60
    assert nab.window_rows(ts, [(120, 240)]) == [(2, 4)]
    assert nab.window_rows(ts, [(100, 250)]) == [(2, 4)]      # times no row carries


def test_windowed_gaussian_is_nabs_upper_tail():
    x = np.r_[np.tile([1.0, 2.0], 50), 50.0, -50.0]
    s = nab.windowed_gaussian(x)
    assert s[0] == 0.0                      # no history yet
    # Row 2: history [1, 2], mean 1.5, std 0.5, z = (1 - 1.5) / 0.5 = -1 -> Phi(-1).
    assert s[2] == pytest.approx(0.15865525393145707, abs=1e-12)
    assert s[100] > 0.999999                # a spike up
    assert s[101] < 1e-6                    # a drop: NAB's detector only looks up


def test_nab_rounded_keeps_12_significant_digits():
    r = nab.nab_rounded(np.array([0.99999999999995, 0.2049857850251234, 0.0]))
    assert list(r) == [1.0, 0.204985785025, 0.0]


def test_sweep_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        nab.score_detector(corpus_of((N, [WINDOW])), [np.zeros(N - 1)])


def test_suppress_repeats_keeps_only_rises_over_the_memory():
    from harness.nab_runner import suppress_repeats
    s = np.array([0.0, 5.0, 4.0, 5.0, 6.0, 1.0, 0.5, 7.0, 2.0])
    # memory 2: each score against the two before it.
    assert suppress_repeats(s, 2).tolist() == [0.0, 5.0, 0.0, 0.0, 6.0, 0.0, 0.0, 7.0, 0.0]
    # memory 1: against the one before it.
    assert suppress_repeats(s, 1).tolist() == [0.0, 5.0, 0.0, 5.0, 6.0, 0.0, 0.0, 7.0, 0.0]
    # memory 0: unchanged.
    assert suppress_repeats(s, 0).tolist() == s.tolist()


def test_suppress_repeats_never_changes_the_first_detection_at_any_threshold():
    from harness.nab_runner import suppress_repeats
    rng = np.random.default_rng(3)
    s = rng.exponential(size=500)
    out = suppress_repeats(s, 20)
    for t in np.quantile(s, [0.5, 0.9, 0.99]):
        assert np.argmax(s >= t) == np.argmax(out >= t)
