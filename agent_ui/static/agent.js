// Agent console: one websocket carries this agent's pops and state; REST calls do the rest.
// Everything from the server is written with textContent (never innerHTML).
"use strict";
(function () {
  const { t, el, api, num, duration, time, datetime } = Hotline;
  const $ = (id) => document.getElementById(id);
  const queueTitles = JSON.parse($("console-data").textContent).queues;
  let state = "logged_out";
  let since = null;          // server epoch seconds of the current state
  let skew = 0;              // local clock minus server clock, seconds
  let pop = null;            // the pop of the call in progress (or just ended)
  let ticket = null;         // the ticket behind the pop, as the tickets API returned it

  function log(text) {
    $("log").prepend(el("li", { text: time(Date.now()) + "  " + text }));
    while ($("log").children.length > 50) $("log").lastChild.remove();
  }

  // ------------------------------------------------------------------ state and timer
  function setState(next, reason, at) {
    state = next;
    if (at != null) since = at;
    $("state").textContent = t("state." + next);
    $("state").dataset.state = next;
    $("state-reason").textContent = reason && next === "paused" ? "(" + t("reason." + reason, null, reason) + ")" : "";
    const out = next === "logged_out";
    $("queue-login").hidden = !out;
    $("queue-logout").hidden = out;
    $("ready").disabled = out || next === "available" || next === "on_call" || next === "reserved";
    $("pause").disabled = out || next === "on_call" || next === "reserved";
    tick();
  }
  function tick() {
    $("since").textContent = !since ? "—" : duration(Date.now() / 1000 - skew - since);
  }
  setInterval(tick, 1000);

  // ------------------------------------------------------------------ the pop
  function customerCard(c) {
    const card = el("article", { class: "customer", "data-customer-id": c.id });
    card.append(
      el("h3", {}, el("span", { class: "customer-name", text: c.name }), " ",
        el("span", { class: "badge tier-" + c.tier, text: t("tier." + c.tier) })),
      el("p", { class: "meta", text: [c.company, (c.phones || []).join(", ")].filter(Boolean).join(" · ") }),
    );
    const facts = el("dl", { class: "facts" });
    const fact = (label, value) => facts.append(el("dt", { text: label }), el("dd", { text: value }));
    fact(t("customer.open_tickets"), num(c.open_tickets));
    fact(t("customer.last_call"), datetime(c.last_call_at));
    if (c.address) fact(t("customer.address"), c.address);
    card.append(facts);
    if (c.notes) card.append(el("p", { class: "notes", text: c.notes }));
    if (c.recent_tickets && c.recent_tickets.length) {
      const list = el("ul", { class: "plain small", "aria-label": t("customer.recent_tickets") });
      for (const r of c.recent_tickets) {
        list.append(el("li", { text: "#" + r.id + " " + (r.subject || "—") + " · " + t("tstate." + r.state) + " · " + datetime(r.created_at) }));
      }
      card.append(el("h4", { text: t("customer.recent_tickets") }), list);
    }
    card.append(el("h4", { text: t("customer.last_calls") }), el("ul", { class: "plain small last-calls" }));
    return card;
  }

  function showPop(next, announce) {
    const samecall = pop && pop.call_id === next.call_id;
    pop = next;
    $("pop").hidden = $("controls").hidden = $("ticket").hidden = $("wrapup").hidden = false;
    $("pop").dataset.callId = next.call_id;
    const name = next.caller_name && next.caller_name !== "<unknown>" ? next.caller_name + " " : "";
    $("pop-caller").textContent = name + (next.caller || "");
    $("pop-queue").textContent = queueTitles[next.queue] || next.queue || "";
    if (!samecall) setCallStatus(next.status || "ringing");
    const box = $("pop-customers");
    box.replaceChildren(...(next.customers || []).map(customerCard));
    const customers = next.customers || [];
    const chosen = next.chosen_customer_id;
    $("pick-form").hidden = !(customers.length > 1 && !chosen);
    $("pick-options").replaceChildren(...customers.map((c, i) => el("div", {},
      el("input", { type: "radio", name: "customer", id: "pick-" + c.id, value: c.id, checked: i === 0 }),
      el("label", { for: "pick-" + c.id, text: c.name + (c.company ? " · " + c.company : "") }))));
    $("new-customer").hidden = customers.length > 0;
    if (!customers.length && !samecall) $("nc-name").value = next.caller_name && next.caller_name !== "<unknown>" ? next.caller_name : "";
    if (announce) {
      $("pop-announce").textContent = t("pop.announce", { caller: $("pop-caller").textContent });
      log(t("log.pop", { caller: next.caller || "?" }));
    }
    loadLastCalls(next.call_id);
    loadTicket(next);
    if (!samecall) { $("wrapup-form").reset(); $("wrapup-status").textContent = ""; }
  }

  function setCallStatus(event) {
    $("pop-status").textContent = t("callstate." + event);
    $("pop").dataset.status = event;
  }

  function clearPop() {
    pop = null; ticket = null;
    $("pop").hidden = $("controls").hidden = $("ticket").hidden = $("wrapup").hidden = true;
    delete $("pop").dataset.callId;
  }

  async function loadLastCalls(callId) {
    try {
      const history = await api("GET", "/api/console/calls/" + encodeURIComponent(callId) + "/history");
      for (const card of $("pop-customers").querySelectorAll(".customer")) {
        const calls = history[card.dataset.customerId] || [];
        card.querySelector(".last-calls").replaceChildren(...(calls.length ? calls.map((c) =>
          el("li", { text: datetime(c.offered_at) + " · " + t("outcome." + (c.outcome || "running")) + (c.agent_id ? " · " + c.agent_id : "") }))
          : [el("li", { text: t("customer.no_calls") })]));
      }
    } catch (e) { log(t("log.error", { message: e.message })); }
  }

  // ------------------------------------------------------------------ ticket from the pop
  async function loadTicket(p) {
    if (p.ticket_id == null) return;
    if (ticket && ticket.id === p.ticket_id) return;
    $("ticket-no").textContent = "#" + p.ticket_id;
    $("ticket-suggestion").textContent = t(p.ticket_is_new ? "ticket.suggest_new" : "ticket.suggest_update", { id: p.ticket_id });
    try {
      ticket = await api("GET", "/api/tickets/" + p.ticket_id);
      $("t-subject").value = ticket.subject || "";
      $("t-category").value = ticket.category || "general";
      $("t-priority").value = ticket.priority || "normal";
      $("t-description").value = ticket.description || "";
      $("ticket-status").textContent = t("ticket.state_is", { state: t("tstate." + ticket.state) });
    } catch (e) { $("ticket-status").textContent = t("log.error", { message: e.message }); }
  }

  const TICKET_FIELDS = ["subject", "category", "priority", "description"];
  const formFields = () => ({
    subject: $("t-subject").value, category: $("t-category").value,
    priority: $("t-priority").value, description: $("t-description").value,
  });
  const sameFields = (a, b) => TICKET_FIELDS.every((f) => (a[f] || "") === (b[f] || ""));

  // Optimistic concurrency: the write names the version the agent loaded. The desk itself
  // bumps the version as the call goes on (answered, agent recorded), so on a conflict the
  // ticket is read again: if nobody touched the fields on this form, the edit is applied to
  // the new version; if someone did, the agent is told and nothing is overwritten.
  async function saveTicket(edit, retried) {
    try {
      ticket = await api("PATCH", "/api/tickets/" + ticket.id, { version: ticket.version, ...edit });
      $("ticket-status").textContent = t("ticket.saved", { id: ticket.id });
      log(t("ticket.saved", { id: ticket.id }));
    } catch (err) {
      if (err.errorId !== "version_conflict" || retried) {
        $("ticket-status").textContent = err.errorId === "version_conflict" ? t("ticket.conflict") : t("log.error", { message: err.message });
        return;
      }
      const fresh = await api("GET", "/api/tickets/" + ticket.id);
      if (!sameFields(fresh, ticket)) { ticket = fresh; $("ticket-status").textContent = t("ticket.conflict"); return; }
      ticket = fresh;
      await saveTicket(edit, true);
    }
  }

  $("ticket-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (ticket) await saveTicket(formFields(), false);
  });

  $("ticket-new").addEventListener("click", async () => {
    if (!pop) return;
    try {
      const context = await api("POST", "/api/console/calls/" + encodeURIComponent(pop.call_id) + "/ticket");
      ticket = null;
      showPop({ ...pop, ticket_id: context.ticket_id, ticket_is_new: true, context }, false);
    } catch (err) { $("ticket-status").textContent = t("log.error", { message: err.message }); }
  });

  // ------------------------------------------------------------------ customer picker / new customer
  $("pick-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const chosen = document.querySelector("#pick-options input:checked");
    if (!pop || !chosen) return;
    try {
      await api("POST", "/api/console/calls/" + encodeURIComponent(pop.call_id) + "/customer", { customer_id: Number(chosen.value) });
    } catch (err) { log(t("log.error", { message: err.message })); }
  });

  $("new-customer").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!pop) return;
    try {
      await api("POST", "/api/console/calls/" + encodeURIComponent(pop.call_id) + "/new-customer", {
        name: $("nc-name").value, company: $("nc-company").value, tier: $("nc-tier").value, notes: $("nc-notes").value,
      });
    } catch (err) { log(t("log.error", { message: err.message })); }
  });

  // ------------------------------------------------------------------ call controls
  async function control(action, target) {
    if (!pop) return;
    try {
      await api("POST", "/api/console/calls/" + encodeURIComponent(pop.call_id) + "/control/" + action, { target: target || null });
      log(t("call." + action));
    } catch (err) { log(t("log.error", { message: err.message })); }
  }
  for (const button of document.querySelectorAll("#controls .buttons > button[data-action]")) {
    button.addEventListener("click", () => control(button.dataset.action));
  }
  $("transfer-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const action = e.submitter ? e.submitter.dataset.action : "transfer_blind";
    control(action, $("transfer-to").value);
  });

  // ------------------------------------------------------------------ wrap-up
  $("wrapup-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!pop) return;
    try {
      await api("POST", "/api/console/calls/" + encodeURIComponent(pop.call_id) + "/wrapup", {
        code: $("w-code").value, notes: $("w-notes").value,
      });
      log(t("wrap.done"));
      clearPop();
      $("wrapup-status").textContent = t("wrap.done");
      loadRecent();
    } catch (err) { $("wrapup-status").textContent = t("log.error", { message: err.message }); }
  });

  // ------------------------------------------------------------------ follow-ups and recent calls
  async function loadFollowups() {
    try {
      const items = await api("GET", "/api/console/followups");
      $("followups").replaceChildren(...(items.length ? items.map((f) => el("li", {},
        el("strong", { text: "#" + f.ticket_id + " " + (f.subject || "") }), " · ",
        el("span", { text: t("fu.due", { when: datetime(f.due_at) }) })))
        : [el("li", { text: t("fu.none") })]));
    } catch (e) { log(t("log.error", { message: e.message })); }
  }

  async function loadRecent() {
    try {
      const calls = await api("GET", "/api/console/calls");
      $("recent").replaceChildren(...(calls.length ? calls.map((c) => el("tr", { "data-call-id": c.call_id },
        el("td", { text: datetime(c.offered_at) }),
        el("td", { text: [c.caller_name && c.caller_name !== "<unknown>" ? c.caller_name : "", c.caller || ""].filter(Boolean).join(" ") }),
        el("td", { text: queueTitles[c.queue] || c.queue || "" }),
        el("td", { text: t("outcome." + (c.outcome || "running")) }),
        el("td", { text: duration(c.talk_s) }),
        el("td", {}, c.recording_url
          ? el("audio", { controls: true, preload: "none", src: c.recording_url, "aria-label": t("recent.play", { caller: c.caller || "" }) })
          : el("span", { class: "hint", text: t("recent.no_recording") })))) 
        : [el("tr", {}, el("td", { colSpan: 6, text: t("recent.none") }))]));
    } catch (e) { log(t("log.error", { message: e.message })); }
  }

  // ------------------------------------------------------------------ the websocket
  function handle(msg) {
    switch (msg.type) {
      case "hello":
        skew = Date.now() / 1000 - msg.now;
        setState(msg.state, msg.reason, msg.since);
        if (msg.pop) showPop(msg.pop, false);
        break;
      case "state":
        setState(msg.state, msg.reason, msg.since);
        log(t("log.state", { state: t("state." + msg.state) }));
        break;
      case "pop":
        showPop(msg, !(pop && pop.call_id === msg.call_id));
        break;
      case "call":
        if (pop && pop.call_id === msg.call_id) {
          if (msg.event === "ring_no_answer") clearPop(); else setCallStatus(msg.event);
        }
        log(t("log.call", { event: t("callstate." + msg.event) }));
        if (msg.event === "hung_up") loadRecent();
        break;
      case "error":
        log(t("log.error", { message: msg.message }));
        break;
    }
  }

  const socket = Hotline.live("/ws/agent", handle, $("link"));
  $("ready").addEventListener("click", () => socket.send({ type: "ready" }));
  $("pause").addEventListener("click", () => socket.send({ type: "pause", reason: $("pause-reason").value }));
  $("queue-logout").addEventListener("click", () => socket.send({ type: "logout" }));
  $("queue-login").addEventListener("click", () => socket.send({ type: "login" }));
  loadFollowups();
  loadRecent();
  setInterval(loadFollowups, 60000);
})();
