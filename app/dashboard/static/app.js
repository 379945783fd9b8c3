// Textline dashboard: live updates for the queue and case pages, the reply counter, the simulator.
// Hand-written, no build step. Texter content is only ever inserted as server-escaped HTML or
// with textContent; never through string concatenation into markup.
"use strict";

(function () {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function span(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 86400) return Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0");
    return Math.floor(s / 86400) + " d";
  }

  function tickTimes() {
    const now = Date.now();
    document.querySelectorAll("[data-since]").forEach((el) => {
      const t = Date.parse(el.dataset.since);
      if (!isNaN(t)) el.textContent = span((now - t) / 1000);
    });
  }

  // Fetch server-rendered HTML and return it as a document (the server escaped the content).
  async function fetchHtml(url, wrap) {
    const resp = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
    if (resp.redirected && new URL(resp.url).pathname === "/login") {
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      return null;
    }
    if (!resp.ok) throw new Error("HTTP " + resp.status);
    const text = await resp.text();
    return new DOMParser().parseFromString(wrap ? wrap[0] + text + wrap[1] : text, "text/html");
  }

  // One live stream; EventSource reconnects by itself after a network error, and this starts
  // a new one when the server refused (for example after a restart took a moment).
  function live(url, onEvent, onReconnect) {
    const status = document.getElementById("live");
    let es = null;
    let everOpen = false;
    const show = (state, text) => {
      if (status) { status.dataset.state = state; status.textContent = text; }
    };
    function connect() {
      es = new EventSource(url);
      es.onopen = () => {
        show("live", "Live");
        if (everOpen && onReconnect) onReconnect();
        everOpen = true;
      };
      es.onmessage = (msg) => {
        try { onEvent(JSON.parse(msg.data)); } catch (e) { console.error(e); }
      };
      es.onerror = () => {
        show("down", "Reconnecting…");
        if (es.readyState === EventSource.CLOSED) {
          es.close();
          fetch("/queue/rows?status=closed", { credentials: "same-origin" }).then((r) => {
            if (r.redirected && new URL(r.url).pathname === "/login") {
              window.location.assign("/login?next=" + encodeURIComponent(location.pathname));
            }
          }).catch(() => {});
          setTimeout(connect, 3000);
        }
      };
    }
    connect();
    window.addEventListener("pagehide", () => es && es.close());
  }

  function debounce(fn, ms) {
    let timer = null;
    return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  // ---- queue ----
  function queuePage() {
    const table = document.getElementById("queue");
    const alertBox = document.getElementById("p1-alert");
    const sound = document.getElementById("alert-sound");
    const soundBtn = document.getElementById("sound");
    const known = new Set();
    let soundOn = localStorage.getItem("textline-sound") !== "off";
    const showSound = () => {
      soundBtn.setAttribute("aria-pressed", String(soundOn));
      soundBtn.textContent = "Sound: " + (soundOn ? "on" : "off");
    };
    soundBtn.addEventListener("click", () => {
      soundOn = !soundOn;
      localStorage.setItem("textline-sound", soundOn ? "on" : "off");
      showSound();
      if (soundOn) sound.play().then(() => sound.pause()).catch(() => {});
    });
    showSound();

    // Every open P1 (the server lists them whatever the filters), as [id, reference] pairs.
    const openP1 = () => (table.querySelector("tbody").dataset.p1 || "").split(",")
      .filter(Boolean).map((pair) => pair.split(":"));
    openP1().forEach(([id]) => known.add(id));

    function alarm(arrived) {
      arrived.forEach(([id]) => {
        const tr = table.querySelector('tbody tr[data-case-id="' + id + '"]');
        if (tr) tr.classList.add("flash");
      });
      alertBox.textContent = "";
      const strong = document.createElement("strong");
      strong.textContent = arrived.length > 1 ? arrived.length + " new P1 cases: " : "New P1 case: ";
      alertBox.appendChild(strong);
      arrived.forEach(([id, reference], i) => {
        const link = document.createElement("a");
        link.href = "/cases/" + encodeURIComponent(id);
        link.textContent = reference;
        if (i) alertBox.appendChild(document.createTextNode(", "));
        alertBox.appendChild(link);
      });
      alertBox.hidden = false;
      document.title = "(!) P1 · Queue · Textline";
      if (soundOn) {
        sound.currentTime = 0;
        sound.play().catch(() => {
          alertBox.appendChild(document.createTextNode(" (sound blocked by the browser: press Sound to allow it)"));
        });
      }
    }

    let refreshing = false;
    let again = false;
    async function refresh() {
      if (refreshing) { again = true; return; }
      refreshing = true;
      try {
        const doc = await fetchHtml(table.dataset.rowsUrl, ["<table>", "</table>"]);
        if (!doc) return;
        const fresh = doc.querySelector("tbody");
        const old = table.querySelector("tbody");
        const focusedId = document.activeElement && document.activeElement.closest
          && document.activeElement.closest("tr") && document.activeElement.closest("tr").dataset.caseId;
        old.replaceWith(document.importNode(fresh, true));
        if (focusedId) {
          const link = table.querySelector('tr[data-case-id="' + focusedId + '"] a');
          if (link) link.focus();
        }
        const arrived = openP1().filter(([id]) => !known.has(id));
        arrived.forEach(([id]) => known.add(id));
        if (arrived.length) alarm(arrived);
        tickTimes();
      } catch (e) {
        console.error(e);
      } finally {
        refreshing = false;
        if (again) { again = false; refresh(); }
      }
    }
    const soon = debounce(refresh, 150);
    live("/events", () => soon(), refresh);
    // Events make the queue live; this makes it never stale: a case whose event was lost still
    // appears (and alarms) within the interval, hidden tab or not.
    setInterval(refresh, 1000 * (Number(table.dataset.refreshSeconds) || 30));
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) document.title = "Queue · Textline";
    });
  }

  // ---- case ----
  const GSM = new Set(Array.from(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"));
  const GSM_EXT = new Set(Array.from("\f^{}\\[~]|€"));

  function segments(text) {
    const chars = Array.from(text);
    const gsm = chars.every((c) => GSM.has(c) || GSM_EXT.has(c));
    const size = gsm ? (c) => (GSM_EXT.has(c) ? 2 : 1) : (c) => (c.codePointAt(0) > 0xffff ? 2 : 1);
    const single = gsm ? 160 : 70;
    const multi = gsm ? 153 : 67;
    const total = chars.reduce((n, c) => n + size(c), 0);
    if (!total) return { count: 0, gsm, units: 0 };
    if (total <= single) return { count: 1, gsm, units: total };
    let count = 1, used = 0;
    chars.forEach((c) => {
      const n = size(c);
      if (used + n > multi) { count += 1; used = 0; }
      used += n;
    });
    return { count, gsm, units: total };
  }

  function replyBox() {
    const box = document.getElementById("reply-body");
    const out = document.getElementById("reply-count");
    if (!box || !out) return;
    const update = () => {
      const s = segments(box.value);
      let text = Array.from(box.value).length + " characters · " + s.count + (s.count === 1 ? " text" : " texts");
      if (!s.gsm && box.value) text += " · special characters make each text hold only 70";
      out.textContent = text;
      out.classList.toggle("warn", s.count > 2 || (!s.gsm && box.value.length > 0));
    };
    box.addEventListener("input", update);
    update();
    document.querySelectorAll(".canned-reply").forEach((btn) => {
      btn.addEventListener("click", () => {
        box.value = box.value ? box.value.replace(/\s*$/, " ") + btn.dataset.text : btn.dataset.text;
        update();
        box.focus();
      });
    });
    box.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        box.form.requestSubmit();
      }
    });
  }

  // The override form offers only the priorities that fit the chosen decision (the server
  // refuses the others), moving the choice to the first that fits when the decision changes.
  function decisionForm() {
    const decision = document.getElementById("dec-decision");
    const priority = document.getElementById("dec-priority");
    if (!decision || !priority) return;
    const fit = () => {
      const options = Array.from(priority.options);
      options.forEach((o) => { o.disabled = o.dataset.decision !== decision.value; });
      const chosen = priority.selectedOptions[0];
      if (!chosen || chosen.disabled) {
        const first = options.find((o) => !o.disabled);
        if (first) priority.value = first.value;
      }
    };
    decision.addEventListener("change", fit);
    fit();
  }

  function casePage() {
    const root = document.getElementById("case");
    const caseId = Number(root.dataset.caseId);
    const me = root.dataset.me;
    const viewers = document.getElementById("viewers");
    const names = document.getElementById("viewer-names");
    replyBox();
    decisionForm();
    const scrollDown = () => {
      const list = document.getElementById("messages");
      if (list) list.scrollTop = list.scrollHeight;
    };
    scrollDown();

    const lastMessage = () => {
      const items = document.querySelectorAll("#messages [data-message-id]");
      return items.length ? items[items.length - 1].dataset.messageId : "";
    };
    async function refresh() {
      try {
        const doc = await fetchHtml(root.dataset.liveUrl);
        if (!doc) return;
        const before = lastMessage();
        const list = document.getElementById("messages");
        const scrolled = list ? list.scrollTop : 0;
        const focused = document.activeElement && document.activeElement.id;
        doc.querySelectorAll("[data-live]").forEach((fresh) => {
          const old = document.getElementById(fresh.id);
          // Unchanged parts stay as they are: focus, selection and scroll with them.
          if (old && old.innerHTML !== fresh.innerHTML) old.replaceWith(document.importNode(fresh, true));
        });
        // Down to a new message; otherwise the operator stays where they were reading.
        if (lastMessage() !== before) {
          scrollDown();
        } else {
          const now = document.getElementById("messages");
          if (now && now !== list) now.scrollTop = scrolled;
        }
        if (focused && document.activeElement && document.activeElement.id !== focused) {
          const again = document.getElementById(focused);
          if (again) again.focus({ preventScroll: true });
        }
      } catch (e) {
        console.error(e);
      }
    }
    const soon = debounce(refresh, 150);
    live("/events?case=" + caseId, (ev) => {
      if (ev.case_id !== caseId) return;
      if (ev.kind === "case.viewing") {
        const others = (ev.viewers || []).filter((v) => v !== me);
        names.textContent = others.join(", ");
        viewers.hidden = others.length === 0;
      } else {
        soon();
      }
    }, refresh);
    setInterval(refresh, 1000 * (Number(root.dataset.refreshSeconds) || 30));  // as the queue's
  }

  // ---- incident ----
  // Reloads its live parts when any of its reports changes or the incident itself does.
  function incidentPage() {
    const root = document.getElementById("incident");
    const incidentId = Number(root.dataset.incidentId);
    const caseIds = new Set((root.dataset.caseIds || "").split(",").filter(Boolean).map(Number));
    replyBox();
    async function refresh() {
      try {
        const doc = await fetchHtml(root.dataset.liveUrl);
        if (!doc) return;
        doc.querySelectorAll("[data-live]").forEach((fresh) => {
          const old = document.getElementById(fresh.id);
          if (old && old.innerHTML !== fresh.innerHTML) old.replaceWith(document.importNode(fresh, true));
        });
        document.querySelectorAll("#incident-cases [data-case-id]").forEach((el) => caseIds.add(Number(el.dataset.caseId)));
      } catch (e) {
        console.error(e);
      }
    }
    const soon = debounce(refresh, 150);
    live("/events", (ev) => {
      if (ev.incident_id === incidentId || caseIds.has(ev.case_id)) soon();
    }, refresh);
    setInterval(refresh, 1000 * (Number(root.dataset.refreshSeconds) || 30));
  }

  // ---- simulator ----
  function simulatorPage() {
    const phone = document.getElementById("sim-phone");
    const list = document.getElementById("sim-messages");
    const form = document.getElementById("sim-form");
    const body = document.getElementById("sim-body");
    const error = document.getElementById("sim-error");
    let last = "";

    function render(messages) {
      const key = JSON.stringify(messages);
      if (key === last) return;
      last = key;
      list.textContent = "";
      messages.forEach((m) => {
        const li = document.createElement("li");
        li.className = m.mine ? "sim-mine" : "sim-theirs";
        const p = document.createElement("p");
        p.textContent = m.body;
        li.appendChild(p);
        if (!m.mine && (m.status === "queued" || m.status === "sending")) {
          const note = document.createElement("small");
          note.textContent = "sending…";
          li.appendChild(note);
        }
        list.appendChild(li);
      });
      list.scrollTop = list.scrollHeight;
    }

    async function poll() {
      try {
        const resp = await fetch("/simulator/messages?phone=" + encodeURIComponent(phone.value),
          { credentials: "same-origin" });
        if (resp.redirected) window.location.assign("/login?next=/simulator");
        else if (resp.ok) render((await resp.json()).messages);
      } catch (e) { /* the next poll tries again */ }
    }

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const text = body.value.trim();
      if (!text) return;
      error.hidden = true;
      const resp = await fetch("/simulator/send", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify({ phone: phone.value, body: text }),
      });
      if (resp.redirected) {  // the session ended: nothing was sent
        window.location.assign("/login?next=/simulator");
        return;
      }
      if (resp.ok) {
        body.value = "";
        setTimeout(poll, 250);  // the replies follow once the text is read
      } else {
        const data = await resp.json().catch(() => ({}));
        error.textContent = data.detail || "Not sent (" + resp.status + ")";
        error.hidden = false;
      }
      poll();
    });
    body.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
    });
    document.getElementById("sim-new").addEventListener("click", () => {
      phone.value = "+447700900" + String(Math.floor(Math.random() * 1000)).padStart(3, "0");
      last = "";
      list.textContent = "";
      poll();
    });
    phone.addEventListener("change", () => { last = ""; poll(); });
    poll();
    setInterval(poll, 1500);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.body.dataset.page;
    if (page === "queue") queuePage();
    else if (page === "case") casePage();
    else if (page === "incident") incidentPage();
    else if (page === "simulator") simulatorPage();
    tickTimes();
    setInterval(tickTimes, 10000);
  });
})();
