"""Independent reference values for Stratus's numerical tests.

Computed with numpy/scipy straight from the bundled CSV files, following the written definitions
in shared/spec (reference-values.md for the portfolio-library conventions, scrilla-behaviour.md §4
for scrilla's estimators). Nothing here imports Stratus. Re-run with:

    pip install numpy scipy && python3 tools/reference/make_reference.py

and commit crates/core/tests/fixtures/reference.json. With --check it recomputes everything and
compares with the committed file instead (relative 1e-12; 1e-6 absolute for the copula fit, whose
scipy integration is itself only that accurate), which CI runs so the fixture cannot drift from
its recipe.
"""

import csv
import gzip
import json
import math
import pathlib
import sys

import numpy as np
from scipy import optimize, stats

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
OUT = ROOT / "crates" / "core" / "tests" / "fixtures" / "reference.json"


def read_wide(name):
    opener = gzip.open if name.endswith(".gz") else open
    with opener(DATA / name, "rt") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0][1:], rows[1:]
    dates = [r[0] for r in body]
    values = {h: [float(r[i + 1]) if r[i + 1] else math.nan for r in body] for i, h in enumerate(header)}
    return dates, values


def exact_on_support(cov, mu, support, targets):
    """Solves the KKT system of min wᵀΣw s.t. Aw = b on a support: [[2Σ_SS, Aᵀ], [A, 0]]."""
    S = np.array(support)
    A = np.array([[1.0] * len(S)] + ([mu[S]] if targets is not None else []))
    b = np.array([1.0] + ([targets] if targets is not None else []))
    m = len(A)
    K = np.block([[2 * cov[np.ix_(S, S)], A.T], [A, np.zeros((m, m))]])
    sol = np.linalg.solve(K, np.concatenate([np.zeros(len(S)), b]))
    w = np.zeros(len(mu))
    w[S] = sol[: len(S)]
    multipliers = sol[len(S):]
    gradient = 2 * cov @ w - (np.vstack([np.ones(len(mu))] + ([mu] if targets is not None else [])).T @ multipliers)
    assert (w >= -1e-12).all(), "negative weight on the support"
    outside = np.setdiff1d(np.arange(len(mu)), S)
    assert (gradient[outside] >= -1e-10).all(), "KKT violated off the support"
    return w


def solve_support(objective, n, constraints):
    res = optimize.minimize(objective, np.full(n, 1.0 / n), method="SLSQP", bounds=[(0, 1)] * n,
                            constraints=constraints, options={"ftol": 1e-15, "maxiter": 1000})
    return [i for i in range(n) if res.x[i] > 1e-6]


SCENARIOS = None


def min_cvar_reference(scenarios, alpha):
    """Rockafellar–Uryasev LP solved by HiGHS (scipy.optimize.linprog)."""
    T, n = scenarios.shape
    c = np.concatenate([np.zeros(n), [1.0], np.full(T, 1.0 / (alpha * T))])
    # -r_t·w - a - u_t <= 0
    A_ub = np.hstack([-scenarios, -np.ones((T, 1)), -np.eye(T)])
    A_eq = np.concatenate([np.ones(n), [0.0], np.zeros(T)])[None, :]
    bounds = [(0, 1)] * n + [(None, None)] + [(0, None)] * T
    res = optimize.linprog(c, A_ub=A_ub, b_ub=np.zeros(T), A_eq=A_eq, b_eq=[1.0], bounds=bounds, method="highs")
    assert res.status == 0
    return {"alpha": alpha, "cvar": float(res.fun), "weights": res.x[:n].tolist()}


def optimisation_references(mu, cov, rf):
    """Long-only, fully invested: SLSQP finds the support, then the exact KKT solution on it."""
    n = len(mu)
    budget = {"type": "eq", "fun": lambda w: w.sum() - 1}
    w_mv = exact_on_support(cov, mu, solve_support(lambda w: w @ cov @ w, n, [budget]), None)
    support = solve_support(lambda w: -(w @ mu - rf) / math.sqrt(w @ cov @ w), n, [budget])
    S = np.array(support)
    z = np.linalg.solve(cov[np.ix_(S, S)], mu[S] - rf)
    w_ms = np.zeros(n)
    w_ms[S] = z / z.sum()
    # KKT of the tangency problem: no excluded asset improves the Sharpe ratio at the margin.
    # In y = w/(w·μ − r_f): minimise yᵀΣy s.t. (μ − r_f)ᵀy = 1, y ≥ 0; off the support
    # (Σy)_i ≥ (yᵀΣy)(μ_i − r_f).
    y = w_ms / (w_ms @ mu - rf)
    assert ((cov @ y - (y @ cov @ y) * (mu - rf))[np.setdiff1d(np.arange(n), S)] >= -1e-10).all()
    target = 0.20
    constraints = [budget, {"type": "eq", "fun": lambda w: w @ mu - target}]
    w_t = exact_on_support(cov, mu, solve_support(lambda w: w @ cov @ w, n, constraints), target)
    return {
        "min_historical_cvar": min_cvar_reference(SCENARIOS, 0.05),
        "min_variance": {"weights": w_mv.tolist(), "volatility": float(math.sqrt(w_mv @ cov @ w_mv)), "return": float(w_mv @ mu)},
        "max_sharpe": {"risk_free": rf, "weights": w_ms.tolist(), "sharpe": float((w_ms @ mu - rf) / math.sqrt(w_ms @ cov @ w_ms))},
        "target": {"return": target, "weights": w_t.tolist(), "volatility": float(math.sqrt(w_t @ cov @ w_t))},
    }


