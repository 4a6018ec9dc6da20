"""Reference values for the risk models and allocation methods (issue 16), from the Python libraries.

Unlike make_reference.py (numpy/scipy from written definitions), this recipe asks the libraries
Stratus's users compare with — scikit-learn, PyPortfolioOpt and skfolio, versions pinned in
.ci/run — so a difference in convention shows up as a failing test, not as a silent mismatch.
Nothing here imports Stratus. Re-run with:

    pip install numpy==2.4.6 scipy==1.17.1 scikit-learn==1.9.1 pyportfolioopt==1.6.0 skfolio==1.12.2
    python3 tools/reference/make_models_reference.py

and commit crates/core/tests/fixtures/models.json. With --check it recomputes everything and
compares with the committed file (1e-12 relative for closed forms; 1e-7 absolute for the values a
numerical solver returns, which may move in the last digits between machines).

Universes:
- "bundled": the 20 stocks of make_reference.py, 2015-01-02 .. 2022-12-28, daily simple returns
  on the dates all share (the Rust test rebuilds them from the CSV itself);
- "synthetic": 300 days x 40 assets of seeded Student-t returns with a block correlation
  structure (stored in the fixture);
- "wide": 60 days x 80 assets (fewer days than assets: a singular sample covariance), for the
  shrinkage estimators only.

Risk reports ("report"): skfolio's measure functions (drawdowns on the compounded path, tail
probability 0.05), skfolio's Portfolio for the annualised Sharpe and Sortino ratios at r_f = 0,
numpy/scipy for the Gaussian VaR/CVaR, Omega and tail ratios (skfolio has none), and the CVaR
contributions as the Euler allocation over the tail days (checked to sum to skfolio's CVaR).
"""

import csv
import gzip
import json
import math
import pathlib
import sys
import warnings

import numpy as np
import pandas as pd
import sklearn
import skfolio
from pypfopt import BlackLittermanModel, DiscreteAllocation, EfficientFrontier, HRPOpt, expected_returns, objective_functions, risk_models
from pypfopt import black_litterman as black_litterman_module
from sklearn.covariance import OAS, LedoitWolf
from scipy.stats import norm
from skfolio import Portfolio
from skfolio import measures as skm
from skfolio.optimization import (HierarchicalEqualRiskContribution, InverseVolatility,
                                  MaximumDiversification, RiskBudgeting)

warnings.filterwarnings("ignore")

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
OUT = ROOT / "crates" / "core" / "tests" / "fixtures" / "models.json"
TICKERS = ["AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO",
           "LLY", "MRK", "MSFT", "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM"]


def bundled_returns():
    with gzip.open(DATA / "sp500_dataset.csv.gz", "rt") as handle:
        rows = list(csv.reader(handle))
    header = rows[0][1:]
    cols = [header.index(t) + 1 for t in TICKERS]
    body = [r for r in rows[1:] if "2015-01-02" <= r[0] <= "2022-12-28"]
    prices = np.array([[float(r[c]) for c in cols] for r in body])
    return prices[1:] / prices[:-1] - 1.0


def synthetic_returns(days, assets, seed):
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 4, size=assets)
    loading = np.where(blocks[:, None] == np.arange(4)[None, :], 0.7, 0.0)
    factors = rng.standard_t(5, size=(days, 4)) * 0.01
    idio = rng.standard_t(4, size=(days, assets)) * 0.012
    drift = rng.normal(0.0004, 0.0003, size=assets)
    return drift + factors @ loading.T + idio * (0.5 + rng.random(assets))


def covariances(R, models=None):
    frame = pd.DataFrame(R)
    shrink = risk_models.CovarianceShrinkage(frame, returns_data=True)
    out = {
        "sample": (risk_models.sample_cov(frame, returns_data=True).values, None),
        "ledoit-wolf": (252.0 * LedoitWolf().fit(R).covariance_, float(LedoitWolf().fit(R).shrinkage_)),
        "oas": (252.0 * OAS().fit(R).covariance_, float(OAS().fit(R).shrinkage_)),
    }
    for name, target in [("ledoit-wolf-cc", "constant_correlation"), ("ledoit-wolf-sf", "single_factor")]:
        matrix = shrink.ledoit_wolf(target).values
        out[name] = (matrix, float(shrink.delta))
    out["exp"] = (risk_models.exp_cov(frame, returns_data=True, span=180).values, None)
    out["exp-30"] = (risk_models.exp_cov(frame, returns_data=True, span=30).values, None)
    out["semi"] = (risk_models.semicovariance(frame, returns_data=True, benchmark=0.0).values, None)
    out["semi-0.001"] = (risk_models.semicovariance(frame, returns_data=True, benchmark=0.001).values, None)
    return {k: {"matrix": m.tolist(), "shrinkage": s} for k, (m, s) in out.items() if models is None or k in models}


TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


def allocations(R):
    frame = pd.DataFrame(R, columns=[f"A{i:03}" for i in range(R.shape[1])])
    hrp = {}
    for linkage in ["single", "complete", "average", "ward"]:
        weights = HRPOpt(frame).optimize(linkage)
        hrp[linkage] = [float(weights[c]) for c in frame.columns]
    # skfolio's default Clarabel tolerances leave its risk contributions 2.6e-6 from equal on the
    # bundled universe; tightened, they are within 1e-8, which makes it a sharper reference.
    parity = RiskBudgeting(solver_params=TIGHT).fit(R).weights_
    diversification = MaximumDiversification(solver_params=TIGHT).fit(R).weights_
    inverse = InverseVolatility().fit(R).weights_
    return {
        "herc": [float(w) for w in HierarchicalEqualRiskContribution().fit(R).weights_],
        "hrp": hrp,
        "risk_parity": [float(w) for w in parity],
        "max_diversification": [float(w) for w in diversification],
        "inverse_volatility": [float(w) for w in inverse],
    }


def measures(r, alpha=0.05):
    """One return series' measures: skfolio's functions, numpy/scipy where skfolio has none."""
    beta = 1.0 - alpha
    dd = skm.get_drawdowns(r, compounded=True)
    mean, sd = skm.mean(r), skm.standard_deviation(r)
    max_dd = skm.max_drawdown(dd)
    z = norm.ppf(1 - alpha)
    q95, q05 = np.percentile(r, 95), np.percentile(r, 5)
    return {
        "annual_return": 252 * mean,
        "annual_volatility": np.sqrt(252) * sd,
        "sharpe_ratio": Portfolio(X=r[:, None], weights=[1.0], annualization_factor=252).annualized_sharpe_ratio,
        "sortino_ratio": Portfolio(X=r[:, None], weights=[1.0], annualization_factor=252).annualized_sortino_ratio,
        "calmar_ratio": 252 * mean / max_dd,
        "omega_ratio": np.maximum(r, 0).sum() / np.maximum(-r, 0).sum(),
        "max_drawdown": max_dd,
        "average_drawdown": skm.average_drawdown(dd),
        "cdar": skm.cdar(dd, beta=beta),
        "edar": skm.edar(dd, beta=beta),
        "ulcer_index": skm.ulcer_index(dd),
        "historical_var": skm.value_at_risk(r, beta=beta),
        "historical_cvar": skm.cvar(r, beta=beta),
        "gaussian_var": z * sd - mean,
        "gaussian_cvar": sd * norm.pdf(z) / alpha - mean,
        "evar": skm.evar(r, beta=beta),
        "skew": skm.skew(r),
        "kurtosis": skm.kurtosis(r),
        "tail_ratio": abs(q95) / abs(q05),
    }


def report(R, tickers, weights):
    """Per-asset measures, the portfolio's, and its volatility and CVaR contributions."""
    w = np.array(weights)
    C = np.cov(R, rowvar=False)
    port = R @ w
    vol_share = w * (C @ w) / (w @ C @ w)
    T = len(port)
    kappa = 0.05 * T
    whole = int(np.floor(kappa))
    order = np.argsort(port, kind="stable")
    q = np.zeros(T)
    q[order[:whole]] = 1 / kappa
    q[order[whole]] = (kappa - whole) / kappa
    cvar_part = -w * (q @ R)
    assert abs(cvar_part.sum() - skm.cvar(port, beta=0.95)) < 1e-12
    return {
        "assets": {t: {k: float(v) for k, v in measures(R[:, i]).items()} for i, t in enumerate(tickers)},
        "weights": list(weights),
        "portfolio": {k: float(v) for k, v in measures(port).items()},
        "volatility_contribution": vol_share.tolist(),
        "cvar_contribution": (cvar_part / cvar_part.sum()).tolist(),
    }


def market_returns():
    with gzip.open(DATA / "sp500_index.csv.gz", "rt") as handle:
        rows = list(csv.reader(handle))
    col = rows[0].index("SP500")
    body = [r for r in rows[1:] if "2015-01-02" <= r[0] <= "2022-12-28"]
    prices = np.array([float(r[col]) for r in body])
    return prices[1:] / prices[:-1] - 1.0


