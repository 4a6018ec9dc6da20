"""Independent reference for the dividend discount model test in crates/core/src/dividends.rs.

Follows the written definition (shared/spec/scrilla-behaviour.md §4.12, with Stratus's documented
fixes): OLS line of amount on years since the first payment (numpy.polyfit), the payment period
snapped to a quarter, payments stepping floor(365·period) days from the last one to the first
date on or after today, each discounted at (1 + r)^t. Nothing here imports Stratus.

    python3 tools/reference/reference_ddm.py
"""

import datetime as dt

import numpy as np

payments = [
    ("2021-03-10", 1.00), ("2021-06-10", 1.02), ("2021-09-10", 1.03), ("2021-12-10", 1.05),
    ("2022-03-10", 1.06), ("2022-06-10", 1.08), ("2022-09-10", 1.10), ("2022-12-10", 1.11),
]
today = dt.date(2023, 1, 15)
rate = 0.09

dates = [dt.date.fromisoformat(d) for d, _ in payments]
amounts = np.array([a for _, a in payments])
first = dates[0]
t = np.array([(d - first).days / 365 for d in dates])
slope, intercept = np.polyfit(t, amounts, 1)

mean_gap = (dates[-1] - first).days / 365 / (len(dates) - 1)
assert abs(mean_gap - 0.25) / 0.25 <= 0.15
period = 0.25
step = dt.timedelta(days=int(365 * period))
nxt = dates[-1]
while nxt < today:
    nxt += step
t0 = (nxt - today).days / 365
to_today = (today - first).days / 365

npv, i = 0.0, 0
while True:
    x = t0 + i * period
    amount = intercept + slope * (x + to_today)
    if amount <= 0:
        break
    inc = amount / (1 + rate) ** x
    npv += inc
    if inc < 1e-7:
        break
    i += 1
print(f"slope {slope!r}\nintercept {intercept!r}\nnext payment {nxt}\nnpv {npv!r}")
