"""Writes reference.txt: data sets and the quantiles the PyPI `ddsketch`
package (DDSketch, relative accuracy 0.01, unbounded dense store) gives for
them. Run once; the output is committed, so tests need no network:

    python3 -m venv /tmp/ddref && /tmp/ddref/bin/pip install ddsketch numpy
    /tmp/ddref/bin/python tests/data/sketch/make_reference.py > tests/data/sketch/reference.txt

Format, one record per line:
    dataset NAME N
    values V1 V2 ... VN          (6 significant digits: read identically everywhere)
    quantile Q REFERENCE_VALUE   (one line per quantile)
"""
import sys

import ddsketch
import numpy as np

QUANTILES = [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0]
N = 1500


def datasets(rng):
    yield "uniform", rng.uniform(0, 1000, N)
    yield "lognormal", rng.lognormal(np.log(35), 0.6, N)
    yield "pareto", (rng.pareto(1.2, N) + 1) * 500
    with_zeros = rng.lognormal(np.log(4000), 0.9, N)
    with_zeros[rng.uniform(size=N) < 0.2] = 0
    yield "lognormal_with_zeros", with_zeros


def main():
    rng = np.random.default_rng(20190801)
    out = sys.stdout
    out.write(f"# ddsketch {ddsketch.__version__}, relative_accuracy 0.01\n")
    for name, values in datasets(rng):
        values = [float(f"{v:.6g}") for v in values]
        sketch = ddsketch.DDSketch(relative_accuracy=0.01)
        for v in values:
            sketch.add(v)
        out.write(f"dataset {name} {len(values)}\n")
        out.write("values " + " ".join(f"{v:.6g}" for v in values) + "\n")
        for q in QUANTILES:
            out.write(f"quantile {q!r} {sketch.get_quantile_value(q)!r}\n")


if __name__ == "__main__":
    main()
