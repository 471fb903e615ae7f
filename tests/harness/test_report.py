"""The report writer on hand-made results: it writes the markdown and every plot."""
import numpy as np
import pandas as pd

from harness import metrics, nab, report, simsuite


def fake_scenario_result():
    labels = pd.DataFrame({"type": ["crypto_miner", "scan"], "entity": ["a", "b"],
                           "group": ["g", "g"], "start": [0, 3600 * 10**9],
                           "end": [600 * 10**9, 3660 * 10**9]})
    windows = pd.DataFrame({"entity": ["a"] * 10 + ["b"] * 10,
                            "window_start": list(np.arange(10) * 60 * 10**9) * 2,
                            "score": np.linspace(0, 9, 20)})
    res = simsuite.ScenarioResult(simsuite.Scenario("tiny"), events=1000, labels=labels)
    for name, rows, eps in (("timescan", [("a", 0)], 1e6), ("peer", [("a", 5), ("c", 1)], 1e4),
                            ("HalfSpaceTrees (river)", [("a", 5)], 1e4),
                            ("HalfSpaceTrees (river, streaming)", [("a", 5)], 2e3)):
        f = pd.DataFrame({"entity": [e for e, _ in rows],
                          "window_start": [m * 60 * 10**9 for _, m in rows],
                          "window_end": [(m + 1) * 60 * 10**9 for _, m in rows]})
        ev = metrics.evaluate(f, windows, labels, 60 * 10**9)
        res.detectors.append(simsuite.DetectorRun(name, ev, eps, eps * 2, 1000 / eps,
                                                  1000 / eps / 2, notes="n",
                                                  timing=f"measured {name}"))
    return res


def test_report_writes_markdown_and_plots(tmp_path):
    ts = np.arange(200, dtype=np.int64) * 300 * 10**9
    corpus = [nab.NabSeries("x/a.csv", ts, np.sin(np.arange(200.0)), [(100, 109)])]
    scores = {"timescan": [np.zeros(200)], "null": nab.null_scores(corpus)}
    nab_result = {"corpus": corpus, "files": 1, "rows": 200, "windows": 1,
                  "results": {k: nab.score_detector(corpus, v) for k, v in scores.items()},
                  "scores": scores,
                  "timescan_per_file": pd.DataFrame({"file": ["x/a.csv"], "raw_standard": [-1.0]})}
    sweep = pd.DataFrame({"window": ["1m", "1m"], "learn": ["4h", "4h"],
                          "threshold": ["default", "3"], "threshold_used": [4.16, 3.0],
                          "found": [2, 2], "attacks": [2, 2], "recall": [1.0, 1.0],
                          "median_ttd_s": [0.0, 0.0], "findings": [3, 9],
                          "false_per_entity_day": [0.0, 1.5], "precision": [1.0, 0.3],
                          "roc_auc": [0.9, 0.9], "pr_auc": [0.5, 0.5], "seconds": [1.0, 1.0]})
    res = fake_scenario_result()
    path = report.write(tmp_path, mode="test", command="pytest", timescan="timescan",
                        nab_result=nab_result, sim_results=[res], sweep_df=sweep,
                        sweep_scenario=res.scenario)
    text = path.read_text()
    assert "## NAB" in text and "## Simulator suite" in text and "## Tuning sweep" in text
    assert "| peer | 1/2 |" in text                       # pooled: found/attacks
    assert "100×" in text                                # throughput ratio timescan/peer
    assert "| HalfSpaceTrees (river, streaming) | measured HalfSpaceTrees (river, streaming) |" in text
    for png in ("nab_scores.png", "nab_example.png", "sim_accuracy.png",
                "sim_throughput.png", "sweep.png"):
        assert (tmp_path / png).stat().st_size > 1000, png


def test_pooled_table_adds_up_scenarios():
    a, b = fake_scenario_result(), fake_scenario_result()
    pooled = report.pooled_table([a, b])
    peer = pooled.set_index("detector").loc["peer"]
    assert peer["found"] == "2/4"
    assert peer["timescan_x"] == 100.0


def test_throughput_goals_compare_like_with_like_for_every_river_peer():
    res = fake_scenario_result()
    pooled = report.pooled_table([res])
    lines = {g: (m, st) for g, m, st in report.goals(pooled, [res])}
    # timescan: 1e6/s end to end, 2e6/s engine; window-vector river 1e4 and 2e4: 100x both.
    m, st = lines["throughput ≥ 100× HalfSpaceTrees (river)'s"]
    assert st == "met" and "end to end 100×" in m and "model only 100×" in m
    assert "timescan CLI vs the peer's model 50×" in m
    m, st = lines["throughput ≥ 100× HalfSpaceTrees (river, streaming)'s"]
    assert st == "met" and "end to end 500×" in m
    row = pooled.set_index("detector").loc["HalfSpaceTrees (river)"]
    assert row["timescan_x_model"] == 100.0 and row["timescan_x_cli_model"] == 50.0
