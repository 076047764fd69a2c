// Supervisor wallboard: /ws/supervisor pushes a complete view of the supervisor's queues
// whenever something moves; timers tick here between pushes. Rows are keyed and updated
// in place, so keyboard focus on a button survives the updates. textContent only.
"use strict";
(function () {
  const { t, el, api, num, percent, duration, datetime, lang } = Hotline;
  const $ = (id) => document.getElementById(id);
  const supData = JSON.parse($("sup-data").textContent);
  const spy = supData.spy;
  const spyPhone = supData.phone || "";
  const monitoring = {};  // agent id -> "listen" | "whisper" | "barge", until the agent's call ends
  let view = null;
  let skew = 0;  // local clock minus server clock, seconds
  const serverNow = () => Date.now() / 1000 - skew;
  const title = (q) => (lang === "zh-CN" ? q.title_zh : q.title_en) || q.name;

  // ------------------------------------------------------------------ queues
  function tile(label, key) {
    return el("div", { class: "tile" }, el("span", { class: "label", text: label }), el("strong", { class: "value", "data-k": key }));
  }

  function queueCard(q) {
    let card = document.querySelector('.queue[data-queue="' + CSS.escape(q.name) + '"]');
    if (!card) {
      card = el("article", { class: "card queue", "data-queue": q.name, "aria-labelledby": "q-" + q.name },
        el("h3", { id: "q-" + q.name }),
        el("div", { class: "tiles" },
          tile(t("q.waiting"), "waiting"), tile(t("q.longest"), "longest"), tile(t("q.sl"), "sl"),
          tile(t("q.asa"), "asa"), tile(t("q.aht"), "aht"), tile(t("q.abandon"), "abandon"), tile(t("q.erlang"), "erlang")),
        el("p", { class: "small", "data-k": "sl_asterisk" }),
        el("p", { class: "small erlang-basis", "data-k": "erlang_basis" }),
        el("p", { class: "states", "data-k": "states" }),
        el("p", { class: "small", "data-k": "counts" }));
      $("queues").append(card);
    }
    return card;
  }

  function renderQueue(q) {
    const card = queueCard(q);
    const set = (key, text) => { card.querySelector('[data-k="' + key + '"]').textContent = text; };
    card.querySelector("h3").textContent = title(q);
    set("waiting", num(q.waiting));
    set("sl", percent(q.service_level) + " / " + percent(q.sl_target));
    set("asa", duration(q.asa_s));
    set("aht", duration(q.aht_s));
    set("sl_asterisk", t("q.sl_asterisk", { sl: percent(q.service_level_asterisk), sl2: percent(q.service_level_asterisk_sl2) }));
    set("abandon", percent(q.abandon_rate));
    const e = q.erlang || {};
    set("erlang", e.needed_now != null ? t("q.erlang_value", { need: e.needed_now, have: q.staffed }) : "—");
    const minutes = Math.round((e.window_s || 0) / 60), measured = Math.round((e.measured_s || 0) / 60);
    const basis = e.forecast
      ? t("q.erlang_forecast", { agents: e.forecast.agents, rate: num(e.forecast.arrivals_per_hour), aht: duration(e.forecast.aht_s),
        sl: percent(e.staffed_service_level), have: q.staffed })
      : t("q.erlang_no_forecast");
    set("erlang_basis", basis + " " + (measured && measured < minutes ? t("q.erlang_window_short", { minutes, measured }) : t("q.erlang_window", { minutes })));
    card.classList.toggle("understaffed", e.needed_now != null && e.needed_now > q.staffed);
    const states = Object.entries(q.agents_by_state).filter(([, n]) => n > 0)
      .map(([s, n]) => t("state." + s) + " " + num(n));
    set("states", t("q.agents_by_state") + ": " + (states.join(" · ") || "—"));
    set("counts", t("q.counts", { offered: num(q.offered), answered: num(q.answered), abandoned: num(q.abandoned), sl: num(q.sl_threshold_s) }));
    card.classList.toggle("alarm", q.service_level != null && q.service_level < q.sl_target);
  }

  // ------------------------------------------------------------------ agents
  function agentRow(a) {
    let row = document.querySelector('#agents tr[data-agent="' + CSS.escape(a.id) + '"]');
    if (!row) {
      const actions = el("td", { class: "actions" });
      const button = (action, label, enabled) => el("button", {
        type: "button", class: "small secondary", "data-action": action, text: label, disabled: !enabled,
        "aria-label": label + " " + a.name, "aria-describedby": enabled ? null : (action.startsWith("spy") ? "spy-why" : null),
      });
      actions.append(el("span", { class: "monitor small", role: "status" }),
        button("pause", t("a.force_pause"), true), button("ready", t("a.ready"), true),
        button("logout", t("a.force_logout"), true),
        button("spy-listen", t("a.listen"), spy), button("spy-whisper", t("a.whisper"), spy), button("spy-barge", t("a.barge"), spy));
      row = el("tr", { "data-agent": a.id },
        el("th", { scope: "row", text: a.name + " (" + a.id + ")" }),
        el("td", { class: "state" }), el("td", { class: "since" }), el("td", { class: "caller" }), el("td", { class: "agent-queue" }),
        el("td", { class: "calls" }), el("td", { class: "aht" }),
        actions);
      row.addEventListener("click", (e) => {
        const b = e.target.closest("button[data-action]");
        if (b) order(a.id, b.dataset.action);
      });
      $("agents").append(row);
    }
    return row;
  }

  function renderAgent(a) {
    const row = agentRow(a);
    row.dataset.state = a.state;
    row.dataset.since = a.since;
    row.querySelector(".state").textContent = t("state." + a.state) + (a.state === "paused" && a.reason ? " (" + t("reason." + a.reason, null, a.reason) + ")" : "")
      + (a.state === "available" && a.phone_busy ? " (" + t("state.phone_busy") + ")" : "")
      + (a.state === "wrap_up" && a.wrapup_overdue ? " (" + t("state.wrapup_overdue") + ")" : "");
    row.dataset.overdue = a.state === "wrap_up" && a.wrapup_overdue ? "true" : "false";
    row.dataset.phoneBusy = a.state === "available" && a.phone_busy ? "true" : "false";
    row.querySelector(".caller").textContent = a.caller ? who(a.caller) : "—";
    row.querySelector(".agent-queue").textContent = a.caller && a.caller.queue ? queueTitle(a.caller.queue) : "—";
    if (a.pending_pause) row.querySelector(".state").textContent += " · " + t("a.pause_after");
    row.querySelector(".calls").textContent = num(a.calls);
    row.querySelector(".aht").textContent = duration(a.aht_s);
    const talking = a.state === "on_call" && !!a.call_id;  // connected: there is a conversation to hear
    for (const b of row.querySelectorAll('button[data-action^="spy"]')) b.disabled = !(spy && talking);
    if (!talking && monitoring[a.id]) { delete monitoring[a.id]; }
    row.querySelector(".monitor").textContent = monitoring[a.id] ? t("spy.active_" + monitoring[a.id], { phone: spyPhone }) : "";
    row.querySelector('[data-action="pause"]').disabled = a.state === "paused" || a.state === "logged_out" || !!a.pending_pause;
    row.querySelector('[data-action="ready"]').disabled = a.state !== "paused" && a.state !== "wrap_up";
    row.querySelector('[data-action="logout"]').disabled = a.state === "logged_out";
  }

  const busy = new Set();  // one request per click: a second click waits for the first
  async function order(agentId, action) {
    const key = agentId + ":" + action;
    if (busy.has(key)) return;
    busy.add(key);
    const base = "/api/supervisor/agents/" + encodeURIComponent(agentId);
    const agent = view && view.agents.find((a) => a.id === agentId);
    try {
      if (action.startsWith("spy-")) {
        await api("POST", base + "/supervise", { mode: action.slice(4) });
        monitoring[agentId] = action.slice(4);
        $("action-status").textContent = t("spy.started_" + action.slice(4), { agent: agentId, phone: spyPhone });
      } else {
        await api("POST", base + "/" + action, action === "pause" ? { reason: "supervisor" } : undefined);
        const deferred = action === "pause" && agent && agent.state === "on_call";
        $("action-status").textContent = t(deferred ? "a.pause_deferred" : "a.done", { agent: agentId });
      }
      if (agent) renderAgent(agent);
    } catch (err) {
      $("action-status").textContent = t("a.refused", { agent: agentId, why: Hotline.problem(err) });
    } finally {
      busy.delete(key);
    }
  }

  // ------------------------------------------------------------------ waiting callers
  const queueTitle = (name) => { const q = view && view.queues.find((x) => x.name === name); return q ? title(q) : name; };
  function who(caller) {
    const name = caller.customer || caller.name;
    return name ? name + (caller.number ? " · " + caller.number : "") : (caller.number || t("w.unknown"));
  }
  function renderWaiting(next) {
    const rows = [];
    const calls = [];
    for (const q of next.queues) for (const c of q.waiting_calls || []) calls.push([q, c]);
    calls.sort((x, y) => y[1].waited_s - x[1].waited_s);
    for (const [q, c] of calls) {
      const caller = c.caller || {};
      rows.push(el("tr", { "data-call": c.call_id, "data-waited": c.waited_s, "data-at": next.at },
        el("td", { text: num(c.position) }), el("td", { text: title(q) }),
        el("td", { class: "wrap", text: who(caller) + (c.callback ? " (" + t("w.callback") + ")" : "") }),
        el("td", { text: caller.tier || c.tier ? t("tier." + (caller.tier || c.tier), null, caller.tier || c.tier) : "—" }),
        el("td", { class: "waited", text: duration(c.waited_s) }),
        el("td", { text: (c.ringing || []).map((r) => r.name).join(", ") || "—" })));
    }
    $("waiting").replaceChildren(...rows);
    $("waiting-none").hidden = rows.length > 0;
  }

  // ------------------------------------------------------------------ alerts
  function renderAlerts(alerts) {
    $("alerts").replaceChildren(...(alerts.length ? alerts.map((a) => el("li", { "data-ticket": a.ticket_id, class: "alert-" + a.kind },
      el("span", { class: "badge", text: t("alert." + a.kind) }), " ",
      el("strong", { text: "#" + a.ticket_id + " " + (a.subject || "—") }),
      " · " + t("tstate." + a.state) + (a.queue ? " · " + a.queue : "") + (a.owner ? " · " + a.owner : "") + (a.reason ? " · " + a.reason : "")))
      : [el("li", { text: t("alert.none") })]));
  }

  // ------------------------------------------------------------------ incidents (mass faults)
  function renderIncidents(incidents) {
    const words = (map) => map[lang] || map[lang.startsWith("en") ? "en" : "zh-CN"] || "";
    $("incidents").tBodies[0].replaceChildren(...incidents.map((i) => el("tr", { "data-incident": i.id },
      el("th", { scope: "row" }, el("a", { href: "/incidents/" + i.id, text: "#" + i.id })),
      el("td", { text: words(i.description) + (i.area ? " · " + i.area : "") + (i.group ? " · " + i.group : "") }),
      el("td", { text: i.expected_at ? datetime(i.expected_at) : "—" }),
      el("td", { class: "num calls", text: num(i.calls) }),
      el("td", { class: "num", text: num(i.tickets) }))));
    $("incidents-none").hidden = incidents.length > 0;
  }

  // ------------------------------------------------------------------ updates
  function render(next) {
    view = next;
    skew = Date.now() / 1000 - next.at;
    const names = new Set(next.queues.map((q) => q.name));
    for (const card of document.querySelectorAll(".queue")) if (!names.has(card.dataset.queue)) card.remove();
    next.queues.forEach(renderQueue);
    const ids = new Set(next.agents.map((a) => a.id));
    for (const row of document.querySelectorAll("#agents tr")) if (!ids.has(row.dataset.agent)) row.remove();
    next.agents.forEach(renderAgent);
    renderWaiting(next);
    renderAlerts(next.alerts || []);
    renderIncidents(next.incidents || []);
    chartsMaybeStale(next);
    tick();
  }

  function tick() {
    if (!view) return;
    const now = serverNow();
    for (const q of view.queues) {
      const card = queueCard(q);
      const longest = q.waiting ? q.longest_wait_s + (now - view.at) : 0;
      card.querySelector('[data-k="longest"]').textContent = duration(longest);
    }
    for (const row of document.querySelectorAll("#waiting tr[data-waited]")) {
      row.querySelector(".waited").textContent = duration(Number(row.dataset.waited) + (now - Number(row.dataset.at)));
    }
    for (const row of document.querySelectorAll("#agents tr[data-since]")) {
      const since = Number(row.dataset.since);
      row.querySelector(".since").textContent = since > 0 ? duration(now - since) : "—";
    }
  }
  setInterval(tick, 1000);

  function handle(msg) {
    if (msg.type === "hello" || msg.type === "wallboard") render(msg);
    else if (msg.type === "state" && view) {
      const agent = view.agents.find((a) => a.id === msg.agent);
      if (agent) { agent.state = msg.state; agent.since = msg.since; agent.reason = msg.reason; agent.wrapup_overdue = false; renderAgent(agent); tick(); }
    }
  }

  // Charts are drawn by the server; refreshed as SVG documents (parsed, never run as HTML).
  async function refreshChart(id, url) {
    try {
      const reply = await fetch(url, { credentials: "same-origin" });
      if (!reply.ok) return;
      const doc = new DOMParser().parseFromString(await reply.text(), "image/svg+xml");
      const svg = doc.documentElement;
      if (svg.nodeName !== "svg") return;
      const old = document.getElementById(id);
      if (old) old.replaceWith(document.importNode(svg, true));
    } catch (e) { /* the next refresh tries again */ }
  }
  // Redrawn every 30 s, and soon after the day's counts or the waiting line move.
  let chartKey = "";
  let chartTimer = null;
  function refreshCharts() {
    chartTimer = null;
    refreshChart("chart-calls", "/api/supervisor/charts/calls.svg");
    refreshChart("chart-waiting", "/api/supervisor/charts/waiting.svg");
  }
  function chartsMaybeStale(next) {
    const key = next.queues.map((q) => q.offered + ":" + q.answered + ":" + q.waiting).join(",");
    if (key !== chartKey && chartKey && !chartTimer) chartTimer = setTimeout(refreshCharts, 1000);
    chartKey = key;
  }
  setInterval(refreshCharts, 30000);

  Hotline.live("/ws/supervisor", handle, $("link"));
})();
