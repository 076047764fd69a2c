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
    if (next !== "on_call" && next !== "wrap_up") setPendingPause(null);  // it took effect, or there is no call
    const out = next === "logged_out";
    $("queue-login").hidden = !out;
    $("queue-logout").hidden = out;
    $("ready").disabled = out || next === "available" || next === "on_call" || next === "reserved";
    $("pause").disabled = out || next === "on_call" || next === "reserved";
    tick();
  }
  // A pause asked while the agent talks (by a supervisor): it takes effect after the call and wrap-up.
  function setPendingPause(reason) {
    $("pending-pause").hidden = !reason;
    $("pending-pause").textContent = reason ? "· " + t("state.pause_after", { reason: t("reason." + reason, null, reason) }) : "";
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

  // A caller of a known incident (mass fault): the agent sees it is known, and until when.
  function showIncident(incident) {
    const box = $("pop-incident");
    box.hidden = !incident;
    if (!incident) return;
    const words = (map) => (map && (map[Hotline.lang] || map[Hotline.lang.startsWith("en") ? "en" : "zh-CN"])) || "";
    const expected = words(incident.expected);
    box.textContent = t(expected ? "pop.incident" : "pop.incident_no_time",
      { id: incident.id, description: words(incident.description), expected });
  }

  function showPop(next, announce) {
    const samecall = pop && pop.call_id === next.call_id;
    pop = next;
    if (!samecall) recordingPaused = false;
    $("pop").hidden = $("controls").hidden = $("ticket").hidden = false;
    $("pop").dataset.callId = next.call_id;
    const name = next.caller_name && next.caller_name !== "<unknown>" ? next.caller_name + " " : "";
    $("pop-caller").textContent = name + (next.caller || "");
    $("pop-queue").textContent = queueTitles[next.queue] || next.queue || "";
    if (!samecall) setCallStatus(next.answered_while_reconnecting ? "answered_while_reconnecting" : next.status || "ringing");
    else if (!next.status) next.status = $("pop").dataset.status;
    showIncident((next.context && next.context.incident) || null);
    const box = $("pop-customers");
    box.replaceChildren(...(next.customers || []).map(customerCard));
    const customers = next.customers || [];
    const chosen = next.chosen_customer_id;
    $("pick-form").hidden = !(customers.length > 1 && !chosen);
    $("pick-options").replaceChildren(...customers.map((c, i) => el("div", {},
      el("input", { type: "radio", name: "customer", id: "pick-" + c.id, value: c.id, checked: i === 0 }),
      el("label", { for: "pick-" + c.id, text: c.name + (c.company ? " · " + c.company : "") }))));
    $("new-customer").hidden = customers.length > 0;
    if (!customers.length && !samecall) {  // prefilled from the PBX's name, cut to what a customer name holds
      $("nc-name").value = next.caller_name && next.caller_name !== "<unknown>" ? next.caller_name.slice(0, 200) : "";
    }
    if (announce) {
      $("pop-announce").textContent = t("pop.announce", { caller: $("pop-caller").textContent });
      if ((next.status || "ringing") === "ringing") ringAlert($("pop-caller").textContent);
      log(t("log.pop", { caller: next.caller || "?" }));
    }
    loadLastCalls(next.call_id);
    loadTicket(next);
    loadArticles(next.call_id, (next.context && next.context.category) || "");
    if (!samecall) { $("wrapup-form").reset(); $("wrapup-status").textContent = ""; restoreDraft(next.call_id); }
  }

  // What the agent types in wrap-up is kept per call (a reload, a reconnect, a late pop of the
  // same call never wipes it) until "Done" saved it.
  const DRAFT = "hotline.wrapup.";
  function saveDraft() {
    if (!pop) return;
    try {
      sessionStorage.setItem(DRAFT + pop.call_id, JSON.stringify({ code: $("w-code").value, notes: $("w-notes").value }));
    } catch (err) { /* storage full or disabled: the form still holds the text */ }
  }
  function restoreDraft(callId) {
    let draft = null;
    try { draft = JSON.parse(sessionStorage.getItem(DRAFT + callId) || "null"); } catch (err) { draft = null; }
    if (!draft) return;
    if (draft.code) $("w-code").value = draft.code;
    $("w-notes").value = draft.notes || "";
  }
  $("w-notes").addEventListener("input", saveDraft);
  $("w-code").addEventListener("change", saveDraft);

  function setCallStatus(event) {
    if (event === "recording_paused" || event === "recording_resumed") {  // not a call status
      setRecordingPaused(event === "recording_paused");
      return;
    }
    $("pop-status").textContent = t("callstate." + event);
    $("pop").dataset.status = event;
    if (pop) pop.status = event;
    // wrap-up is for a call the agent took: not while the phone only rings
    $("wrapup").hidden = !pop || event === "ringing";
    if (event !== "ringing") stopFlash();
    updateControls();
  }

  function clearPop() {
    pop = null; ticket = null; recordingPaused = false;
    $("pop").hidden = $("controls").hidden = $("ticket").hidden = $("wrapup").hidden = true;
    delete $("pop").dataset.callId;
    stopFlash();
    updateControls();
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
    } catch (e) { log(t("log.error", { message: Hotline.problem(e) })); }
  }

  // ------------------------------------------------------------------ knowledge base for the pop
  // The caller's IVR choice gives the category; its articles are suggested (titles as text).
  let articlesFor = "";
  async function loadArticles(callId, category) {
    const list = $("pop-kb");
    if (!list || !category || articlesFor === callId + "|" + category) return;
    articlesFor = callId + "|" + category;
    try {
      const query = "/api/kb?limit=5&category=" + encodeURIComponent(category);
      const articles = await api("GET", query);
      const lang = document.documentElement.lang;
      list.replaceChildren(...articles.map((a) => el("li", { "data-article-id": a.id },
        el("a", { href: "/kb/" + a.id, target: "_blank", rel: "noopener", text: (lang.startsWith("zh") ? a.title_zh || a.title_en : a.title_en || a.title_zh) }))));
      $("pop-kb-box").hidden = articles.length === 0;
    } catch (e) { log(t("log.error", { message: e.message })); }
  }

  // ------------------------------------------------------------------ ticket from the pop
  function clearTicketForm(message) {
    ticket = null;
    $("ticket-form").reset();
    $("ticket-no").textContent = "";
    $("ticket-suggestion").textContent = "";
    $("ticket-status").textContent = message;
    $("ticket-save").disabled = true;
  }

  async function loadTicket(p) {
    if (p.ticket_id == null) {  // no ticket for this call (yet): never leave the last caller's on the form
      clearTicketForm(t("ticket.none_yet"));
      return;
    }
    if (ticket && ticket.id === p.ticket_id) return;
    clearTicketForm("");
    $("ticket-no").textContent = "#" + p.ticket_id;
    $("ticket-suggestion").textContent = t(p.ticket_is_new ? "ticket.suggest_new" : "ticket.suggest_update", { id: p.ticket_id });
    try {
      ticket = await api("GET", "/api/tickets/" + p.ticket_id);
      $("t-subject").value = ticket.subject || "";
      chooseCategory(ticket.category || "general");
      $("t-priority").value = ticket.priority || "normal";
      $("t-description").value = ticket.description || "";
      $("ticket-status").textContent = t("ticket.state_is", { state: t("tstate." + ticket.state) });
      $("ticket-save").disabled = false;
    } catch (e) { clearTicketForm(t("log.error", { message: Hotline.problem(e) })); }
  }

  // The category is a chosen list; a ticket whose category is no longer listed keeps it (shown as is).
  function chooseCategory(code) {
    const select = $("t-category");
    if (![...select.options].some((o) => o.value === code)) select.add(new Option(code, code));
    select.value = code;
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
      refreshCard();
    } catch (err) {
      if (err.errorId !== "version_conflict" || retried) {
        $("ticket-status").textContent = err.errorId === "version_conflict" ? t("ticket.conflict") : t("log.error", { message: Hotline.problem(err) });
        return;
      }
      const fresh = await api("GET", "/api/tickets/" + ticket.id);
      if (!sameFields(fresh, ticket)) { ticket = fresh; $("ticket-status").textContent = t("ticket.conflict"); return; }
      ticket = fresh;
      await saveTicket(edit, true);
    }
  }

  // The card's recent tickets show what was just saved (the pop's context read again).
  async function refreshCard() {
    if (!pop) return;
    try {
      const context = await api("GET", "/api/pop/" + encodeURIComponent(pop.call_id));
      if (pop && pop.call_id === context.call_id) showPop({ ...pop, customers: context.customers }, false);
    } catch (e) { /* the card stays as it was; the ticket itself is saved */ }
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
    } catch (err) { $("ticket-status").textContent = t("log.error", { message: Hotline.problem(err) }); }
  });

  // ------------------------------------------------------------------ customer picker / new customer
  $("pick-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const chosen = document.querySelector("#pick-options input:checked");
    if (!pop || !chosen) return;
    try {
      await api("POST", "/api/console/calls/" + encodeURIComponent(pop.call_id) + "/customer", { customer_id: Number(chosen.value) });
    } catch (err) { log(t("log.error", { message: Hotline.problem(err) })); }
  });

  $("new-customer").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!pop) return;
    try {
      await api("POST", "/api/console/calls/" + encodeURIComponent(pop.call_id) + "/new-customer", {
        name: $("nc-name").value, company: $("nc-company").value, tier: $("nc-tier").value, notes: $("nc-notes").value,
      });
    } catch (err) { log(t("log.error", { message: Hotline.problem(err) })); }
  });

  // ------------------------------------------------------------------ call controls
  // Which controls make sense in which call status; a control the link does not offer stays
  // disabled whatever the status (the template marks it). One request per click: a button is
  // disabled while its request is out. Refusals show in this card, translated.
  const CONTROL_STATUSES = {
    answer: ["ringing"], hangup: ["ringing", "answered", "held"], hold: ["answered"], unhold: ["held"],
    recording_pause: ["answered", "held"], recording_resume: ["answered", "held"],
    transfer_blind: ["answered", "held"], transfer_attended: ["answered", "held"],
  };
  let recordingPaused = false;
  const pending = new Set();
  function updateControls() {
    const status = pop ? pop.status || $("pop").dataset.status : "";
    for (const button of document.querySelectorAll("#controls button[data-action]")) {
      const action = button.dataset.action;
      let usable = button.dataset.offered === "true" && (CONTROL_STATUSES[action] || []).includes(status) && !pending.has(action);
      if (action === "recording_pause") usable = usable && !recordingPaused;
      if (action === "recording_resume") usable = usable && recordingPaused;
      button.disabled = !usable;
    }
    $("transfer-to").disabled = !["answered", "held"].includes(status) || $("transfer-to").dataset.offered !== "true";
    $("recording-paused").hidden = !(pop && recordingPaused);
  }
  function setRecordingPaused(paused) { recordingPaused = paused; updateControls(); }

  async function control(action, target) {
    if (!pop || pending.has(action)) return;
    pending.add(action);
    updateControls();
    $("controls-status").textContent = "";
    try {
      await api("POST", "/api/console/calls/" + encodeURIComponent(pop.call_id) + "/control/" + action, { target: target || null });
      log(t("call." + action));
      if (action === "recording_pause") setRecordingPaused(true);
      if (action === "recording_resume") setRecordingPaused(false);
    } catch (err) {
      $("controls-status").textContent = t("call.refused", { action: t("call." + action), why: Hotline.problem(err) });
    } finally {
      pending.delete(action);
      updateControls();
    }
  }
  for (const button of document.querySelectorAll("#controls div.buttons > button[data-action]")) {
    button.addEventListener("click", () => control(button.dataset.action));
  }
  $("transfer-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const action = e.submitter ? e.submitter.dataset.action : "transfer_blind";
    control(action, $("transfer-to").value);
  });

  // ------------------------------------------------------------------ ringing alerts
  // A ringing pop also sounds, shows a desktop notification and flashes the tab's title —
  // the agent may have another tab in front. Each is switchable; the choice is kept here.
  const ALERTS = ["sound", "notify", "flash"];
  const alertOn = (kind) => localStorage.getItem("hotline.alert." + kind) !== "off";
  for (const kind of ALERTS) {
    const box = $("alert-" + kind);
    box.checked = alertOn(kind);
    box.addEventListener("change", () => {
      localStorage.setItem("hotline.alert." + kind, box.checked ? "on" : "off");
      if (kind === "notify" && box.checked && "Notification" in window && Notification.permission === "default") {
        Notification.requestPermission();
      }
    });
  }
  let audio = null;
  function beep() {
    try {
      audio = audio || new AudioContext();
      const tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880; gain.gain.value = 0.15;
      tone.connect(gain).connect(audio.destination);
      tone.start(); tone.stop(audio.currentTime + 0.35);
    } catch (e) { /* no audio device: the other alerts still work */ }
  }
  const baseTitle = document.title;
  let flashTimer = null;
  function stopFlash() { if (flashTimer) { clearInterval(flashTimer); flashTimer = null; } document.title = baseTitle; }
  function ringAlert(caller) {
    const text = t("pop.announce", { caller });
    document.body.dataset.alerted = [alertOn("sound") ? "sound" : "", alertOn("notify") ? "notify" : "", alertOn("flash") ? "flash" : ""].filter(Boolean).join(" ");
    if (alertOn("sound")) beep();
    if (alertOn("notify") && "Notification" in window && Notification.permission === "granted" && document.hidden) {
      new Notification(t("pop.title"), { body: text, tag: "hotline-pop" });
    }
    if (alertOn("flash")) {
      stopFlash();
      let on = false;
      flashTimer = setInterval(() => { on = !on; document.title = on ? "☎ " + text : baseTitle; }, 800);
    }
  }
  window.addEventListener("focus", stopFlash);

  // ------------------------------------------------------------------ wrap-up
  $("wrapup-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!pop) return;
    try {
      await api("POST", "/api/console/calls/" + encodeURIComponent(pop.call_id) + "/wrapup", {
        code: $("w-code").value, notes: $("w-notes").value,
      });
      log(t("wrap.done"));
      try { sessionStorage.removeItem(DRAFT + pop.call_id); } catch (err) { /* nothing kept */ }
      clearPop();
      $("wrapup-status").textContent = t("wrap.done");
      loadRecent();
    } catch (err) { $("wrapup-status").textContent = t("log.error", { message: Hotline.problem(err) }); }
  });

  // ------------------------------------------------------------------ follow-ups and recent calls
  async function loadFollowups() {
    try {
      const items = await api("GET", "/api/console/followups");
      $("followups").replaceChildren(...(items.length ? items.map((f) => el("li", {},
        el("a", { href: "/follow-ups#fu-" + f.id, "data-follow-up": f.id, text: "#" + f.ticket_id + " " + (f.subject || "") }), " · ",
        el("span", { text: t("fu.due", { when: datetime(f.due_at) }) })))
        : [el("li", { text: t("fu.none") })]));
    } catch (e) { log(t("log.error", { message: Hotline.problem(e) })); }
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
    } catch (e) { log(t("log.error", { message: Hotline.problem(e) })); }
  }

  // ------------------------------------------------------------------ the websocket
  function handle(msg) {
    switch (msg.type) {
      case "hello":
        skew = Date.now() / 1000 - msg.now;
        setState(msg.state, msg.reason, msg.since);
        setPendingPause(msg.pending_pause);
        if (msg.pop) showPop(msg.pop, false);
        break;
      case "state":
        setState(msg.state, msg.reason, msg.since);
        log(t("log.state", { state: t("state." + msg.state) }));
        break;
      case "pending_pause":
        setPendingPause(msg.reason);
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
