// DTMS dashboard: polls the JSON API every 2 s and redraws; no framework, no build step.
// Every value from the server is put in the page with textContent, never as HTML.
"use strict";

const POLL_MS = 2000;
// Trades per page: a server keeps every closed trade for its retention (weeks), and the
// page asks for them every 2 s; open trades come first, then closed ones, newest first.
const PAGE_SIZE = 100;
const TOKEN_KEY = "dtms.token";
const STATES = ["HEALTHY", "WARNING_L1", "WARNING_L2", "HEDGED", "RECOVERING", "CLOSED"];

// For people and for tests: how many polls succeeded, and the last error.
window.dtmsDashboard = { polls: 0, errors: 0, lastError: null };

class AuthError extends Error {}

let timer = null; // one pending poll at most, even when "Save" forces a refresh
let offset = 0; // the first trade of the page shown
let asked = 0; // polls started: an answer to an older one (a page turned since) is dropped

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(refresh, POLL_MS);
}

function authHeaders() {
  const token = localStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: "Bearer " + token } : {};
}

async function getJSON(path) {
  const response = await fetch(path, { headers: authHeaders(), cache: "no-store" });
  if (response.status === 401) throw new AuthError("the API wants a token: enter it above");
  if (!response.ok) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fmtNum(value, digits) {
  return typeof value === "number" ? value.toFixed(digits) : "–";
}

function fmtTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace("T", " ").slice(5, 16) + "Z";
}

function badge(state) {
  return el("span", { class: "badge state-" + state, "data-state": state, text: state });
}

function scoreCell(trade) {
  const td = el("td", { class: "num" });
  const detail = trade.score_detail;
  const lines = [];
  if (detail && detail.subscores) {
    for (const [name, value] of Object.entries(detail.subscores)) {
      const weight = detail.weights && detail.weights[name];
      lines.push(name + " " + fmtNum(value, 2) + (typeof weight === "number" ? " ×" + weight.toFixed(2) : ""));
    }
  } else if (trade.last_reason) {
    lines.push(trade.last_reason);
  }
  if (!lines.length) {
    td.textContent = fmtNum(trade.score, 2);
    return td;
  }
  const list = el("ul", { class: "subscores" }, ...lines.map((line) => el("li", { text: line })));
  td.append(el("details", { title: lines.join("\n") }, el("summary", { text: fmtNum(trade.score, 2) }), list));
  return td;
}

function deadlinesCell(info) {
  if (info && info.closed_at) {
    // a closed trade keeps its outcome: when, why and the realised profit
    const profit = typeof info.realised_profit === "number" ? " · profit " + fmtNum(info.realised_profit, 2) : "";
    return el("td", { class: "small", text: "closed " + fmtTime(info.closed_at) + " (" + (info.close_reason || "?") + ")" + profit });
  }
  const deadlines = (info && info.deadlines) || {};
  const parts = Object.entries(deadlines)
    .filter(([, at]) => at)
    .map(([name, at]) => name + " " + fmtTime(at));
  return el("td", { class: "small", text: parts.length ? parts.join(" · ") : "–" });
}

function lastActionCell(trade) {
  const action = trade.last_action;
  const td = el("td", { class: "small" });
  if (action) {
    const result = action.status || action.code || (action.ok === false ? "failed" : "ok");
    td.append(el("div", { text: (action.kind || action.type || "action") + " · " + result + " · " + fmtTime(action.at) }));
  } else {
    td.append(el("div", { class: "muted", text: "no action yet" }));
  }
  if (trade.last_reason) td.append(el("div", { class: "reason", text: trade.last_reason }));
  return td;
}

function tradeRow(trade) {
  const info = trade.trade_info || {};
  const pnl = trade.pnl_r;
  const stateCell = el("td", null, badge(trade.state));
  if (trade.defensive) stateCell.append(el("span", { class: "defensive-flag", text: "defensive" }));
  return el(
    "tr",
    { "data-ticket": String(trade.ticket), "data-state": trade.state },
    el("td", { text: String(trade.ticket) }),
    el("td", { text: info.symbol || "–" }),
    el("td", { text: info.direction || "–" }),
    el("td", { class: "num", text: fmtNum(info.volume, 2) }),
    el("td", { class: "num " + (pnl > 0 ? "pos" : pnl < 0 ? "neg" : ""), text: fmtNum(pnl, 2) }),
    stateCell,
    scoreCell(trade),
    deadlinesCell(info),
    lastActionCell(trade),
  );
}

