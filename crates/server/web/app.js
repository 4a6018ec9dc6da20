// The Stratus page: reads the form, calls the API (the same JSON the CLI prints), draws.
// `?tickers=…&start=…&end=…&method=…&objective=…&run=1` fills the form and runs at once, so a
// result can be linked (and driven by a headless browser in the tests).
"use strict";
(() => {
  const form = document.getElementById("query");
  const status = document.getElementById("status");
  const fields = ["tickers", "start", "end", "method", "objective"];

  async function api(verb, params) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== "" && v !== undefined && v !== null) query.set(k, v);
    const response = await fetch(`/api/${verb}?${query}`);
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || `${verb}: HTTP ${response.status}`);
    return body;
  }

  function say(message, isError) {
    status.textContent = message;
    status.className = isError ? "error" : "";
  }

  function weightsTable(result) {
    const table = document.getElementById("weights-table");
    table.innerHTML = "<thead><tr><th>ticker</th><th>weight</th><th>return</th><th>volatility</th></tr></thead>";
    const body = document.createElement("tbody");
    for (const h of result.holdings) {
      const row = document.createElement("tr");
      row.dataset.ticker = h.ticker;
      row.dataset.weight = String(h.allocation);
      row.innerHTML = `<td>${h.ticker}</td><td class="weight">${(h.allocation * 100).toFixed(2)}%</td>` +
        `<td>${Charts.pct(h.annual_return)}</td><td>${Charts.pct(h.annual_volatility)}</td>`;
      body.appendChild(row);
    }
    table.appendChild(body);
    const foot = document.createElement("tfoot");
    foot.innerHTML = `<tr><td>portfolio</td><td></td><td>${Charts.pct(result.portfolio_return)}</td><td>${Charts.pct(result.portfolio_volatility)}</td></tr>` +
      `<tr><td colspan="4" style="text-align:left;color:#5b6474">Sharpe ratio ${result.sharpe_ratio.toFixed(4)} · ${result.solver} · ${result.status}</td></tr>`;
    table.appendChild(foot);
  }

  async function run() {
    const data = new FormData(form);
    const tickers = data.get("tickers").split(/[\s,]+/).filter(Boolean).map((t) => t.toUpperCase()).join(",");
    const window = { start: data.get("start"), end: data.get("end") };
    const method = data.get("method");
    const objective = data.get("objective");
    document.body.dataset.state = "running";
    say(`Analysing ${tickers.split(",").length} tickers…`);
    try {
      const [profile, correlation, frontier, optimal, prices, curve] = await Promise.all([
        api("risk-profile", { tickers, ...window, method }),
        api("correlation", { tickers, ...window, method }),
        api("efficient-frontier", { tickers, ...window, method, steps: 40 }),
        api("optimize-portfolio", { tickers, ...window, method, sharpe: objective === "sharpe" ? "true" : "" }),
        api("prices", { tickers, ...window }),
        api("yield-curve", { date: window.end }),
      ]);
      const names = Object.keys(profile);
      Charts.scatter(document.getElementById("scatter"), names.map((t) => ({
        x: profile[t].annual_volatility, y: profile[t].annual_return, label: t,
        info: `${t}: return ${Charts.pct(profile[t].annual_return)}, volatility ${Charts.pct(profile[t].annual_volatility)}, Sharpe ${profile[t].sharpe_ratio.toFixed(3)}, β ${profile[t].asset_beta.toFixed(3)}`,
      })), { xFormat: Charts.pct, yFormat: Charts.pct, xLabel: "volatility", yLabel: "return" });
      Charts.heatmap(document.getElementById("heatmap"), correlation.tickers, correlation.correlation_matrix);
      const frontierPoints = frontier.map((p) => [p.portfolio_volatility, p.portfolio_return]);
      Charts.lines(document.getElementById("frontier"), [{ name: "frontier", points: frontierPoints, markers: false }], {
        xFormat: Charts.pct, yFormat: Charts.pct, xLabel: "volatility", yLabel: "return",
        extraPoints: [
          ...names.map((t) => ({ x: profile[t].annual_volatility, y: profile[t].annual_return, label: t, color: "#868e96" })),
          { x: optimal.portfolio_volatility, y: optimal.portfolio_return, label: "optimal", color: "#d9480f",
            info: `optimal: return ${Charts.pct(optimal.portfolio_return)}, volatility ${Charts.pct(optimal.portfolio_volatility)}` },
        ],
      });
      Charts.bars(document.getElementById("weights"), optimal.holdings.map((h) => ({ label: h.ticker, value: h.allocation })));
      weightsTable(optimal);
      const series = Object.entries(prices).map(([t, byDate]) => {
        const dates = Object.keys(byDate).sort();
        const base = byDate[dates[0]];
        return { name: t, points: dates.map((d) => [Date.parse(d), (100 * byDate[d]) / base, d]) };
      });
      const day = (v) => new Date(v).toISOString().slice(0, 10);
      Charts.lines(document.getElementById("prices"), series, { xFormat: day, yFormat: (v) => v.toFixed(0), yLabel: "rebased",
        xTicks: (a, b) => [a + (b - a) * 0.1, a + (b - a) * 0.5, a + (b - a) * 0.9] });
      const tenors = { ONE_MONTH: 1 / 12, TWO_MONTH: 2 / 12, THREE_MONTH: 0.25, FOUR_MONTH: 4 / 12, SIX_MONTH: 0.5, ONE_YEAR: 1, TWO_YEAR: 2, THREE_YEAR: 3, FIVE_YEAR: 5, SEVEN_YEAR: 7, TEN_YEAR: 10, TWENTY_YEAR: 20, THIRTY_YEAR: 30 };
      const curvePoints = Object.entries(curve).filter(([k]) => k in tenors).map(([k, v]) => [tenors[k], v, k]);
      Charts.lines(document.getElementById("curve"), [{ name: "yield", points: curvePoints, markers: true }], {
        xFormat: (v) => v + "y", yFormat: Charts.pct, xLabel: "maturity (years)", yLabel: "yield" });
      say(`${names.length} tickers · ${method} · ${objective === "sharpe" ? "maximum Sharpe" : "minimum variance"} portfolio`);
      document.body.dataset.state = "done";
    } catch (error) {
      say(error.message, true);
      document.body.dataset.state = "error";
    }
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  const params = new URLSearchParams(location.search);
  for (const f of fields) if (params.has(f)) form.elements[f].value = params.get(f);
  if (params.get("run") === "1" && params.get("tab") !== "backtest") run();
})();
