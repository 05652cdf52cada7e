// DTMS dashboard: polls the JSON API every 2 s and redraws; no framework, no build step.
// Every value from the server is put in the page with textContent, never as HTML.
"use strict";

const POLL_MS = 2000;
// A request not answered within this is given up: a frozen server (the kernel accepts the
// connection, nothing answers) otherwise held the poll, and the next one, for ever.
const FETCH_TIMEOUT_MS = 5000;
// Data older than this is marked stale whatever the polls are doing (three polls missed).
const STALE_AFTER_MS = 3 * POLL_MS;
// Trades per page: a server keeps every closed trade for its retention (weeks), and the
// page asks for them every 2 s; open trades come first, then closed ones, newest first.
const PAGE_SIZE = 100;
const TOKEN_KEY = "dtms.token";
const STATES = ["HEALTHY", "WARNING_L1", "WARNING_L2", "HEDGED", "RECOVERING", "CLOSED"];

// For people and for tests: how many polls succeeded, and the last error.
window.dtmsDashboard = { polls: 0, errors: 0, lastError: null, lastGood: null };

class AuthError extends Error {}

let timer = null; // one pending poll at most, even when "Save" forces a refresh
let offset = 0; // the first trade of the page shown
let asked = 0; // polls started: an answer to an older one (a page turned since) is dropped
let accountReason = ""; // why the account is in defensive mode: each row's flag says it
let freshAt = Date.now(); // when the trades and the status were last drawn (or the page opened)
let pollStarted = Date.now(); // when the newest poll began
let pollEnded = 0; // when the last poll's requests were all settled

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(refresh, POLL_MS);
}

function authHeaders() {
  const token = localStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: "Bearer " + token } : {};
}

// What an HTTP status means to the person looking at the page (a 403 is not "unreachable").
function statusMeaning(status) {
  if (status === 403) return "refused (403): this token or this page's origin is not allowed";
  if (status === 404) return "not found (404): is this a DTMS server?";
  if (status === 429) return "rate-limited (429)";
  if (status >= 500) return "server error (" + status + ")";
  return "HTTP " + status;
}

// Each request, its body included, is given up after FETCH_TIMEOUT_MS: the poll then
// fails as for a server gone (markStale) and the next one is scheduled.
async function getJSON(path) {
  const abort = new AbortController();
  const giveUp = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  const noAnswer = () => new Error("no answer from the DTMS API within " + FETCH_TIMEOUT_MS / 1000 + " s");
  try {
    let response;
    try {
      response = await fetch(path, { headers: authHeaders(), cache: "no-store", signal: abort.signal });
    } catch (error) {
      throw abort.signal.aborted ? noAnswer() : new Error("cannot reach the DTMS API (" + error.message + ")");
    }
    if (response.status === 401) throw new AuthError("the API wants a token: enter it above");
    if (!response.ok) throw new Error(path.split("?")[0] + ": " + statusMeaning(response.status));
    try {
      return await response.json();
    } catch (error) {
      throw abort.signal.aborted ? noAnswer() : error;
    }
  } finally {
    clearTimeout(giveUp);
  }
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

// Row times are the engine's (UTC); in a paper or replay run that is the data's time, not
// the wall clock (docs/architecture.md). The year is shown when it is not this one.
function fmtTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const text = d.toISOString().replace("T", " ").slice(0, 16) + "Z";
  return d.getUTCFullYear() === new Date().getUTCFullYear() ? text.slice(5) : text;
}

// Decimals a price carries (at most 8; none known: 0).
function decimalsOf(value) {
  if (typeof value !== "number") return 0;
  const text = String(value);
  return text.includes("e") ? 8 : Math.min(8, (text.split(".")[1] || "").length);
}

function fmtPrice(value, digits) {
  return typeof value === "number" ? value.toFixed(digits) : "–";
}

function badge(state) {
  return el("span", { class: "badge state-" + state, "data-state": state, text: state });
}

function scoreCell(trade) {
  const td = el("td", { class: "num" });
  if (trade.state === "CLOSED") {
    td.append(el("span", { class: "muted", text: "final " + fmtNum(trade.score, 2) }));
    return td;
  }
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
    // the server does not know the account's currency: said as such, not guessed
    const profit = typeof info.realised_profit === "number"
      ? " · profit " + fmtNum(info.realised_profit, 2) + " (account currency)" : "";
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
  const info = trade.trade_info || {};
  const td = el("td", { class: "small" });
  if (action) {
    const result = action.status || action.code || (action.ok === false ? "failed" : "ok");
    td.append(el("div", { text: (action.kind || action.type || "action") + " · " + result + " · " + fmtTime(action.at) }));
    if (action.message) td.append(el("div", { class: "reason", text: action.message }));
  } else if (trade.state === "CLOSED") {
    td.append(el("div", { text: "closed " + fmtTime(info.closed_at) + " (" + (info.close_reason || "?") + ")" }));
  } else {
    td.append(el("div", { class: "muted", text: "no action yet" }));
  }
  if (trade.last_reason) td.append(el("div", { class: "reason", text: trade.last_reason }));
  for (const warning of trade.warnings || []) {
    td.append(el("div", { class: "warning", text: "⚠ " + String(warning) }));
  }
  return td;
}

