"""Reference walk-forward backtests (issue 17), written from the stated conventions in numpy alone.

Nothing here imports Stratus or a portfolio library. On the bundled data (the 20 stocks, daily
closes, 2012-01-03 .. 2022-12-28) it runs minimum variance (long only, sample covariance), equal
weight and risk parity (equal risk contributions, sample covariance), each rebalanced monthly from
the 756 daily simple returns ending the session before, with 10 bp proportional costs and weights
drifting between rebalances:

- equity starts at 1 in cash; the first allocation is at the close of the first session;
- `monthly` = the close of the first session of each later month;
- between rebalances each holding grows by its daily simple return;
- at a rebalance, cost = 0.001 x sum|w_target - w_drifted| x equity, paid from equity at that close
  (the first allocation trades from cash: its turnover is sum|w| = 1);
- the daily return of session k is equity_k / equity_{k-1} - 1 (so it includes that close's cost).

Minimum variance is solved exactly: an active-set loop on the KKT conditions (solve on the free
set, drop the most negative weight, add the asset whose marginal variance is below the budget
multiplier) ends with a support on which the closed form holds to machine precision, verified.
Risk parity is Spinu's convex problem min 1/2 x'Sx - sum(b log x) by Newton's method to 1e-15.

Re-run with `python3 tools/reference/make_backtest_reference.py` (numpy 2.4.6) and commit
crates/core/tests/fixtures/backtest.json; with --check it recomputes and compares (1e-12).
"""

import csv
import gzip
import json
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "crates" / "core" / "tests" / "fixtures" / "backtest.json"
TICKERS = ["AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO",
           "LLY", "MRK", "MSFT", "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM"]
START, END, LOOKBACK, COST_BPS = "2012-01-03", "2022-12-28", 756, 10.0


def load():
    with gzip.open(ROOT / "data" / "sp500_dataset.csv.gz", "rt") as handle:
        rows = list(csv.reader(handle))
    header = rows[0][1:]
    cols = [header.index(t) + 1 for t in TICKERS]
    body = [r for r in rows[1:] if r[0] <= END]
    return [r[0] for r in body], np.array([[float(r[c]) for c in cols] for r in body])


def min_variance(S):
    n = len(S)
    free = list(range(n))
    for _ in range(10 * n):
        Sf = S[np.ix_(free, free)]
        x = np.linalg.solve(Sf, np.ones(len(free)))
        wf = x / x.sum()
        if (wf < 0).any():
            free.pop(int(np.argmin(wf)))
            continue
        w = np.zeros(n)
        w[free] = wf
        g = S @ w
        lam = w @ g
        out = [i for i in range(n) if i not in free and g[i] < lam * (1 - 1e-12)]
        if not out:
            return w
        worst = min(out, key=lambda i: g[i] - lam)
        free.append(worst)
        free.sort()
    raise RuntimeError("active set did not settle")


def risk_parity(S):
    n = len(S)
    b = np.full(n, 1.0 / n)
    x = 1.0 / np.sqrt(np.diag(S))
    x /= np.sqrt(x @ S @ x)
    for _ in range(100):
        grad = S @ x - b / x
        hess = S + np.diag(b / x**2)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while (x - t * step <= 0).any():
            t /= 2
        x = x - t * step
        if np.abs(grad).max() < 1e-15:
            break
    return x / x.sum()


def equal_weight(S):
    return np.full(len(S), 1.0 / len(S))


def walk_forward(dates, prices, choose):
    first = next(k for k, d in enumerate(dates) if d >= START)
    assert first >= LOOKBACK + 1
    returns = prices[1:] / prices[:-1] - 1.0  # returns[k - 1] ends on session k
    weights = np.zeros(prices.shape[1])
    equity = 1.0
    path, rebalances = [], []
    for k in range(first, len(dates)):
        if k > first:
            r = returns[k - 1]
            grown = weights @ (1 + r) + (1 - weights.sum())
            weights = weights * (1 + r) / grown
            equity *= grown
        if k == first or dates[k][:7] != dates[k - 1][:7]:
            window = returns[k - 1 - LOOKBACK:k - 1]  # ends on session k - 1
            S = 252.0 * np.cov(window, rowvar=False, ddof=1)
            target = choose(S)
            turnover = np.abs(target - weights).sum()
            cost = COST_BPS / 10_000 * turnover * equity
            equity -= cost
            weights = target.copy()
            rebalances.append({"date": dates[k], "weights": target.tolist(),
                               "turnover": float(turnover), "cost": float(cost)})
        path.append(equity)
    path = np.array(path)
    return {"returns": (path[1:] / path[:-1] - 1.0).tolist(), "final_equity": float(path[-1]),
            "first_date": dates[first], "rebalances": rebalances}


def main():
    dates, prices = load()
    result = {
        "config": {"tickers": TICKERS, "start": START, "end": END, "lookback": LOOKBACK,
                   "rebalance": "monthly", "cost_bps": COST_BPS, "numpy": np.__version__},
        "strategies": {
            "min-variance": walk_forward(dates, prices, min_variance),
            "equal-weight": walk_forward(dates, prices, equal_weight),
            "risk-parity": walk_forward(dates, prices, risk_parity),
        },
    }
    if "--check" in sys.argv:
        committed = json.loads(OUT.read_text())
        problems = []
        for name, run in result["strategies"].items():
            want = np.array(committed["strategies"][name]["returns"])
            got = np.array(run["returns"])
            if want.shape != got.shape or np.abs(want - got).max() > 1e-12:
                problems.append(name)
        if problems:
            print("backtest fixture differs from its recipe:", problems)
            sys.exit(1)
        print("backtest fixture reproduced")
        return
    OUT.write_text(json.dumps(result) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