def expected(R, market):
    frame = pd.DataFrame(R)
    mkt = pd.DataFrame({"mkt": market})
    return {
        "mean": expected_returns.mean_historical_return(frame, returns_data=True, compounding=False).tolist(),
        "ema-180": expected_returns.ema_historical_return(frame, returns_data=True, compounding=False, span=180).tolist(),
        "ema-500": expected_returns.ema_historical_return(frame, returns_data=True, compounding=False, span=500).tolist(),
        "capm-0.02": expected_returns.capm_return(frame, market_prices=mkt, returns_data=True, compounding=False,
                                                  risk_free_rate=0.02).tolist(),
    }


BL_TICKERS = ["AAPL", "KO", "XOM", "JNJ", "MSFT"]
BL_CAPS = {"AAPL": 2.0e12, "KO": 2.6e11, "XOM": 4.4e11, "JNJ": 4.3e11, "MSFT": 1.8e12}
BL_VIEWS = "AAPL = 0.10 @ 0.6; MSFT - KO = 0.03 @ 0.3; 0.5*JNJ + 0.5*XOM - AAPL = -0.01"


def black_litterman(R):
    """PyPortfolioOpt's BlackLittermanModel (Idzorek confidences; ½ where none is given)."""
    cols = [TICKERS.index(t) for t in BL_TICKERS]
    cov = pd.DataFrame(252.0 * np.cov(R[:, cols], rowvar=False), index=BL_TICKERS, columns=BL_TICKERS)
    pi = black_litterman_module.market_implied_prior_returns(pd.Series(BL_CAPS), 2.5, cov, risk_free_rate=0.02)
    P = np.array([[1, 0, 0, 0, 0], [0, -1, 0, 0, 1], [-1, 0, 0.5, 0.5, 0]], dtype=float)
    Q = np.array([0.10, 0.03, -0.01])
    model = BlackLittermanModel(cov, pi=pi, P=P, Q=Q, omega="idzorek", view_confidences=[0.6, 0.3, 0.5], tau=0.05)
    return {
        "tickers": BL_TICKERS, "caps": BL_CAPS, "views": BL_VIEWS, "delta": 2.5, "tau": 0.05, "risk_free": 0.02,
        "prior": pi.tolist(), "returns": model.bl_returns().tolist(), "covariance": model.bl_cov().values.tolist(),
    }


SECTORS = {"AAPL": "Tech", "AMD": "Tech", "MSFT": "Tech", "BAC": "Financials", "JPM": "Financials",
           "CVX": "Energy", "XOM": "Energy", "RRC": "Energy", "JNJ": "Health", "LLY": "Health",
           "MRK": "Health", "PFE": "Health", "UNH": "Health", "KO": "Staples", "PEP": "Staples",
           "PG": "Staples", "WMT": "Staples", "BBY": "Consumer", "HD": "Consumer", "GE": "Industrials"}
SECTOR_MAX = {"Health": 0.3, "Staples": 0.35}
SECTOR_MIN = {"Tech": 0.1, "Energy": 0.05}
CLARABEL_TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


def constrained(R):
    """PyPortfolioOpt (cvxpy + Clarabel, tightened) with sector limits, a linear constraint,
    L2 regularisation and transaction costs; weights, and the objective PyPortfolioOpt minimised."""
    mu = pd.Series(252.0 * R.mean(axis=0), index=TICKERS)
    S = pd.DataFrame(252.0 * np.cov(R, rowvar=False), index=TICKERS, columns=TICKERS)
    idx = {t: i for i, t in enumerate(TICKERS)}
    out = {"sectors": SECTORS, "sector_max": SECTOR_MAX, "sector_min": SECTOR_MIN}

    def frontier():
        ef = EfficientFrontier(mu, S, solver="CLARABEL", solver_options=CLARABEL_TIGHT)
        ef.add_sector_constraints(SECTORS, SECTOR_MIN, SECTOR_MAX)
        return ef

    ef = frontier()
    w = ef.min_volatility()
    out["min_variance_sectors"] = [w[t] for t in TICKERS]
    ef = frontier()
    ef.add_constraint(lambda w: w[idx["AAPL"]] + w[idx["MSFT"]] <= 0.08)
    w = ef.efficient_return(0.15)
    out["target_0.15_sectors_aapl_msft_0.08"] = [w[t] for t in TICKERS]
    ef = frontier()
    w = ef.max_sharpe(risk_free_rate=0.02)
    out["max_sharpe_0.02_sectors"] = [w[t] for t in TICKERS]
    previous = np.full(len(TICKERS), 1.0 / len(TICKERS))
    ef = EfficientFrontier(mu, S, solver="CLARABEL", solver_options=CLARABEL_TIGHT)
    ef.add_objective(objective_functions.L2_reg, gamma=0.1)
    ef.add_objective(objective_functions.transaction_cost, w_prev=previous, k=0.001)
    w = ef.min_volatility()
    weights = np.array([w[t] for t in TICKERS])
    out["min_variance_l2_0.1_cost_10bps"] = {
        "weights": weights.tolist(),
        "objective": float(weights @ S.values @ weights + 0.1 * weights @ weights
                           + 0.001 * np.abs(weights - previous).sum()),
    }
    return out


