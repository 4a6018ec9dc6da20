"""The Python side of `cargo bench -p stratus-cli --bench models_bench`.

Reads the returns matrices the Rust bench wrote (raw little-endian f64, row-major, with their
shapes on the command line), times the same tasks with scikit-learn, PyPortfolioOpt and skfolio
on one thread, and prints {task: [min_ms, median_ms]} as JSON. Run by the bench, not by hand.
"""

import json
import os
import subprocess
import sys
import time
import warnings

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import cvxpy as cp  # noqa: E402
from pypfopt import EfficientFrontier, HRPOpt  # noqa: E402
from sklearn.covariance import LedoitWolf  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402
from skfolio.optimization import HierarchicalRiskParity, RiskBudgeting  # noqa: E402


def load(path, days, assets):
    return np.fromfile(path, dtype="<f8").reshape(days, assets)


def timed(runs, work, warm=True):
    if warm:
        work()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1e3)
    samples.sort()
    return [samples[0], samples[len(samples) // 2]]


def sample_covariances(spec, suffix=""):
    big = load(spec["big"], *spec["big_shape"])
    mid = load(spec["mid"], *spec["mid_shape"])
    return {
        "sample-cov" + suffix: timed(5, lambda: np.cov(big, rowvar=False)),
        "sample-cov-mid" + suffix: timed(7, lambda: np.cov(mid, rowvar=False)),
        "openblas-kernels" + suffix: threadpool_info()[0].get("architecture", "?"),
    }


def forced_avx512(spec):
    """np.cov again with OpenBLAS told to use its AVX-512 (SkylakeX) kernels, in a child process
    (OpenBLAS reads OPENBLAS_CORETYPE when it loads). OpenBLAS releases that do not know a CPU —
    0.3.31 and AMD's Zen 5, family 26 — fall back to their AVX2 (Haswell) kernels: the default
    timing is what a user gets, this one is OpenBLAS at its best on the same core."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            if " avx512f" not in cpuinfo.read():
                return {}
    except OSError:
        return {}
    child = subprocess.run(
        [sys.executable, __file__, "--sample-covariances", json.dumps(spec)],
        env={**os.environ, "OPENBLAS_CORETYPE": "SkylakeX"},
        capture_output=True,
        text=True,
    )
    return json.loads(child.stdout) if child.returncode == 0 else {}


def main():
    spec = json.loads(sys.argv[-1])
    if sys.argv[1] == "--sample-covariances":
        print(json.dumps(sample_covariances(spec, "-avx512")))
        return
    out = {}
    big = load(spec["big"], *spec["big_shape"])
    mid = load(spec["mid"], *spec["mid_shape"])
    out["ledoit-wolf"] = timed(3, lambda: LedoitWolf().fit(big).covariance_)
    out.update(sample_covariances(spec))
    out.update(forced_avx512(spec))
    frame = pd.DataFrame(big, columns=[f"A{i}" for i in range(big.shape[1])])
    out["hrp-pypfopt"] = timed(1, lambda: HRPOpt(frame).optimize("single"))
    # Over three minutes a run: timed once, without a warm-up.
    out["hrp-skfolio"] = timed(1, lambda: HierarchicalRiskParity().fit(big).weights_, warm=False)
    out["risk-parity-skfolio"] = timed(1, lambda: RiskBudgeting().fit(mid).weights_)
    # Minimum variance, 500 assets, 10 sectors each at most 15 %, turnover ≤ 0.5 from equal weights.
    n = mid.shape[1]
    mu = pd.Series(252 * mid.mean(axis=0), index=range(n))
    S = pd.DataFrame(252 * np.cov(mid, rowvar=False), index=range(n), columns=range(n))
    sectors = {i: f"S{i % 10}" for i in range(n)}
    previous = np.full(n, 1.0 / n)

    def constrained():
        ef = EfficientFrontier(mu, S)
        ef.add_sector_constraints(sectors, {}, {f"S{k}": 0.15 for k in range(10)})
        ef.add_constraint(lambda w: cp.norm(w - previous, 1) <= 0.5)
        return ef.min_volatility()

    out["constrained-pypfopt"] = timed(1, constrained)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
