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

  // What every page hears besides its own handler (the supervisors' alert banner).
  const heard = [];

  // One live stream; EventSource reconnects by itself after a network error, and this starts
  // a new one when the server refused (for example after a restart took a moment).
  function live(url, onEvent, onReconnect) {
    const status = document.getElementById("live");
    let es = null;
    const show = (state, text) => {
      if (status) { status.dataset.state = state; status.textContent = text; }
    };
    function connect() {
      es = new EventSource(url);
      es.onopen = () => {
        show("live", "Live");
        // Also on the first open: what changed between the page being rendered and the stream
        // opening (a reply sent the moment the page loaded) has no event left to announce it.
        if (onReconnect) onReconnect();
      };
      es.onmessage = (msg) => {
        try {
          const ev = JSON.parse(msg.data);
          heard.forEach((fn) => fn(ev));
          onEvent(ev);
        } catch (e) { console.error(e); }
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
    // The sound control says what will happen: "off" by the operator's choice; "blocked" while
    // they want sound but the browser refuses to play it (its autoplay policy rejects play()
    // until a press on the page); "on" once a play has been allowed. One press on "blocked" or
    // "off" turns it on, since the press itself is what the browser waits for.
    let wanted = localStorage.getItem("textline-sound") !== "off";
    let allowed = null;  // not known until a play() has been tried
    const soundState = () => (!wanted ? "off" : allowed === false ? "blocked" : "on");
    const showSound = () => {
      const state = soundState();
      soundBtn.dataset.state = state;
      soundBtn.setAttribute("aria-pressed", String(state === "on"));
      soundBtn.textContent = state === "blocked" ? "Sound: blocked (press to allow)" : "Sound: " + state;
      const note = document.getElementById("sound-blocked");
      if (note && state !== "blocked") note.remove();
    };
    // A silent play: whether the browser lets this page play sound now, without a sound.
    const tryPlay = (volume) => {
      sound.volume = volume;
      return sound.play().then(() => {
        sound.pause();
        sound.currentTime = 0;
        allowed = true;
      }, () => { allowed = false; }).finally(() => { sound.volume = 1; showSound(); });
    };
    soundBtn.addEventListener("click", () => {
      if (soundState() === "on") {
        wanted = false;
      } else {
        wanted = true;
        tryPlay(0);
      }
      localStorage.setItem("textline-sound", wanted ? "on" : "off");
      showSound();
    });
    showSound();
    if (wanted) tryPlay(0);

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
      if (wanted) {
        sound.currentTime = 0;
        sound.volume = 1;
        sound.play().then(() => { allowed = true; showSound(); }, () => {
          allowed = false;
          showSound();
          const note = document.createElement("span");
          note.id = "sound-blocked";
          note.textContent = " (sound blocked by the browser: press \u201cSound: blocked\u201d to allow it)";
          alertBox.appendChild(note);
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

  // Characters and texts as the texter's phone will count them, under a box being written.
  function counted(box, out) {
    const update = () => {
      const s = segments(box.value);
      let text = Array.from(box.value).length + " characters · " + s.count + (s.count === 1 ? " text" : " texts");
      if (!s.gsm && box.value) text += " · special characters make each text hold only 70";
      out.textContent = text;
      out.classList.toggle("warn", s.count > 2 || (!s.gsm && box.value.length > 0));
    };
    box.addEventListener("input", update);
    update();
    return update;
  }

  function replyBox() {
    const box = document.getElementById("reply-body");
    const out = document.getElementById("reply-count");
    if (!box || !out) return;
    const update = counted(box, out);
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

  // The close form's outcome text: the canned text named like the chosen outcome fills the box
  // until the operator writes their own; a button puts any canned text in, to edit.
  function closeForm() {
    const outcome = document.getElementById("close-outcome");
    const box = document.getElementById("close-text");
    const out = document.getElementById("close-count");
    if (!outcome || !box || !out) return;
    const update = counted(box, out);
    const buttons = Array.from(document.querySelectorAll(".outcome-text"));
    const canned = new Set(buttons.map((b) => b.dataset.text));
    const fill = (text) => { box.value = text; update(); };
    outcome.addEventListener("input", () => {
      const wanted = outcome.value.trim().toLowerCase();
      const match = buttons.find((b) => b.dataset.label.toLowerCase() === wanted);
      if (match && (!box.value.trim() || canned.has(box.value))) fill(match.dataset.text);
    });
    buttons.forEach((btn) => btn.addEventListener("click", () => {
      if (!outcome.value.trim()) outcome.value = btn.dataset.label;
      fill(btn.dataset.text);
      box.focus();
    }));
  }

  // An action's answer is the same page again: keep the operator where they were (the side
  // column's scroll, the box they typed in) rather than jumping to the top or to an anchor.
  const VIEW_KEY = "textline-case-view";
  function keepView() {
    const side = document.querySelector(".col-side");
    // The case, not the address: a refused form answers at its own address (/cases/1/close).
    const caseId = document.getElementById("case").dataset.caseId;
    document.querySelectorAll("#case form").forEach((form) => {
      form.addEventListener("submit", () => {
        try {
          sessionStorage.setItem(VIEW_KEY, JSON.stringify({
            caseId, form: form.id || (form.closest("[id]") || {}).id || "",
            side: side ? side.scrollTop : 0, y: window.scrollY,
          }));
        } catch (e) { /* storage off: the page simply opens at the top */ }
      });
    });
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(VIEW_KEY) || "null");
      sessionStorage.removeItem(VIEW_KEY);
    } catch (e) { saved = null; }
    if (saved && saved.caseId === caseId) {
      if (side) side.scrollTop = saved.side || 0;
      window.scrollTo(0, saved.y || 0);
      if (saved.form === "reply") {
        const box = document.getElementById("reply-body");
        if (box && !box.disabled) box.focus({ preventScroll: true });
      }
    }
    // The "done" notice is shown once: a reload should not say it again.
    if (location.search.includes("done=")) {
      const url = new URL(location.href);
      url.searchParams.delete("done");
      history.replaceState(null, "", url.pathname + url.search);
    }
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
    closeForm();
    decisionForm();
    const scrollDown = () => {
      const list = document.getElementById("messages");
      if (list) list.scrollTop = list.scrollHeight;
    };
    scrollDown();
    keepView();
    // One key to either end of the transcript (the list is replaced on updates: listen above it).
    document.addEventListener("keydown", (ev) => {
      const list = ev.target;
      if (!list || list.id !== "messages" || ev.ctrlKey || ev.altKey || ev.metaKey) return;
      if (ev.key === "Home") list.scrollTop = 0;
      else if (ev.key === "End") list.scrollTop = list.scrollHeight;
      else return;
      ev.preventDefault();
    });

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

  // ---- supervisors' alert banner, on every page they see ----
  function supervisorAlerts(page) {
    const box = document.getElementById("sup-alerts");
    if (!box) return;
    async function refresh() {
      try {
        const doc = await fetchHtml(box.dataset.url, ["<div id='fresh'>", "</div>"]);
        if (!doc) return;
        const fresh = doc.getElementById("fresh");
        box.textContent = "";
        Array.from(fresh.childNodes).forEach((n) => box.appendChild(document.importNode(n, true)));
        box.hidden = !box.querySelector("li");
        tickTimes();
      } catch (e) { console.error(e); }
    }
    const soon = debounce(refresh, 150);
    const matters = (ev) => ev.kind === "case.alerted" || ev.kind === "case.updated";
    heard.push((ev) => { if (matters(ev)) soon(); });
    // The queue, case and wall pages have a stream already; the others open one for the banner.
    if (!["queue", "case", "wallboard"].includes(page)) live("/events", () => {}, refresh);
    refresh();
    setInterval(refresh, 30000);
  }

  // ---- wallboard: the figures again on every event, and on the clock ----
  function wallboardPage() {
    const wall = document.getElementById("wall");
    async function refresh() {
      try {
        const doc = await fetchHtml("/wallboard");
        const fresh = doc && doc.getElementById("wall");
        if (fresh) wall.replaceChildren(...Array.from(fresh.childNodes).map((n) => document.importNode(n, true)));
        const at = doc && doc.getElementById("wall-at");
        if (at) document.getElementById("wall-at").textContent = at.textContent;
      } catch (e) { console.error(e); }
    }
    live("/events", debounce(refresh, 1000), refresh);
    setInterval(refresh, 1000 * (Number(wall.dataset.refreshSeconds) || 15));
  }

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.body.dataset.page;
    if (page === "queue") queuePage();
    else if (page === "case") casePage();
    else if (page === "incident") incidentPage();
    else if (page === "simulator") simulatorPage();
    else if (page === "wallboard") wallboardPage();
    supervisorAlerts(page);
    tickTimes();
    setInterval(tickTimes, 10000);
  });
})();