def discrete(weights):
    """PyPortfolioOpt's DiscreteAllocation at the closes of 2022-12-28: greedy shares, and the
    lp_portfolio objective HiGHS reaches (its MIP gap tolerance tightened to 0)."""
    with gzip.open(DATA / "sp500_dataset.csv.gz", "rt") as handle:
        rows = list(csv.reader(handle))
    header = rows[0][1:]
    last = [r for r in rows[1:] if r[0] <= "2022-12-28"][-1]
    prices = pd.Series({t: float(last[header.index(t) + 1]) for t in TICKERS})
    out = {"weights": weights, "prices": prices.tolist()}
    for total in [10_000, 100_000]:
        w = {t: x for t, x in zip(TICKERS, weights)}
        greedy, greedy_left = DiscreteAllocation(w, prices, total_portfolio_value=total).greedy_portfolio()
        lp_alloc = DiscreteAllocation(w, prices, total_portfolio_value=total)
        lp, lp_left = lp_alloc.lp_portfolio(solver="HIGHS")
        shares = np.array([lp.get(t, 0) for t in TICKERS], dtype=float)
        objective = float(np.abs(np.array(weights) * total - shares * prices.values).sum() + lp_left)
        out[str(total)] = {
            "greedy": [int(greedy.get(t, 0)) for t in TICKERS], "greedy_leftover": float(greedy_left),
            "lp_objective": objective, "lp_leftover": float(lp_left),
        }
    return out


def main():
    bundled = bundled_returns()
    synthetic = synthetic_returns(300, 40, 20261130)
    wide = synthetic_returns(60, 80, 7)
    bundled_constrained = constrained(bundled)
    result = {
        "versions": {"scikit-learn": sklearn.__version__, "skfolio": skfolio.__version__,
                     "numpy": np.__version__, "pandas": pd.__version__},
        "bundled": {"tickers": TICKERS, "start": "2015-01-02", "end": "2022-12-28", "days": len(bundled),
                    "covariance": covariances(bundled), "allocation": allocations(bundled),
                    "report": report(bundled[:, [0, 9, 19]], ["AAPL", "KO", "XOM"], [0.5, 0.3, 0.2]),
                    "expected_returns": expected(bundled, market_returns()),
                    "black_litterman": black_litterman(bundled),
                    "constrained": bundled_constrained,
                    "discrete": discrete(bundled_constrained["max_sharpe_0.02_sectors"])},
        "synthetic": {"returns": synthetic.tolist(), "covariance": covariances(synthetic),
                      "allocation": allocations(synthetic),
                      "report": report(synthetic[:, :4], ["S0", "S1", "S2", "S3"], [0.4, 0.3, 0.2, 0.1])},
        "wide": {"returns": wide.tolist(), "covariance": covariances(wide, ["ledoit-wolf", "oas", "ledoit-wolf-cc", "ledoit-wolf-sf"])},
    }
    if "--check" in sys.argv:
        committed = json.loads(OUT.read_text())
        problems = []
        compare(committed, json.loads(json.dumps(result)), "", problems)
        if problems:
            print("models fixture differs from its recipe:", *problems[:20], sep="\n  ")
            sys.exit(1)
        print("models fixture reproduced")
        return
    OUT.write_text(json.dumps(result) + "\n")
    print("wrote", OUT, f"({OUT.stat().st_size // 1024} KiB)")


SOLVED = ("/risk_parity/", "/max_diversification/", "/constrained/", "/discrete/")


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
        if any(s in path + "/" for s in SOLVED):
            ok = abs(got - want) <= 1e-7
        else:
            ok = abs(got - want) <= 1e-12 * max(abs(want), 1e-300)
        if not ok:
            problems.append(f"{path}: committed {want}, recomputed {got}")
    elif path.startswith("/versions"):
        return
    elif want != got:
        problems.append(f"{path}: committed {want!r}, recomputed {got!r}")


if __name__ == "__main__":
    main()