function renderTrades(body) {
  // the server's order, open first then newest first: an object's integer keys iterate
  // in ascending order, whatever order the JSON had them in
  const trades = Object.values(body.trades || {}).sort(
    (a, b) => (a.state === "CLOSED") - (b.state === "CLOSED") || b.ticket - a.ticket,
  );
  document.querySelector("#trades tbody").replaceChildren(...trades.map(tradeRow));
  document.getElementById("no-trades").hidden = trades.length > 0;
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  renderPager(typeof body.total === "number" ? body.total : trades.length, trades.length);
}

function renderPager(total, shown) {
  document.getElementById("pager").hidden = total <= PAGE_SIZE;
  document.getElementById("page-range").textContent = shown
    ? (offset + 1) + "–" + (offset + shown) + " of " + total
    : "none of " + total;
  document.getElementById("newer").disabled = offset === 0;
  document.getElementById("older").disabled = offset + PAGE_SIZE >= total;
}

function turnPage(delta) {
  offset = Math.max(0, offset + delta);
  clearTimeout(timer);
  refresh();
}

function renderStatus(status) {
  const counts = status.states || {};
  document.getElementById("counts").replaceChildren(
    ...STATES.map((s) =>
      el("div", { class: "count state-" + s, "data-state": s },
        el("span", { class: "n", text: String(counts[s] || 0) }),
        el("span", { class: "label", text: s })),
    ),
  );
  const engine = status.engine || {};
  const pill = document.getElementById("engine");
  pill.textContent = "engine: " + (engine.healthy ? "healthy" : engine.running ? "running" : "down");
  pill.className = "pill " + (engine.healthy ? "ok" : "bad");
  const mode = status.account_mode || {};
  const account = document.getElementById("account-mode");
  account.textContent = mode.defensive
    ? "account DEFENSIVE until " + fmtTime(mode.until) + (mode.reason ? " (" + mode.reason + ")" : "")
    : "account: normal";
  account.className = "pill " + (mode.defensive ? "defensive" : "ok");
  // what the engine scored without (bars without volume or spread, too little history)
  const note = (status.scoring || {}).note;
  const notice = document.getElementById("scoring");
  notice.hidden = !note;
  notice.textContent = note ? "DTMS " + note : "";
}

function historyRow(entry) {
  let what = entry.kind || entry.type || "?";
  if (entry.type === "state_change") what = entry.from + " → " + entry.to;
  let result = "";
  if ("ok" in entry) result = entry.ok ? "ok" : "failed";
  if (entry.code && entry.code !== result) result += (result ? " · " : "") + entry.code;
  return el(
    "tr",
    { "data-type": entry.type || "action" },
    el("td", { class: "small", text: fmtTime(entry.at) }),
    el("td", { text: entry.ticket === undefined ? "–" : String(entry.ticket) }),
    el("td", null, entry.type === "state_change" ? badge(entry.to) : what),
    el("td", { class: "small", text: result || "–" }),
    el("td", { class: "reason", text: entry.reason || "" }),
  );
}

function renderHistory(body) {
  const newestFirst = (body.actions || []).slice().reverse();
  document.querySelector("#history tbody").replaceChildren(...newestFirst.map(historyRow));
}

function showProblem(message) {
  const box = document.getElementById("problem");
  box.hidden = !message;
  box.textContent = message || "";
}

async function refresh() {
  const mine = ++asked;
  try {
    const [trades, status, history] = await Promise.all([
      getJSON("/dtms/trades?limit=" + PAGE_SIZE + "&offset=" + offset),
      getJSON("/dtms/status"),
      getJSON("/dtms/actions?limit=30"),
    ]);
    if (mine !== asked) return; // a newer poll (another page) answers for the page
    if (offset > 0 && offset >= trades.total) {
      offset = Math.max(0, Math.floor((trades.total - 1) / PAGE_SIZE) * PAGE_SIZE);
      return refresh(); // the trades went (retention): the last page there is
    }
    renderTrades(trades);
    renderStatus(status);
    renderHistory(history);
    showProblem(null);
    window.dtmsDashboard.polls += 1;
  } catch (error) {
    window.dtmsDashboard.errors += 1;
    window.dtmsDashboard.lastError = String(error.message || error);
    showProblem(error instanceof AuthError ? error.message : "cannot reach the DTMS API: " + error.message);
  } finally {
    schedule();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("token");
  input.value = localStorage.getItem(TOKEN_KEY) || "";
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
    clearTimeout(timer);
    refresh();
  });
  document.getElementById("newer").addEventListener("click", () => turnPage(-PAGE_SIZE));
  document.getElementById("older").addEventListener("click", () => turnPage(PAGE_SIZE));
  refresh();
});
