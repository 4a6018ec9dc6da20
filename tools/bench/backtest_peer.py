"""The Python side of `cargo bench -p stratus-cli --bench backtest_bench`.

skfolio's walk-forward for the issue-17 benchmark, on one thread: 20 stocks of the bundled data,
daily simple returns 2007-01-03 .. 2022-12-28 (three years of history before 2010), minimum
variance with a Ledoit-Wolf covariance, rebalanced on the first session of each month from 2010
over a three-year window. Prints JSON: the timings and, for each rebalance date Stratus reported,
the largest weight difference between skfolio's MeanRisk fitted on the same 756 returns and
Stratus's weights.

Conventions that differ (so only the weights are compared, not the returns):
- skfolio's `WalkForward(freq="MS", train_size=36)` trains on the 36 calendar months before the
  test month and trades at the open of it on returns up to the last session before, like Stratus;
  Stratus's lookback is 756 sessions (about 36 months) ending the session before the rebalance;
- skfolio's portfolio holds constant weights through a test period (rebalanced daily in effect),
  Stratus's weights drift with prices between rebalances;
- skfolio charges `transaction_costs` in the optimisation objective; Stratus charges costs on the
  trades it makes (none here, so both run without costs).
"""

import csv
import gzip
import json
import os
import pathlib
import sys
import time
import warnings

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from skfolio.model_selection import WalkForward, cross_val_predict  # noqa: E402
from skfolio.moments import LedoitWolf  # noqa: E402
from skfolio.optimization import MeanRisk, ObjectiveFunction  # noqa: E402
from skfolio.prior import EmpiricalPrior  # noqa: E402
from sklearn.covariance import LedoitWolf as SkLedoitWolf  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def returns(tickers):
    with gzip.open(ROOT / "data" / "sp500_dataset.csv.gz", "rt") as handle:
        rows = list(csv.reader(handle))
    header = rows[0][1:]
    cols = [header.index(t) + 1 for t in tickers]
    body = [r for r in rows[1:] if r[0] <= "2022-12-28"]
    dates = pd.to_datetime([r[0] for r in body])
    prices = pd.DataFrame([[float(r[c]) for c in cols] for r in body], index=dates, columns=tickers)
    return prices.pct_change().iloc[1:]


def model():
    return MeanRisk(objective_function=ObjectiveFunction.MINIMIZE_RISK,
                    prior_estimator=EmpiricalPrior(covariance_estimator=LedoitWolf()))


def main():
    spec = json.loads(sys.argv[1])
    X = returns(spec["tickers"])
    X = X[X.index >= pd.Timestamp("2007-01-03")]
    samples = []
    for _ in range(spec["runs"]):
        start = time.perf_counter()
        cv = WalkForward(test_size=1, train_size=36, freq="MS")
        predicted = cross_val_predict(model(), X, cv=cv)
        samples.append((time.perf_counter() - start) * 1e3)
    samples.sort()
    out = {"walk-forward": [samples[0], samples[len(samples) // 2]],
           "folds": len(predicted.portfolios)}
    # The same windows as Stratus: 756 returns ending the session before each rebalance.
    all_returns = returns(spec["tickers"])
    worst, excess = 0.0, -np.inf
    for date, weights in spec["rebalances"]:
        end = all_returns.index.searchsorted(pd.Timestamp(date))  # rows before the rebalance
        window = all_returns.iloc[end - 756:end]
        fitted = model().fit(window).weights_
        mine = np.array(weights)
        worst = max(worst, float(np.abs(fitted - mine).max()))
        # Which is the better minimum: each portfolio's variance under the same Ledoit-Wolf
        # covariance (scikit-learn's, which skfolio's prior uses).
        S = SkLedoitWolf().fit(window.values).covariance_
        excess = max(excess, float((mine @ S @ mine - fitted @ S @ fitted) / (fitted @ S @ fitted)))
    out["max-weight-difference"] = worst
    out["max-variance-excess"] = excess
    print(json.dumps(out))


if __name__ == "__main__":
    main()
