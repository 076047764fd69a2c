// Shared by every page: messages, number/date formatting, safe DOM building, JSON calls,
// and a websocket that reconnects and catches up. No build step, no framework.
// Text from the server is only ever set with textContent (never innerHTML):
// customer names and notes are user input and must show as text.
"use strict";
const Hotline = (function () {
  const messages = JSON.parse(document.getElementById("i18n").textContent);
  const lang = document.documentElement.lang || "zh-CN";

  // t("state.paused"), t("fu.due", {when: ...}); `fallback` when the key is unknown (a reason code).
  function t(key, params, fallback) {
    const known = Object.prototype.hasOwnProperty.call(messages, key);
    let text = known ? messages[key] : (fallback != null ? String(fallback) : key);
    if (params) {
      for (const [name, value] of Object.entries(params)) text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  }

  const numberFormat = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  const percentFormat = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  // Times in the call center's zone (named in the header), never the browser's: an agent, the
  // wallboard and the audit page read the same clock wherever each of them sits.
  const timeZone = document.documentElement.dataset.tz || undefined;
  const timeFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone });
  const dateTimeFormat = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short", timeZone });

  const num = (v) => (v == null ? "—" : numberFormat.format(v));
  const percent = (v) => (v == null ? "—" : percentFormat.format(v));
  function duration(seconds) {
    if (seconds == null) return "—";
    const total = Math.max(0, Math.round(seconds));
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }
  const time = (d) => (d ? timeFormat.format(new Date(d)) : "—");
  const datetime = (d) => (d ? dateTimeFormat.format(new Date(d)) : "—");

  // el("li", {class: "x", text: name}, child, "more text"): builds DOM; strings become text nodes.
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value == null || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "class") node.className = value;
      else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role" || key === "for") node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  }

  async function api(method, url, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const reply = await fetch(url, init);
    if (reply.status === 401) { location.href = "/login"; throw new Error(t("link.signed_out")); }
    const data = reply.status === 204 ? null : await reply.json().catch(() => null);
    if (!reply.ok) {
      const error = new Error((data && data.message) || reply.statusText);
      error.errorId = data && data.error_id;
      error.status = reply.status;
      throw error;
    }
    return data;
  }

  // A websocket that reconnects with backoff and asks for what it missed (?after=<seq>).
  // `epoch` names the numbering (one server process, or a cluster's Redis): under a new one the
  // old numbers mean nothing. The server may send messages before the hello (a catch-up, or live
  // messages while it asks the router for the greeting); they are in the hello's numbering, so a
  // new epoch starts from the highest seq this connection brought, not from 0 (which would
  // replay the whole backlog, old pops included, on the next reconnect).
  function live(path, onMessage, statusNode) {
    const key = "hotline.seq:" + path;
    let last = JSON.parse(sessionStorage.getItem(key) || '{"seq":0,"epoch":""}');
    let retry = 500;
    let socket = null;
    function status(text) { if (statusNode) statusNode.textContent = text; }
    function connect() {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const query = "?after=" + last.seq + "&epoch=" + encodeURIComponent(last.epoch);
      socket = new WebSocket(proto + "//" + location.host + path + query);
      let seen = 0; // the highest seq on this connection
      socket.onopen = () => { retry = 500; status(t("link.connected")); };
      socket.onmessage = (e) => {
        const msg = JSON.parse(e.data);
        if (typeof msg.seq === "number") seen = Math.max(seen, msg.seq);
        if (msg.type === "hello" && msg.epoch !== last.epoch) last = { seq: seen, epoch: msg.epoch };
        if (typeof msg.seq === "number") last.seq = Math.max(last.seq, msg.seq);
        sessionStorage.setItem(key, JSON.stringify(last));
        onMessage(msg);
      };
      socket.onclose = (e) => {
        if (e.code === 4401) { location.href = "/login"; return; }
        if (e.code === 4403) { status(t("link.forbidden")); return; }
        status(t("link.reconnecting"));
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 5000);
      };
    }
    connect();
    return {
      send(message) {
        if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(message)); return true; }
        return false;
      },
      drop() { if (socket) socket.close(4000, "test"); },
    };
  }

  // What to show a person for a failed api() call: the error's own message in the page
  // language when its id is known (err.<error_id>), else a translated sentence around it.
  function problem(error) {
    const id = error && error.errorId;
    if (id && Object.prototype.hasOwnProperty.call(messages, "err." + id)) return t("err." + id);
    return t("err.generic", { message: (error && error.message) || "" });
  }

  return { t, lang, num, percent, duration, time, datetime, el, api, live, problem };
})();
