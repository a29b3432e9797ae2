// threadwatch report: renders the run's data (the JSON block above) into the page.
// Hand-written, no dependencies: the page must open with no network at all.
// Every string from the data goes through esc() (or textContent) before it
// reaches the DOM; links keep only http(s) and file URLs.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var S = D.stories, T = D.threads, A = D.alerts;
  var PAGE = 50, LIST = 10;
  var state = { thread: "", from: "", to: "", alertsOnly: false, story: -1 };
  var shown = {};  // list key -> how many items are rendered
  var FB = createFeedback(A, esc);  // verdicts on alerts (feedback.js)
  var fmtTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  var fmtDay = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
  var fmtMonth = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short" });

  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function safeUrl(u) { return /^(https?|file):/i.test(u || "") ? u : ""; }
  function link(url, text) {
    var u = safeUrl(url);
    return u ? '<a href="' + esc(u) + '" rel="noopener noreferrer">' + esc(text) + "</a>" : esc(text);
  }
  // Local time shown, UTC on hover (title) and in the machine-readable attributes.
  function when(iso, day) {
    if (!iso) return "";
    var d = new Date(iso);
    if (isNaN(d)) return esc(iso);
    var utc = iso.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC");
    return '<time datetime="' + esc(iso) + '" data-utc="' + esc(iso) + '" title="' + esc(utc) +
      '">' + esc((day ? fmtDay : fmtTime).format(d)) + "</time>";
  }
  function plural(n, word) {
    return n + " " + (n === 1 ? word : word === "story" ? "stories" : word + "s");
  }
  function num(x, digits) { return typeof x === "number" ? x.toFixed(digits) : "–"; }

  function visible(i) {
    var s = S[i];
    if (state.alertsOnly && !s.alerts.length) return false;
    if (state.from && s.last && s.last.slice(0, 10) < state.from) return false;
    if (state.to && s.opened && s.opened.slice(0, 10) > state.to) return false;
    return true;
  }

  function renderCounts() {
    var c = D.counts, names = [["read", "read"], ["clustered", "clustered"],
      ["duplicates", "duplicates"], ["dead_letters", "dead letters"], ["stories", "stories"],
      ["threads", "threads"], ["alerts", "alerts"]];
    $("counts").innerHTML = names.map(function (n) {
      return '<div><dt>' + n[1] + '</dt><dd data-count="' + n[0] + '">' + c[n[0]] + "</dd></div>";
    }).join("");
    var warn = c.repeated ? plural(c.repeated, "item") + " found more than once in the outputs" : "";
    if (c.read !== c.clustered + c.duplicates + c.dead_letters) warn += " counts do not add up";
    $("warning").textContent = warn;
    $("dead").innerHTML = D.dead_letters.length ? "<summary>Dead letters by reason (" +
      c.dead_letters + ")</summary><ul>" + D.dead_letters.map(function (g) {
        var more = g.count > g.items.length ? "<li class=muted>… " + (g.count - g.items.length) +
          " more</li>" : "";
        return '<li data-reason="' + esc(g.reason) + '"><b>' + esc(g.stage) + " / " +
          esc(g.reason) + "</b>: " + g.count + "<ul>" + g.items.map(function (it) {
            return "<li>" + esc(it[0]) + ' <span class="muted">' + esc(it[2]) + "</span></li>";
          }).join("") + more + "</ul></li>";
      }).join("") + "</ul>" : "<summary>No dead letters</summary>";
  }

  function renderFilters() {
    $("f-thread").innerHTML = '<option value="">All threads</option>' + T.map(function (t) {
      return '<option value="' + esc(t.id) + '">' + esc(t.title) + "</option>";
    }).join("");
    if (D.extent) {
      ["f-from", "f-to"].forEach(function (id) {
        $(id).min = D.extent[0].slice(0, 10); $(id).max = D.extent[1].slice(0, 10);
      });
    }
    $("filters").addEventListener("input", function () {
      state.thread = $("f-thread").value; state.from = $("f-from").value;
      state.to = $("f-to").value; state.alertsOnly = $("f-alerts").checked;
      shown = {};
      renderMain();
    });
  }

  function extent(idx) {
    var lo = Infinity, hi = -Infinity;
    idx.forEach(function (i) {
      var a = Date.parse(S[i].opened), b = Date.parse(S[i].last || S[i].opened);
      if (a < lo) lo = a; if (b > hi) hi = b;
    });
    if (state.from) lo = Math.max(lo, Date.parse(state.from));
    if (state.to) hi = Math.min(hi, Date.parse(state.to) + 864e5);
    if (!isFinite(lo)) return null;
    var pad = Math.max((hi - lo) * 0.03, 864e5);
    return [lo - pad, hi + pad];
  }

  // Calendar ticks in the reader's time zone: 1/2/7/14 days, 1/2/3/6 months, or years.
  function ticks(lo, hi, most) {
    var day = 864e5, span = hi - lo, out = [], d = new Date(lo), label, step;
    var months = span / (30.4 * day * most);
    if (span <= most * 14 * day) {
      label = "d";
      step = [1, 2, 7, 14].find(function (k) { return k * most * day >= span; });
      d = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1);
    } else if (months <= 6) {
      label = "m"; step = [1, 2, 3, 6].find(function (k) { return k >= months; });
      d = new Date(d.getFullYear(), Math.ceil((d.getMonth() + 1) / step) * step, 1);
    } else {
      label = "y"; step = 12 * Math.max(1, Math.ceil(months / 12));
      d = new Date(d.getFullYear() + 1, 0, 1);
    }
    while (d.getTime() < hi && out.length < 60) {
      out.push([d.getTime(), label === "y" ? String(d.getFullYear()) :
        label === "m" ? fmtMonth.format(d) : fmtDay.format(d)]);
      d = label === "d" ? new Date(d.getFullYear(), d.getMonth(), d.getDate() + step) :
        new Date(d.getFullYear(), d.getMonth() + step, 1);
    }
    return out;
  }

  // Drawn at the width it is shown (one unit a pixel), so marks and labels keep
  // their size on a phone instead of being scaled down with the whole picture.
  function timeline(idx, range, W) {
    var H = 72, y = 26, x0 = 24, x1 = W - 24;
    function x(t) { return x0 + (x1 - x0) * (t - range[0]) / (range[1] - range[0]); }
    var parts = ['<line class="axis" x1="' + x0 + '" x2="' + x1 + '" y1="50" y2="50"/>'];
    ticks(range[0], range[1], Math.max(2, Math.floor(W / 110))).forEach(function (t) {
      var tx = x(t[0]).toFixed(1);
      if (tx < 40 || tx > W - 40) return;  // a label there would be cut off
      parts.push('<line class="axis" x1="' + tx + '" x2="' + tx + '" y1="47" y2="53"/><text x="' +
        tx + '" y="68" text-anchor="middle">' + esc(t[1]) + "</text>");
    });
    // Biggest first, so that small stories stay clickable on top.
    idx.slice().sort(function (a, b) { return S[b].size - S[a].size; }).forEach(function (i) {
      var s = S[i], r = Math.min(22, 5 + 4 * Math.sqrt(s.size));
      parts.push('<circle class="mark' + (s.alerts.length ? " alerted" : "") +
        (i === state.story ? " selected" : "") + '" data-story="' + i + '" cx="' +
        x(Date.parse(s.opened)).toFixed(1) + '" cy="' + y + '" r="' + r.toFixed(1) + '"><title>' +
        esc(s.title) + " — " + plural(s.size, "article") + (s.alerts.length ? " — alert" : "") +
        "</title></circle>");
    });
    return '<svg class="timeline" viewBox="0 0 ' + W + " " + H + '" role="img" aria-label="' +
      "stories on a date axis" + '">' + parts.join("") + "</svg>";
  }

  function storyItem(i) {
    var s = S[i];
    return '<li class="story' + (s.alerts.length ? " alerted" : "") + '" data-story-id="' +
      esc(s.id) + '"><button class="link" type="button" data-story="' + i + '">' +
      esc(s.title || s.id) + "</button> " + when(s.opened, true) + ' <span class="muted">' +
      plural(s.size, "article") + (s.dups.length ? ", " + plural(s.dups.length, "duplicate") : "") +
      "</span></li>";
  }

  function moreButton(key, done, total, step) {
    return done < total ? '<button class="more" type="button" data-more="' + esc(key) +
      '" data-step="' + step + '">Show ' + Math.min(step, total - done) + " more of " +
      (total - done) + "</button>" : "";
  }

  function renderMain() {
    var threads = T.filter(function (t) { return !state.thread || t.id === state.thread; });
    var lists = threads.map(function (t) { return t.stories.filter(visible); });
    var range = extent([].concat.apply([], lists));
    var width = Math.max(300, Math.round($("threads").getBoundingClientRect().width) || 1000);
    var html = threads.map(function (t, k) {
      var idx = lists[k];
      if ((state.alertsOnly || state.from || state.to) && !idx.length) return "";
      var key = "t:" + t.id, n = shown[key] || LIST;
      return '<section class="thread" data-thread-id="' + esc(t.id) + '" data-kind="' +
        esc(t.kind) + '"><h2>' + esc(t.title) + ' <span class="badge ' + esc(t.kind) + '">' +
        esc(t.kind) + '</span><span class="muted">' + plural(idx.length, "story") + ", " +
        plural(t.articles, "article") + "</span>" + (t.alerts ? '<span class="badge alert">' +
        plural(t.alerts, "alert") + "</span>" : "") + "</h2>" +
        (idx.length && range ? timeline(idx, range, width) : '<p class="muted">No stories.</p>') +
        '<ol class="stories">' + idx.slice(0, n).map(storyItem).join("") + "</ol>" +
        moreButton(key, Math.min(n, idx.length), idx.length, 100) + "</section>";
    }).join("");
    $("threads").innerHTML = html || '<p class="muted">Nothing matches the filters.</p>';
    renderAlerts();
  }

  function renderAlerts() {
    var rows = A.filter(function (a) {
      if (state.thread && a.thread !== state.thread) return false;
      var day = a.time.slice(0, 10);
      return !(state.from && day < state.from) && !(state.to && day > state.to);
    });
    var n = shown.alerts || 20;
    var el = $("alerts");
    // Open when short: a long list would push the threads below the fold.
    if (!el.hasAttribute("data-touched")) el.open = rows.length <= 6;
    el.innerHTML = "<summary><h2>Alerts (" + rows.length + ")</h2></summary>" + (rows.length ?
      '<ol class="alerts">' + rows.slice(0, n).map(function (a) {
        var target = a.story_index == null ? "" : ' data-story="' + a.story_index + '"';
        return '<li class="alert" data-alert-id="' + esc(a.id) + '">' + when(a.time) + " · " +
          esc(a.thread_title) + " · " + '<button class="link" type="button"' + target + ">" +
          esc(a.article[1]) + '</button> <span class="muted">score ' + num(a.score, 2) + ", by " +
          esc(a.matched_by) + "</span>" + FB.controls(a) + "</li>";
      }).join("") + "</ol>" + moreButton("alerts", Math.min(n, rows.length), rows.length, 100)
      : '<p class="muted">No alerts.</p>');
  }

  function evidence(a) {
    var near = a.nearest_story, nearHtml = "none (matched the thread's description)";
    if (near) {
      var j = S.findIndex(function (s) { return s.id === near.id; });
      nearHtml = (j >= 0 ? '<button class="link" type="button" data-story="' + j + '">' +
        esc(near.title) + "</button>" : esc(near.title)) + " " + when(near.opened_at, true) +
        " · similarity " + num(near.similarity, 3);
    }
    return '<div class="evidence" data-alert-id="' + esc(a.id) + '"><b>Alert</b> on ' +
      esc(a.thread_title) + " · " + when(a.time) + "<br>score <b>" + num(a.score, 3) +
      "</b>, matched by <b>" + esc(a.matched_by) + "</b><br>shared terms: " +
      esc(a.shared_terms.join(", ") || "–") + "<br>required terms found: " +
      esc(a.required_terms_found.join(", ") || "–") + "<br>nearest story: " + nearHtml +
      FB.controls(a) + "</div>";
  }

  function articleItem(r) {
    return "<li>" + link(r[2], r[1] || r[0]) + '<br><span class="muted">' +
      esc(r[3] || "no source") + " · </span>" + when(r[4]) + "</li>";
  }

  function renderDetail() {
    var el = $("detail");
    if (state.story < 0) {
      el.innerHTML = '<p class="muted">Select a story (a mark on a timeline or a headline) ' +
        "to see its articles and alert evidence.</p>";
      return;
    }
    var s = S[state.story], thread = T.find(function (t) { return t.id === (s.thread || ""); });
    var na = shown["a:" + s.id] || PAGE, nd = shown["d:" + s.id] || PAGE;
    el.innerHTML = '<div class="detail" data-story-id="' + esc(s.id) + '"><h2>' +
      esc(s.title || s.id) + '</h2><p class="muted">' + esc(thread ? thread.title : "") +
      "</p><p>opened " + when(s.opened) + " · last seen " + when(s.last) + " · " + esc(s.status) +
      "<br><b>" + plural(s.size, "article") + "</b>" + (s.dups.length ? ", " +
      plural(s.dups.length, "duplicate") + " folded in" : "") + "</p>" +
      s.alerts.map(function (k) { return evidence(A[k]); }).join("") +
      "<h3>Sources</h3><ul class=chips>" + s.sources.map(function (p) {
        return "<li>" + esc(p[0] || "no source") + " " + p[1] + "</li>";
      }).join("") + "</ul><h3>Top terms</h3><ul class=chips>" + s.terms.map(function (t) {
        return "<li>" + esc(t) + "</li>";
      }).join("") + '</ul><h3>Articles</h3><ol class="articles">' +
      s.articles.slice(0, na).map(articleItem).join("") + "</ol>" +
      moreButton("a:" + s.id, Math.min(na, s.size), s.size, PAGE) + (s.dups.length ?
        '<h3>Duplicates</h3><ol class="articles dups">' + s.dups.slice(0, nd).map(function (r) {
          return "<li>" + link(r[2], r[1] || r[0]) + '<br><span class="muted">' + esc(r[5]) +
            " copy of " + esc(r[6]) + " · </span>" + when(r[4]) + "</li>";
        }).join("") + "</ol>" + moreButton("d:" + s.id, Math.min(nd, s.dups.length),
        s.dups.length, PAGE) : "") + "</div>";
  }

  function select(i, scroll) {
    state.story = i;
    history.replaceState(null, "", "#story=" + encodeURIComponent(S[i].id));
    renderDetail();
    document.querySelectorAll(".mark.selected").forEach(function (m) { m.classList.remove("selected"); });
    document.querySelectorAll('.mark[data-story="' + i + '"]').forEach(function (m) { m.classList.add("selected"); });
    if (scroll && window.matchMedia("(max-width: 820px)").matches) $("detail").scrollIntoView();
  }

  document.addEventListener("click", function (ev) {
    if (FB.click(ev.target)) return;
    var t = ev.target.closest("[data-story],[data-more]");
    if (!t) return;
    if (t.hasAttribute("data-more")) {
      var key = t.getAttribute("data-more"), step = +t.getAttribute("data-step");
      shown[key] = (shown[key] || (key.charAt(0) === "t" ? LIST : key === "alerts" ? 20 : PAGE)) + step;
      if (key.charAt(1) === ":" && key.charAt(0) !== "t") renderDetail(); else renderMain();
      return;
    }
    select(+t.getAttribute("data-story"), true);
  });

  $("alerts").addEventListener("toggle", function () {
    $("alerts").setAttribute("data-touched", "");
  });
  var resized = null, lastWidth = window.innerWidth;
  window.addEventListener("resize", function () {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(resized);
    resized = setTimeout(renderMain, 150);
  });
  $("title").textContent = "threadwatch report — " + D.folder;
  $("feedback").hidden = !A.length;
  renderCounts();
  renderFilters();
  renderMain();
  var m = /^#story=(.+)$/.exec(location.hash);
  var start = m ? S.findIndex(function (s) { return s.id === decodeURIComponent(m[1]); }) : -1;
  if (start >= 0) select(start, false); else renderDetail();
  // For tests and the load-time benchmark: first render done, ms since navigation start.
  document.documentElement.setAttribute("data-rendered-ms", performance.now().toFixed(1));
  // ... and painted: the frame after the first render has been laid out and drawn.
  requestAnimationFrame(function () {
    setTimeout(function () {
      document.documentElement.setAttribute("data-painted-ms", performance.now().toFixed(1));
    }, 0);
  });
})();
