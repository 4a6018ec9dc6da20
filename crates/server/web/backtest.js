// The page's Backtest tab: POSTs the form to /api/backtest (the JSON `stratus backtest --json`
// prints) and draws the equity curves, drawdowns, the risk table and the last rebalance.
// `?tab=backtest&tickers=…&strategies=…&run=1` fills the form and runs at once (the browser test).
"use strict";
(() => {
  const form = document.getElementById("backtest");
  const status = document.getElementById("bt-status");
  const fields = ["tickers", "start", "end", "strategies", "lookback", "rebalance", "cost"];
  const pct = (v) => (v * 100).toFixed(2) + "%";

  function show(tab) {
    for (const panel of document.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== tab;
    for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.tab === tab);
  }
  for (const link of document.querySelectorAll("nav a")) {
    link.addEventListener("click", (e) => { e.preventDefault(); show(link.dataset.tab); history.replaceState(null, "", `?tab=${link.dataset.tab}`); });
  }

  function say(message, isError) {
    status.textContent = message;
    status.className = isError ? "error" : "";
  }

  function dated(byDate, scale) {
    return Object.entries(byDate).map(([d, v]) => [Date.parse(d), v * scale, d]);
  }

  function drawdown(returns) {
    let wealth = 1, peak = 1;
    return Object.entries(returns).map(([d, r]) => {
      wealth *= 1 + r;
      peak = Math.max(peak, wealth);
      return [Date.parse(d), 100 * (wealth / peak - 1), d];
    });
  }

  function table(result) {
    const runs = [...result.strategies, result.benchmark];
    const rows = [
      ["total return", (r) => pct(Object.values(r.equity_curve).at(-1) - 1)],
      ["annual return", (r) => pct(r.risk_report.annual_return)],
      ["annual volatility", (r) => pct(r.risk_report.annual_volatility)],
      ["Sharpe ratio", (r) => r.risk_report.sharpe_ratio.toFixed(3)],
      ["Sortino ratio", (r) => r.risk_report.sortino_ratio === null ? "–" : r.risk_report.sortino_ratio.toFixed(3)],
      ["max drawdown", (r) => pct(r.risk_report.max_drawdown)],
      ["CDaR", (r) => pct(r.risk_report.cdar)],
      ["historical CVaR (1 day)", (r) => pct(r.risk_report.historical_cvar)],
      ["rebalances", (r) => r === result.benchmark ? "held" : String(r.rebalances.length)],
      ["total turnover", (r) => r === result.benchmark ? "held" : r.total_turnover.toFixed(3)],
      ["costs paid", (r) => r === result.benchmark ? "held" : pct(r.total_cost)],
    ];
    const head = `<thead><tr><th>measure</th>${runs.map((r) => `<th></th>`).join("")}</tr></thead>`;
    const node = document.getElementById("bt-table");
    node.innerHTML = head;
    runs.forEach((r, i) => { node.querySelectorAll("thead th")[i + 1].textContent = r.name; });
    const body = document.createElement("tbody");
    for (const [name, cell] of rows) {
      const row = document.createElement("tr");
      row.dataset.measure = name;
      const first = document.createElement("td");
      first.textContent = name;
      row.appendChild(first);
      for (const r of runs) {
        const td = document.createElement("td");
        td.textContent = cell(r);
        row.appendChild(td);
      }
      body.appendChild(row);
    }
    node.appendChild(body);
  }

  async function run() {
    const data = new FormData(form);
    const tickers = data.get("tickers").split(/[\s,]+/).filter(Boolean).map((t) => t.toUpperCase());
    const strategies = data.get("strategies").split(",").map((s) => s.trim()).filter(Boolean);
    const body = { tickers, strategy: strategies, start: data.get("start"), end: data.get("end"),
      lookback: data.get("lookback"), rebalance: data.get("rebalance"), cost: data.get("cost") };
    for (const k of Object.keys(body)) if (body[k] === "") delete body[k];
    document.body.dataset.state = "running";
    say(`Backtesting ${strategies.length} strateg${strategies.length === 1 ? "y" : "ies"} on ${tickers.length} tickers…`);
    try {
      const response = await fetch("/api/backtest", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const result = await response.json();
      if (!response.ok) throw new Error(result.error || `backtest: HTTP ${response.status}`);
      const runs = [...result.strategies, result.benchmark];
      const grey = (r, i) => (i === runs.length - 1 ? "#868e96" : undefined);
      const day = (v) => new Date(v).toISOString().slice(0, 10);
      const ticks = (a, b) => [a + (b - a) * 0.1, a + (b - a) * 0.5, a + (b - a) * 0.9];
      Charts.lines(document.getElementById("bt-equity"),
        runs.map((r, i) => ({ name: r.name, points: dated(r.equity_curve, 1), color: grey(r, i) })),
        { xFormat: day, yFormat: (v) => v.toFixed(2), yLabel: "equity", xTicks: ticks });
      Charts.lines(document.getElementById("bt-drawdown"),
        runs.map((r, i) => ({ name: r.name, points: drawdown(r.returns), color: grey(r, i) })),
        { xFormat: day, yFormat: (v) => v.toFixed(0) + "%", yLabel: "drawdown", xTicks: ticks });
      table(result);
      const first = result.strategies[0];
      const last = first.rebalances.at(-1);
      Charts.bars(document.getElementById("bt-weights"), Object.entries(last.weights).map(([t, w]) => ({ label: t, value: w })));
      document.getElementById("bt-weights-note").textContent = `${first.name}, ${last.date}`;
      say(`${result.start} to ${result.end} · ${result.rebalance} · ${result.lookback} lookback · ${result.cost_bps} bp`);
      document.body.dataset.state = "done";
    } catch (error) {
      say(error.message, true);
      document.body.dataset.state = "error";
    }
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  const params = new URLSearchParams(location.search);
  if (params.get("tab") === "backtest") {
    show("backtest");
    for (const f of fields) if (params.has(f)) form.elements[f].value = params.get(f);
    if (params.get("run") === "1") run();
  }
})();
