// threadwatch report: verdicts on alerts, offered as a download of
// config/feedback.jsonl lines in the format `threadwatch feedback` appends and
// pipeline/config/feedback.py parses. Kept in the page only: nothing is sent
// or stored, the link's href is a data: URL built from the verdicts given.
// Inlined before report.js, which calls createFeedback(alerts, esc).
function createFeedback(alerts, esc) {
  "use strict";
  var byId = {}, lines = {}, order = [], notes = {};  // alert id -> alert, line, note
  alerts.forEach(function (a) { byId[a.id] = a; });
  var LABELS = [["relevant", "Relevant"], ["not-relevant", "Not relevant"]];

  // As Python's json.dumps(line, ensure_ascii=False, sort_keys=True) writes it.
  function jsonLine(obj) {
    return "{" + Object.keys(obj).sort().map(function (k) {
      return JSON.stringify(k) + ": " + JSON.stringify(obj[k]);
    }).join(", ") + "}";
  }
  function utcNow() { return new Date().toISOString().replace(/\.\d+Z$/, "Z"); }

  // One line per alert, the latest verdict: a new one goes to the end, so
  // that on the same thread and story the latest click is also the last line.
  function give(id, verdict) {
    var a = byId[id];
    if (!a) return;
    order = order.filter(function (k) { return k !== id; });
    delete lines[id];
    if (!verdict) return;
    var line = { verdict: verdict, thread_id: a.thread, story_id: a.story, alert_id: a.id, at: utcNow() };
    if (notes[id]) line.note = notes[id];
    lines[id] = line;
    order.push(id);
  }
  function setNote(id, text) {
    notes[id] = text;
    if (!lines[id]) return;
    if (text) lines[id].note = text; else delete lines[id].note;
  }
  function text() { return order.map(function (k) { return jsonLine(lines[k]) + "\n"; }).join(""); }

  // The controls of one alert; every copy of them (alert list, evidence) is kept alike.
  function controls(a) {
    var given = lines[a.id] ? lines[a.id].verdict : "";
    return '<span class="fb" data-fb-alert="' + esc(a.id) + '">' + LABELS.map(function (v) {
      return '<button type="button" class="fb-verdict" data-verdict="' + v[0] +
        '" aria-pressed="' + (given === v[0]) + '">' + v[1] + "</button>";
    }).join("") + '<button type="button" class="fb-clear" data-verdict=""' +
      (given ? "" : " hidden") + ' title="No verdict on this alert">×</button>' +
      '<input type="text" class="fb-note" placeholder="note (optional)" aria-label="Note on ' +
      'this alert" maxlength="2000" value="' + esc(notes[a.id] || "") + '"></span>';
  }
  function groups(id) {
    return [].filter.call(document.querySelectorAll("[data-fb-alert]"), function (g) {
      return g.getAttribute("data-fb-alert") === id;
    });
  }
  function sync(id, from) {
    var given = lines[id] ? lines[id].verdict : "";
    groups(id).forEach(function (g) {
      g.querySelectorAll(".fb-verdict").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.getAttribute("data-verdict") === given));
      });
      g.querySelector(".fb-clear").hidden = !given;
      var note = g.querySelector(".fb-note");
      if (note !== from) note.value = notes[id] || "";
    });
    renderLink();
  }
  function renderLink() {
    var el = document.getElementById("fb-download");
    if (!el) return;
    el.textContent = "Download feedback (" + order.length + ")";
    if (order.length) {
      el.href = "data:application/x-ndjson;charset=utf-8," + encodeURIComponent(text());
      el.removeAttribute("aria-disabled");
    } else {
      el.removeAttribute("href");
      el.setAttribute("aria-disabled", "true");
    }
  }

  // Handles a click on a verdict button; true when it was one.
  function click(target) {
    var b = target.closest("[data-verdict]"), g = b && b.closest("[data-fb-alert]");
    if (!g) return false;
    var id = g.getAttribute("data-fb-alert");
    setNote(id, g.querySelector(".fb-note").value);
    give(id, b.getAttribute("data-verdict"));
    sync(id, null);
    return true;
  }
  document.addEventListener("input", function (ev) {
    var g = ev.target.classList.contains("fb-note") && ev.target.closest("[data-fb-alert]");
    if (!g) return;
    var id = g.getAttribute("data-fb-alert");
    setNote(id, ev.target.value);
    sync(id, ev.target);
  });
  renderLink();
  return { controls: controls, click: click, text: text };
}