def main():
    dates, stocks = read_wide("sp500_dataset.csv.gz")
    _, index = read_wide("sp500_index.csv.gz")
    tickers = list(stocks)
    prices = np.array([stocks[t] for t in tickers]).T
    market = np.array(index["SP500"])

    # A. Portfolio-library conventions, 2015-01-02 .. 2022-12-28, simple returns.
    lo, hi = dates.index("2015-01-02"), dates.index("2022-12-28")
    window = prices[lo : hi + 1]
    simple = window[1:] / window[:-1] - 1.0
    market_simple = market[lo + 1 : hi + 1] / market[lo:hi] - 1.0
    mu = 252.0 * simple.mean(axis=0)
    cov = 252.0 * np.cov(simple, rowvar=False, ddof=1)
    corr = np.corrcoef(simple, rowvar=False)
    beta = [float(np.cov(simple[:, i], market_simple, ddof=1)[0, 1] / np.var(market_simple, ddof=1)) for i in range(len(tickers))]
    x = simple.mean(axis=1)  # equal weight, rebalanced daily
    T = len(x)
    alpha = 0.05
    losses = np.sort(-x)[::-1]
    kappa = alpha * T
    k = math.ceil(kappa)
    hist_var = float(losses[k - 1])
    whole = math.floor(kappa)
    hist_cvar = float((losses[:whole].sum() + (kappa - whole) * losses[whole]) / kappa)
    m, s = x.mean(), x.std(ddof=1)
    z = stats.norm.ppf(1 - alpha)
    global SCENARIOS
    SCENARIOS = simple
    optimal = optimisation_references(mu, cov, 0.02)
    portfolio = {
        "optimal": optimal,
        "start": "2015-01-02", "end": "2022-12-28", "tickers": tickers, "returns": T,
        "mu": mu.tolist(), "cov": cov.tolist(), "corr": corr.tolist(),
        "volatility": np.sqrt(np.diag(cov)).tolist(), "beta": beta,
        "market_mean": float(252.0 * market_simple.mean()),
        "equal_weight": {"hist_var": hist_var, "hist_cvar": hist_cvar,
                          "gauss_var": float(z * s - m), "gauss_cvar": float(s * stats.norm.pdf(z) / alpha - m)},
    }

    # B. scrilla's definitions over the default window: the last 101 prices ending 2022-12-28.
    #    The bundled history has every NYSE session, so every return spans one period.
    dt = 1.0 / 252.0
    end = dates.index("2022-12-28")
    start = end - 100
    series = dict(stocks)
    series["SP500"] = index["SP500"]
    names = ["AAPL", "MSFT", "JPM", "KO", "SP500"]
    z75 = stats.norm.ppf(0.75)
    profiles = {}
    logs = {}
    for name in names:
        p = np.array(series[name][start : end + 1])
        log = np.diff(np.log(p))
        logs[name] = log
        n = len(log)
        vol = log.std(ddof=1) / math.sqrt(dt)
        drift = math.log(p[-1] / p[0]) / (n * dt)
        sample = log / dt
        q1, q3 = np.percentile(sample, [25, 75], method="weibull")
        pvol = (q3 - q1) / (2 * z75) * math.sqrt(dt)
        lvol = sample.std(ddof=0) * math.sqrt(dt)
        profiles[name] = {
            "moments": [drift + vol**2 / 2, vol],
            "percentiles": [(q1 + q3) / 2 + pvol**2 / 2, pvol],
            "likelihood": [sample.mean() + lvol**2 / 2, lvol],
        }

    def copula_rho(a, b):
        za = (a - a.mean()) / a.std(ddof=1)
        zb = (b - b.mean()) / b.std(ddof=1)
        ps = [10, 16, 50, 84, 90]
        qa = np.percentile(za, ps, method="weibull")
        qb = np.percentile(zb, ps, method="weibull")
        emp = [np.mean((za <= u) & (zb <= v)) for u, v in zip(qa, qb)]

        def loss(r):
            mvn = stats.multivariate_normal(mean=[0, 0], cov=[[1, r], [r, 1]])
            return sum((mvn.cdf([u, v]) - e) ** 2 for u, v, e in zip(qa, qb, emp))

        grid = np.linspace(-0.99999, 0.99999, 201)
        best = int(np.argmin([loss(r) for r in grid]))
        res = optimize.minimize_scalar(loss, bounds=(grid[max(best - 1, 0)], grid[min(best + 1, 200)]), method="bounded", options={"xatol": 1e-10})
        return float(res.x)

    stock_names = names[:4]
    correlation = {
        "tickers": stock_names,
        "moments": np.corrcoef([logs[t] for t in stock_names]).tolist(),
        "percentiles": [[1.0 if i == j else copula_rho(logs[a] / dt, logs[b] / dt) for j, b in enumerate(stock_names)] for i, a in enumerate(stock_names)],
    }
    ydates, yields = read_wide("us_treasury_par_yields_1990_2025.csv")
    risk_free = yields["10Y"][ydates.index("2022-12-28")] / 100.0
    mkt_ret, mkt_vol = profiles["SP500"]["moments"]
    capm = {}
    for t in stock_names:
        ret, vol = profiles[t]["moments"]
        rho = float(np.corrcoef(logs[t], logs["SP500"])[0, 1])
        b = rho * vol / mkt_vol
        capm[t] = {"sharpe_ratio": (ret - risk_free) / vol, "asset_beta": b, "equity_cost": risk_free + b * (mkt_ret - risk_free)}
    aapl = np.array(series["AAPL"][start : end + 1])
    ret, vol = profiles["AAPL"]["moments"]
    S0, T_, p_ = float(aapl[-1]), 0.5, 0.05
    var = S0 * math.exp((ret - vol**2 / 2) * T_ + vol * math.sqrt(T_) * stats.norm.ppf(p_))
    d1 = (math.log(S0 / var) + (ret + vol**2 / 2) * T_) / (vol * math.sqrt(T_))
    d2 = d1 - vol * math.sqrt(T_)
    cvar = S0 * math.exp(ret * T_) * stats.norm.cdf(-d1) / stats.norm.cdf(-d2)
    full = np.array(series["AAPL"][: end + 1])
    mas = {f"MA_{p}": math.log(full[-1] / full[-1 - p]) / (p * dt) for p in (20, 60, 100)}
    scrilla = {
        "window": {"start": dates[start], "end": dates[end]},
        "profiles": profiles, "correlation": correlation, "risk_free": risk_free, "capm": capm,
        "var_aapl": {"prob": p_, "expiry": T_, "spot": S0, "value_at_risk": var, "conditional_value_at_risk": cvar},
        "moving_averages_aapl_2022_12_28": mas,
    }
    # C. A ticker whose history starts inside the window (issue: window cut to shared dates):
    # MTUM (from 2014-01-02) against SP500 with --start 2010-01-04 --end 2015-01-02; β on the
    # dates both have, moments convention (ρ·σ_asset/σ_market = cov/var of the log returns).
    fdates, factors = read_wide("factors_dataset.csv.gz")
    mtum = dict(zip(fdates, factors["MTUM"]))
    sp = dict(zip(dates, index["SP500"]))
    shared = [d for d in fdates if "2014-01-02" <= d <= "2015-01-02" and d in sp and not math.isnan(mtum[d])]
    a = np.diff(np.log([mtum[d] for d in shared]))
    m = np.diff(np.log([sp[d] for d in shared]))
    window_cut = {
        "ticker": "MTUM", "start": "2010-01-04", "end": "2015-01-02", "first": shared[0], "sessions": len(shared),
        "asset_beta": float(np.cov(a, m, ddof=1)[0, 1] / np.var(m, ddof=1)),
    }
    result = {"portfolio": portfolio, "scrilla": scrilla, "window_cut": window_cut}
    if "--check" in sys.argv:
        committed = json.loads(OUT.read_text())
        problems = []
        compare(committed, json.loads(json.dumps(result)), "", problems)
        if problems:
            print("reference fixture differs from its recipe:", *problems[:20], sep="\n  ")
            sys.exit(1)
        print("reference fixture reproduced")
        return
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print("wrote", OUT)


def compare(want, got, path, problems):
    if isinstance(want, dict):
        if set(want) != set(got):
            problems.append(f"{path}: keys differ")
            return
        for key in want:
            compare(want[key], got[key], f"{path}/{key}", problems)
    elif isinstance(want, list):
        if len(want) != len(got):
            problems.append(f"{path}: lengths differ")
            return
        for i, (w, g) in enumerate(zip(want, got)):
            compare(w, g, f"{path}/{i}", problems)
    elif isinstance(want, float):
        ok = abs(got - want) <= 1e-6 if "/percentiles/" in path and "correlation" in path else abs(got - want) <= 1e-12 * max(abs(want), 1e-300)
        if not ok:
            problems.append(f"{path}: committed {want}, recomputed {got}")
    elif want != got:
        problems.append(f"{path}: committed {want!r}, recomputed {got!r}")


if __name__ == "__main__":
    main()