function tradeRow(trade) {
  const info = trade.trade_info || {};
  const pnl = trade.pnl_r;
  const stateCell = el("td", null, badge(trade.state));
  if (trade.defensive && !["WARNING_L2", "HEDGED"].includes(trade.state)) {
    // defensive only because the whole account is (docs/dtms.md §9)
    stateCell.append(el("span", { class: "defensive-flag", title: accountReason, text: "account defensive mode" }));
  }
  if (info.hedge_ticket) {
    const lots = typeof info.hedge_volume === "number" ? ", " + fmtNum(info.hedge_volume, 2) + " lots" : "";
    stateCell.append(el("div", { class: "small hedge", text: "hedged by #" + info.hedge_ticket + lots }));
  }
  if (trade.state === "CLOSED" && (info.owed || []).includes("close")) {
    // CLOSED is DTMS's decision; the position is open until the close is done (docs/dtms.md §6)
    stateCell.append(el("div", { class: "small warning", text: "close owed · position still open" }));
  }
  // the symbol's digits when the answer has them, else as many as the prices themselves
  // carry (broker prices are at the digits already): never a price rounded off
  const shown = [info.entry_price, info.stop_loss, info.take_profit, info.last_eval_price];
  const digits = typeof info.digits === "number" ? info.digits : Math.max(...shown.map(decimalsOf));
  const prices = el("td", { class: "num small prices" },
    el("div", { text: "entry " + fmtPrice(info.entry_price, digits) }),
    el("div", { text: "SL " + fmtPrice(info.stop_loss, digits) + " · TP " + fmtPrice(info.take_profit, digits) }),
    el("div", { class: "muted", text: "last " + fmtPrice(info.last_eval_price, digits) }));
  return el(
    "tr",
    { "data-ticket": String(trade.ticket), "data-state": trade.state },
    el("td", { text: String(trade.ticket) }),
    el("td", { text: info.symbol || "–" }),
    el("td", { text: info.direction || "–" }),
    el("td", { class: "num", text: fmtNum(info.volume, 2) }),
    prices,
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
  // (docs/architecture.md: open trades newest opened first, then closed newest closed)
  const when = (t) => Date.parse((t.trade_info || {})[t.state === "CLOSED" ? "closed_at" : "opened_at"]) || 0;
  const trades = Object.values(body.trades || {}).sort(
    (a, b) => (a.state === "CLOSED") - (b.state === "CLOSED") || when(b) - when(a) || b.ticket - a.ticket,
  );
  document.querySelector("#trades tbody").replaceChildren(...trades.map(tradeRow));
  document.getElementById("no-trades").hidden = trades.length > 0;
  document.getElementById("updated").textContent =
    "polled " + new Date().toLocaleTimeString([], { timeZoneName: "short" }) + " (this browser's clock)";
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
  // healthy, yet idle where it waits (the account's clock standing, a symbol without
  // bars): nothing is closed, moved or found gone there, so not green (docs/dtms.md)
  const waiting = Array.isArray(engine.waiting) ? engine.waiting.map(String) : [];
  if (engine.healthy && waiting.length) {
    pill.textContent = "engine: waiting — " + waiting[0];
    pill.className = "pill waiting";
  } else {
    pill.textContent = "engine: " + (engine.healthy ? "healthy" : engine.running ? "running" : "down");
    pill.className = "pill " + (engine.healthy ? "ok" : "bad");
  }
  pill.title = waiting.join("\n");
  const waits = document.getElementById("waiting");
  waits.hidden = !waiting.length;
  waits.replaceChildren(...waiting.map((why) => el("div", { text: "DTMS waits: " + why })));
  // the engine's own last check, on its clock (a paper or replay run's data time): a
  // stalled feed shows here, whatever the poll stamp says
  const check = (status.dtms_status || {}).last_check;
  const clock = engine.engine_time ? " · engine clock " + fmtTime(engine.engine_time) : "";
  document.getElementById("last-check").textContent =
    "last check " + (check && check !== "Unknown" ? fmtTime(check) : "not yet") + clock + " (engine time; data time in a paper or replay run)";
  const mode = status.account_mode || {};
  const account = document.getElementById("account-mode");
  accountReason = mode.defensive ? "account defensive mode until " + fmtTime(mode.until) + (mode.reason ? ": " + mode.reason : "") : "";
  account.textContent = mode.defensive
    ? "account defensive mode until " + fmtTime(mode.until) + (mode.reason ? " (" + mode.reason + ")" : "")
    : "account: normal";
  account.title = accountReason;
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
  const said = [entry.reason, entry.message].filter(Boolean);
  if (entry.params && Object.keys(entry.params).length) said.push(JSON.stringify(entry.params));
  return el(
    "tr",
    { "data-type": entry.type || "action" },
    el("td", { class: "small", text: fmtTime(entry.at) }),
    el("td", { text: entry.ticket === undefined ? "–" : String(entry.ticket) }),
    el("td", null, entry.type === "state_change" ? badge(entry.to) : what),
    el("td", { class: "small", text: result || "–" }),
    el("td", { class: "reason", text: said.join(" · ") }),
  );
}

function renderHistory(body) {
  const newestFirst = (body.actions || []).slice().reverse();
  document.querySelector("#history tbody").replaceChildren(...newestFirst.map(historyRow));
  document.getElementById("no-actions").hidden = newestFirst.length > 0;
}

function showProblem(message) {
  const box = document.getElementById("problem");
  box.hidden = !message;
  box.textContent = message || "";
}

// After a failed poll the last good data stays, dimmed and dated, and the engine badge
// says it is unknown: a page that looks live while the server is gone misleads.
function markStale(message) {
  const good = window.dtmsDashboard.lastGood;
  document.body.classList.add("stale");
  const pill = document.getElementById("engine");
  pill.textContent = "engine: unknown (no answer)";
  pill.className = "pill stale";
  pill.title = "";
  document.getElementById("updated").textContent = good
    ? "last good data at " + good.toLocaleTimeString([], { timeZoneName: "short" })
    : "no data yet";
  showProblem(message);
}

// However the polls fare (a request the browser keeps waiting on, a poll that never
// ends), data older than STALE_AFTER_MS is marked stale, and a poll that has run for
// longer than its requests may is replaced by a new one.
function watch() {
  const now = Date.now();
  // a poll still within its requests' time is no silence: a server answering in 4 s of
  // the 5 allowed kept the data older than STALE_AFTER_MS between two answers
  const waiting = pollStarted > pollEnded && now - pollStarted < FETCH_TIMEOUT_MS;
  if (now - freshAt > STALE_AFTER_MS && !waiting && !document.body.classList.contains("stale")) {
    markStale("no answer from the DTMS API for " + Math.round((now - freshAt) / 1000) + " s");
  }
  if (now - pollStarted > FETCH_TIMEOUT_MS + 2 * POLL_MS) {
    clearTimeout(timer);
    refresh();
  }
}

async function refresh() {
  const mine = ++asked;
  pollStarted = Date.now();
  try {
    // each its own request: one failing route does not blank the others
    const [trades, status, history] = await Promise.allSettled([
      getJSON("/dtms/trades?journal=0&limit=" + PAGE_SIZE + "&offset=" + offset),
      getJSON("/dtms/status"),
      getJSON("/dtms/actions?limit=30"),
    ]);
    if (mine !== asked) return; // a newer poll (another page) answers for the page
    if (trades.status === "fulfilled" && offset > 0 && offset >= trades.value.total) {
      offset = Math.max(0, Math.floor((trades.value.total - 1) / PAGE_SIZE) * PAGE_SIZE);
      return refresh(); // the trades went (retention): the last page there is
    }
    if (trades.status === "fulfilled") renderTrades(trades.value);
    if (status.status === "fulfilled") renderStatus(status.value);
    if (history.status === "fulfilled") renderHistory(history.value);
    if (trades.status === "fulfilled" && status.status === "fulfilled") freshAt = Date.now();
    const failed = [trades, status, history].filter((r) => r.status === "rejected").map((r) => r.reason);
    if (!failed.length) {
      document.body.classList.remove("stale");
      window.dtmsDashboard.lastGood = new Date();
      showProblem(null);
      window.dtmsDashboard.polls += 1;
      return;
    }
    window.dtmsDashboard.errors += 1;
    // three requests given up say it once
    window.dtmsDashboard.lastError = [...new Set(failed.map((e) => String(e.message || e)))].join("; ");
    const auth = failed.find((e) => e instanceof AuthError);
    if (auth) showProblem(auth.message);
    if (failed.length === 3 || trades.status === "rejected" || status.status === "rejected") {
      markStale(auth ? auth.message : window.dtmsDashboard.lastError);
    } else {
      showProblem(window.dtmsDashboard.lastError);
    }
  } finally {
    pollEnded = Date.now();
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
  setInterval(watch, 1000);
});
