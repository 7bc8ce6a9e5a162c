// The receivables dashboard: signs in with a suite token, then draws the
// figures of /dashboard/api/overview. Amounts arrive as exact decimal
// strings; the tables show them as they are, the charts plot them.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const charts = {};

  function setState(state) {
    document.body.dataset.state = state;
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = !message;
  }

  async function call(method, path, body) {
    const options = { method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    if (response.status === 204) {
      return null;
    }
    let payload = null;
    try {
      payload = await response.json();
    } catch (_) {
      payload = null;
    }
    if (!response.ok) {
      const error = new Error((payload && payload.error) || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return payload;
  }

  function showSignIn(message) {
    $("dashboard").hidden = true;
    $("who").hidden = true;
    $("sign-in").hidden = false;
    showError(message || "");
    setState("signed-out");
  }

  function fillTable(id, rows) {
    const body = $(id).querySelector("tbody");
    body.replaceChildren();
    for (const cells of rows) {
      const tr = document.createElement("tr");
      for (const cell of cells) {
        const td = document.createElement("td");
        td.textContent = cell === null || cell === undefined ? "–" : cell;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }

  function number(text) {
    return text === null || text === undefined || text === "" ? null : Number(text);
  }

  function draw(id, config) {
    if (charts[id]) {
      charts[id].destroy();
    }
    config.options = Object.assign(
      { animation: false, responsive: true, maintainAspectRatio: false },
      config.options || {}
    );
    charts[id] = new Chart($(id), config);
  }

  function show(overview) {
    // What is shown, for whoever drives the page (and its tests).
    document.body.dataset.asOf = overview.as_of;
    document.body.dataset.currency = overview.currency || "";
    $("tenant").textContent = overview.tenant;
    $("as-of").value = overview.as_of;
    const select = $("currency");
    select.replaceChildren();
    for (const code of overview.currencies) {
      const option = document.createElement("option");
      option.value = code;
      option.textContent = code;
      option.selected = code === overview.currency;
      select.appendChild(option);
    }
    const currency = overview.currency || "";
    const kpis = overview.kpis || {};
    const withCurrency = (amount) => (amount ? `${amount} ${currency}` : "–");
    $("kpi-receivables").textContent = withCurrency(kpis.receivables || overview.aging.total);
    $("kpi-overdue").textContent = withCurrency(kpis.overdue_receivables || overview.aging.overdue);
    $("kpi-dso").textContent = kpis.dso_standard ? `${kpis.dso_standard} days` : "–";
    $("kpi-dso-count-back").textContent = kpis.dso_count_back ? `${kpis.dso_count_back} days` : "–";
    $("kpi-cei").textContent = kpis.cei ? `${kpis.cei} %` : "–";
    const queue = overview.exceptions;
    $("exceptions-total").textContent = String(queue.total);
    $("exceptions-detail").textContent =
      `${queue.unapplied_cash} unapplied cash · ${queue.unidentified_receipts} unidentified · ` +
      `${queue.customers_on_credit_hold} on credit hold · ${queue.held_invoices} held invoices · ` +
      `${queue.open_disputes} open disputes`;

    fillTable("aging-table", overview.aging.labels.map((label, index) => [label, overview.aging.amounts[index]]));
    draw("aging-chart", {
      type: "bar",
      data: {
        labels: overview.aging.labels,
        datasets: [{ label: `Open (${currency})`, data: overview.aging.amounts.map(number), backgroundColor: "#3867d6" }],
      },
      options: { plugins: { legend: { display: false } } },
    });

    const trend = overview.dso_trend;
    fillTable("dso-table", trend.dates.map((date, index) => [date, trend.dso_standard[index], trend.dso_count_back[index]]));
    draw("dso-chart", {
      type: "line",
      data: {
        labels: trend.dates,
        datasets: [
          { label: "Standard", data: trend.dso_standard.map(number), borderColor: "#3867d6", backgroundColor: "#3867d6", spanGaps: true },
          { label: "Count-back", data: trend.dso_count_back.map(number), borderColor: "#fa8231", backgroundColor: "#fa8231", spanGaps: true },
        ],
      },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: "days" } } } },
    });

    const forecast = overview.forecast;
    fillTable("forecast-table", forecast.week_starts.map((week, index) => [week, forecast.amounts[index]]));
    draw("forecast-chart", {
      type: "bar",
      data: {
        labels: forecast.week_starts,
        datasets: [{ label: `Expected (${currency})`, data: forecast.amounts.map(number), backgroundColor: "#20bf6b" }],
      },
      options: { plugins: { legend: { display: false } } },
    });

    fillTable("top-overdue", overview.top_overdue.map((row) => [row.legal_name || row.customer_id, row.overdue, row.total]));
    $("top-overdue-empty").hidden = overview.top_overdue.length > 0;
  }

  async function load() {
    setState("loading");
    const query = new URLSearchParams();
    if ($("as-of").value) {
      query.set("as_of", $("as-of").value);
    }
    if ($("currency").value) {
      query.set("currency", $("currency").value);
    }
    try {
      const overview = await call("GET", `/dashboard/api/overview?${query}`);
      show(overview);
      showError("");
      setState("ready");
    } catch (error) {
      if (error.status === 401) {
        showSignIn(error.message);
        return;
      }
      showError(error.message);
      setState("error");
    }
  }

  async function start() {
    try {
      const session = await call("GET", "/dashboard/session");
      $("subject").textContent = session.subject;
      $("tenant").textContent = session.tenant;
      $("sign-in").hidden = true;
      $("who").hidden = false;
      $("dashboard").hidden = false;
      await load();
    } catch (error) {
      showSignIn(error.status === 401 ? "" : error.message);
    }
  }

  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    setState("signing-in");
    try {
      await call("POST", "/dashboard/session", { token: $("token").value });
      $("token").value = "";
      showError("");
      await start();
    } catch (error) {
      showSignIn(error.message);
    }
  });

  $("sign-out").addEventListener("click", async () => {
    await call("DELETE", "/dashboard/session").catch(() => null);
    for (const id of Object.keys(charts)) {
      charts[id].destroy();
      delete charts[id];
    }
    $("as-of").value = "";
    $("currency").replaceChildren();
    showSignIn("");
  });

  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });

  start();
})();
