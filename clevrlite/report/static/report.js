/* clevrlite report: tabs and the instance browser. Reads window.CLEVRLITE_INDEX (data/index.js)
   and loads each instance's details from details/chunk_NNNN.js when it is opened. Text from
   benchmarks and models is only ever set with textContent. */
(function () {
  "use strict";
  var D = window.CLEVRLITE_INDEX;
  var PAGE = 50;
  var OUTCOME_NAMES = {c: "right", w: "wrong", u: "unparseable", m: "missing", "-": "not scored"};
  var CHIP = {c: "\u2713", w: "\u2717", u: "?", m: "\u2013", "-": "\u00b7"};
  var OUTCOME_FILTERS = [
    ["any", "any"], ["right", "right"], ["notright", "not right"], ["wrong", "wrong answer"],
    ["unparseable", "unparseable"], ["missing", "missing"], ["answered", "answered"]];
  var FILTER_COLUMNS = [
    ["task", "task"], ["cell", "cell"], ["pair", "pointer->target"], ["objects", "objects"],
    ["condition", "condition"], ["linking", "smallest linking set"]];
  var COL = {};
  D.columns.forEach(function (name, i) { COL[name] = i; });
  var state = {model: "0", outcome: "any", agree: "any", page: 0, id: ""};
  FILTER_COLUMNS.forEach(function (f) { state[f[0]] = ""; });
  var filtered = [];
  var position = {};
  D.rows.forEach(function (row, i) { position[row[0]] = i; });

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function value(row, column) {
    var v = row[COL[column]];
    return D.values[column] ? D.values[column][v] : String(v);
  }

  /* ---------------------------------------------------------------- tabs */
  function showTab(name) {
    ["tables", "curves", "instances"].forEach(function (tab) {
      document.getElementById("tab-" + tab).classList.toggle("active", tab === name);
      var link = document.querySelector('.tabs a[data-tab="' + tab + '"]');
      link.classList.toggle("active", tab === name);
    });
  }

  /* ---------------------------------------------------------------- state in the URL hash */
  function readHash() {
    var hash = location.hash.replace(/^#/, "");
    var parts = hash.split("&");
    var tab = parts.shift() || "tables";
    parts.forEach(function (p) {
      var kv = p.split("=");
      if (kv.length === 2 && kv[0] in state) {
        state[kv[0]] = decodeURIComponent(kv[1]);
      }
    });
    state.page = parseInt(state.page, 10) || 0;
    return ["tables", "curves", "instances"].indexOf(tab) >= 0 ? tab : "tables";
  }

  function writeHash() {
    var parts = ["instances"];
    Object.keys(state).forEach(function (k) {
      var v = String(state[k]);
      var dflt = {model: "0", outcome: "any", agree: "any", page: "0"}[k] || "";
      if (v !== dflt) parts.push(k + "=" + encodeURIComponent(v));
    });
    history.replaceState(null, "", "#" + parts.join("&"));
  }

  /* ---------------------------------------------------------------- filters */
  function select(name, label, options) {
    var wrap = el("label", {}, label);
    var sel = el("select", {name: name, id: "f-" + name});
    options.forEach(function (o) { sel.appendChild(el("option", {value: o[0]}, o[1])); });
    sel.value = state[name];
    if (sel.value !== state[name]) { state[name] = options[0][0]; sel.value = state[name]; }
    sel.addEventListener("change", function () {
      state[name] = sel.value; state.page = 0; apply();
    });
    wrap.appendChild(sel);
    return wrap;
  }

  function buildFilters() {
    var form = document.getElementById("filters");
    form.appendChild(select("model", "model", D.models.map(function (m, i) {
      return [String(i), m.name];
    })));
    form.appendChild(select("outcome", "its outcome", OUTCOME_FILTERS));
    FILTER_COLUMNS.forEach(function (f) {
      var seen = {};
      D.rows.forEach(function (row) { seen[value(row, f[0])] = true; });
      var keys = Object.keys(seen).filter(function (k) { return k !== ""; });
      if (keys.length < 2) return;
      keys.sort(function (a, b) {
        var na = /^-?\d+$/.test(a), nb = /^-?\d+$/.test(b);
        if (na && nb) return parseInt(a, 10) - parseInt(b, 10);
        if (na !== nb) return na ? -1 : 1;
        return a < b ? -1 : a > b ? 1 : 0;
      });
      form.appendChild(select(f[0], f[1], [["", "all"]].concat(keys.map(function (k) {
        return [k, k];
      }))));
    });
    if (D.models.length > 1) {
      form.appendChild(select("agree", "models", [["any", "any"],
        ["disagree", "disagree (some right, some not)"], ["agree", "agree"]]));
    }
    var reset = el("button", {type: "button", id: "reset"}, "reset");
    reset.addEventListener("click", function () {
      Object.keys(state).forEach(function (k) {
        state[k] = {model: "0", outcome: "any", agree: "any", page: 0}[k];
        if (state[k] === undefined) state[k] = "";
      });
      Array.prototype.forEach.call(form.querySelectorAll("select"), function (s) {
        s.value = state[s.name];
      });
      apply();
    });
    form.appendChild(reset);
  }

  function outcomeMatches(code) {
    switch (state.outcome) {
      case "right": return code === "c";
      case "notright": return code === "w" || code === "u" || code === "m";
      case "wrong": return code === "w";
      case "unparseable": return code === "u";
      case "missing": return code === "m";
      case "answered": return code === "c" || code === "w" || code === "u";
      default: return true;
    }
  }

  function agreement(outcomes) {
    var right = 0, answered = 0;
    for (var i = 0; i < outcomes.length; i++) {
      var c = outcomes.charAt(i);
      if (c === "c" || c === "w" || c === "u") { answered++; if (c === "c") right++; }
    }
    if (answered < 2) return "";
    return right > 0 && right < answered ? "disagree" : "agree";
  }

  function matches(row) {
    for (var i = 0; i < FILTER_COLUMNS.length; i++) {
      var name = FILTER_COLUMNS[i][0];
      if (state[name] !== "" && value(row, name) !== state[name]) return false;
    }
    var outcomes = row[COL.outcomes];
    if (!outcomeMatches(outcomes.charAt(parseInt(state.model, 10) || 0))) return false;
    if (state.agree !== "any" && agreement(outcomes) !== state.agree) return false;
    return true;
  }

  /* ---------------------------------------------------------------- counts and the list */
  function showCounts() {
    var box = document.getElementById("counts");
    box.textContent = "";
    var total = el("strong", {id: "shown", "data-count": filtered.length},
                   filtered.length + " of " + D.rows.length + " instances");
    box.appendChild(total);
    box.appendChild(document.createTextNode(" \u2014 "));
    D.models.forEach(function (m, i) {
      var right = 0, scored = 0;
      filtered.forEach(function (row) {
        var c = row[COL.outcomes].charAt(i);
        if (c !== "-") { scored++; if (c === "c") right++; }
      });
      var pct = scored ? (100 * right / scored).toFixed(1) + "%" : "\u2014";
      var span = el("span", {"class": "model-count", "data-model": m.name, "data-right": right,
                             "data-scored": scored});
      var sw = el("span", {"class": "swatch", style: "background:" + m.colour});
      span.appendChild(sw);
      span.appendChild(document.createTextNode(m.name + ": " + right + " right of " + scored +
                                                " (" + pct + ")"));
      box.appendChild(span);
    });
  }

  function chips(outcomes) {
    var frag = document.createDocumentFragment();
    for (var i = 0; i < outcomes.length; i++) {
      var c = outcomes.charAt(i);
      frag.appendChild(el("span", {"class": "chip " + (c === "-" ? "n" : c),
                                   title: D.models[i].name + ": " + OUTCOME_NAMES[c]}, CHIP[c]));
    }
    return frag;
  }

  function showList() {
    var pages = Math.max(1, Math.ceil(filtered.length / PAGE));
    state.page = Math.min(Math.max(0, state.page), pages - 1);
    var table = document.getElementById("rows");
    var head = table.tHead;
    if (!head.rows.length) {
      var tr = el("tr");
      ["id", "task", "objects", "cell", "outcomes"].forEach(function (h) {
        tr.appendChild(el("th", {}, h));
      });
      head.appendChild(tr);
    }
    var body = table.tBodies[0];
    body.textContent = "";
    filtered.slice(state.page * PAGE, (state.page + 1) * PAGE).forEach(function (row) {
      var tr = el("tr", {"data-id": row[0]});
      if (row[0] === state.id) tr.className = "selected";
      tr.appendChild(el("td", {}, row[0]));
      tr.appendChild(el("td", {}, value(row, "task")));
      tr.appendChild(el("td", {}, String(row[COL.objects])));
      var cond = value(row, "condition");
      var cell = value(row, "pair") || value(row, "cell");
      tr.appendChild(el("td", {}, cell + (cond ? " \u00b7 " + cond : "")));
      var td = el("td");
      td.appendChild(chips(row[COL.outcomes]));
      tr.appendChild(td);
      tr.addEventListener("click", function () { open(row[0]); });
      body.appendChild(tr);
    });
    document.getElementById("page").textContent = "page " + (state.page + 1) + " of " + pages;
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
  }

  function apply() {
    filtered = D.rows.filter(matches);
    showCounts();
    showList();
    writeHash();
  }

  /* ---------------------------------------------------------------- details */
  var waiting = {};
  function loadChunk(number, done) {
    var have = window.CLEVRLITE_CHUNKS && window.CLEVRLITE_CHUNKS[number];
    if (have) { done(have); return; }
    if (waiting[number]) { waiting[number].push(done); return; }
    waiting[number] = [done];
    var script = document.createElement("script");
    script.src = "details/chunk_" + ("000" + number).slice(-4) + ".js";
    script.onload = function () {
      var list = waiting[number]; delete waiting[number];
      list.forEach(function (f) { f(window.CLEVRLITE_CHUNKS[number]); });
    };
    script.onerror = function () {
      delete waiting[number];
      document.getElementById("detail").textContent = "Could not load " + script.src + ".";
    };
    document.head.appendChild(script);
  }

  function open(id) {
    if (!(id in position)) return;
    state.id = id;
    writeHash();
    Array.prototype.forEach.call(document.querySelectorAll("#rows tbody tr"), function (tr) {
      tr.classList.toggle("selected", tr.getAttribute("data-id") === id);
    });
    var at = position[id];
    loadChunk(Math.floor(at / D.chunk), function (chunk) {
      if (state.id === id) showDetail(D.rows[at], chunk[at % D.chunk]);
    });
  }

  function marked(tag, text, marks, from, to) {
    var node = el(tag);
    var at = from;
    (marks || []).slice().sort(function (a, b) { return a[0] - b[0]; }).forEach(function (m) {
      if (m[0] < at || m[1] > to) return;
      node.appendChild(document.createTextNode(text.slice(at, m[0])));
      node.appendChild(el("mark", {"class": m[2]}, text.slice(m[0], m[1])));
      at = m[1];
    });
    node.appendChild(document.createTextNode(text.slice(at, to)));
    return node;
  }

  function boxesSvg(d, model) {
    var NS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + d.size[0] + " " + d.size[1]);
    svg.setAttribute("preserveAspectRatio", "none");
    function draw(box, stroke, dashed, label, lane) {
      var r = document.createElementNS(NS, "rect");
      r.setAttribute("x", box[0]); r.setAttribute("y", box[1]);
      r.setAttribute("width", Math.max(0, box[2] - box[0]));
      r.setAttribute("height", Math.max(0, box[3] - box[1]));
      r.setAttribute("fill", "none");
      if (dashed) {  /* gold: dashes over a white line, apart from every model's colour */
        var under = r.cloneNode();
        under.setAttribute("stroke", "#fff");
        under.setAttribute("stroke-width", "3.5");
        svg.appendChild(under);
        r.setAttribute("stroke-dasharray", "6 4");
      }
      r.setAttribute("stroke", stroke);
      r.setAttribute("stroke-width", dashed ? "2" : "2.5");
      svg.appendChild(r);
      var t = document.createElementNS(NS, "text");
      /* gold labels go under the box, each model's above it in a lane of its own */
      var y = lane < 0 ? box[3] + 13 : box[1] - 3 - 13 * lane;
      if (y < 12) y = box[3] + 13 + 13 * Math.max(0, lane);
      if (y > d.size[1] - 2) y = box[1] + 13 + 13 * Math.max(0, lane);
      t.setAttribute("x", box[0] + 2);
      t.setAttribute("y", y);
      t.setAttribute("fill", stroke);
      t.textContent = label;
      svg.appendChild(t);
    }
    d.outputs.forEach(function (o, i) {
      if (!o || !o.boxes) return;
      o.boxes.forEach(function (b) {
        var label = b[4] === D.models[i].name ? b[4] : D.models[i].name + ": " + b[4];
        draw(b, D.models[i].colour, false, label, i);
      });
    });
    d.gold_boxes.forEach(function (b) {
      draw(b, b[4] === "pointer" ? "#6a3fb0" : "#111", true, b[4], -1);
    });
    return svg;
  }

  function outputLine(o, i) {
    var div = el("div", {"class": "output", "data-model": D.models[i].name});
    var who = el("div");
    who.appendChild(el("span", {"class": "swatch", style: "background:" + D.models[i].colour}));
    who.appendChild(el("span", {"class": "who"}, D.models[i].name + " "));
    var code = o ? o.outcome : "-";
    who.appendChild(el("span", {"class": "chip " + (code === "-" ? "n" : code)}, CHIP[code]));
    who.appendChild(document.createTextNode(" " + OUTCOME_NAMES[code] +
      (o && o.answer !== undefined ? ": answer " + o.answer : "") +
      (o && o.note ? " (" + o.note + ")" : "")));
    div.appendChild(who);
    if (o && o.raw !== null && o.raw !== undefined) {
      var raw = el("details");
      if (o.raw.length <= 600) raw.open = true;
      raw.appendChild(el("summary", {}, "raw output (" + o.raw.length + " characters)"));
      raw.appendChild(el("pre", {}, o.raw));
      div.appendChild(raw);
    }
    return div;
  }

  function showDetail(row, d) {
    var box = document.getElementById("detail");
    box.textContent = "";
    box.setAttribute("data-id", d.id);
    var title = el("h3", {}, d.id + " ");
    title.appendChild(chips(row[COL.outcomes]));
    box.appendChild(title);
    if (d.question) {
      var q = marked("p", d.question.text, d.question.marks, 0, d.question.text.length);
      q.className = "question";
      box.appendChild(q);
    }
    if (d.passage) {
      box.appendChild(el("h4", {}, "Passage (mentions marked)"));
      box.appendChild(marked("pre", d.passage.text, d.passage.marks, 0, d.passage.text.length));
    }
    var top = el("div", {"class": "detail-top"});
    if (d.image) {
      var figure = el("div");
      var imgbox = el("div", {"class": "imgbox"});
      imgbox.appendChild(el("img", {src: d.image, alt: "the instance's image",
                                    width: d.size[0], height: d.size[1]}));
      imgbox.appendChild(boxesSvg(d));
      figure.appendChild(imgbox);
      if (d.gold_boxes.length || d.outputs.some(function (o) { return o && o.boxes && o.boxes.length; })) {
        figure.appendChild(el("p", {"class": "legend"},
          "Dashed black: gold boxes (a box pointer dashed purple); solid: each model's boxes in its colour."));
      }
      top.appendChild(figure);
    }
    box.appendChild(top);
    box.appendChild(el("h4", {}, "Gold answer"));
    box.appendChild(el("pre", {"class": "gold"}, d.gold));
    box.appendChild(el("h4", {}, "Models"));
    d.outputs.forEach(function (o, i) { box.appendChild(outputLine(o, i)); });
    box.appendChild(el("h4", {}, "Instance"));
    var facts = el("table", {"class": "facts"});
    d.facts.forEach(function (f) {
      var tr = el("tr");
      tr.appendChild(el("th", {}, f[0]));
      tr.appendChild(el("td", {}, f[1]));
      facts.appendChild(tr);
    });
    box.appendChild(facts);
    var p = d.prompt;
    box.appendChild(el("h4", {}, "Prompt: the question's part"));
    box.appendChild(marked("pre", p.text, p.marks, p.focus, p.text.length));
    var full = el("details");
    full.appendChild(el("summary", {}, "Whole prompt (" + d.images.length + " image" +
                                       (d.images.length === 1 ? "" : "s") + ")"));
    var thumbs = el("div", {"class": "thumbs"});
    d.images.forEach(function (src, i) {
      thumbs.appendChild(el("img", {src: src, alt: "image " + (i + 1), loading: "lazy",
                                    title: "image " + (i + 1)}));
    });
    full.appendChild(thumbs);
    full.appendChild(marked("pre", p.text, p.marks, 0, p.text.length));
    box.appendChild(full);
  }

  function step(delta) {
    if (!filtered.length) return;
    var ids = filtered.map(function (r) { return r[0]; });
    var at = ids.indexOf(state.id);
    var next = at < 0 ? (delta > 0 ? 0 : ids.length - 1) : Math.min(ids.length - 1,
                                                                       Math.max(0, at + delta));
    var page = Math.floor(next / PAGE);
    if (page !== state.page) { state.page = page; showList(); }
    open(ids[next]);
  }

  /* ---------------------------------------------------------------- start */
  function start() {
    var tab = readHash();
    showTab(tab);
    Array.prototype.forEach.call(document.querySelectorAll(".tabs a"), function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        showTab(a.getAttribute("data-tab"));
        if (a.getAttribute("data-tab") === "instances") writeHash();
        else history.replaceState(null, "", "#" + a.getAttribute("data-tab"));
      });
    });
    buildFilters();
    filtered = D.rows.filter(matches);
    showCounts();
    showList();
    document.getElementById("prev").addEventListener("click", function () {
      state.page--; showList(); writeHash();
    });
    document.getElementById("next").addEventListener("click", function () {
      state.page++; showList(); writeHash();
    });
    document.addEventListener("keydown", function (e) {
      if (e.target.tagName === "SELECT" || e.target.tagName === "INPUT" || e.altKey ||
          e.ctrlKey || e.metaKey) return;
      if (!document.getElementById("tab-instances").classList.contains("active")) return;
      if (e.key === "j") step(1);
      else if (e.key === "k") step(-1);
      else if (e.key === "n" && !document.getElementById("next").disabled) {
        state.page++; showList(); writeHash();
      } else if (e.key === "p" && !document.getElementById("prev").disabled) {
        state.page--; showList(); writeHash();
      }
    });
    if (state.id) open(state.id);
    document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
    document.body.setAttribute("data-ready", "1");
  }

  start();
})();
