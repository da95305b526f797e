/* clevrlite human evaluation: one instance at a time, answers kept in localStorage under the
   sample's id (a reload resumes), downloaded as a predictions file that `clevrlite score`
   reads. Reads window.CLEVRLITE_SAMPLE (sample.js); text is only ever set with textContent. */
(function () {
  "use strict";
  var S = window.CLEVRLITE_SAMPLE;
  var KEY = "clevrlite-human:" + S.sample;
  var NS = "http://www.w3.org/2000/svg";
  var store = load();
  var at = 0;
  var shownAt = 0;
  var draft = null;

  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(KEY));
      if (saved && typeof saved.answers === "object") return saved;
    } catch (e) { /* a damaged entry starts afresh */ }
    return {answers: {}, at: 0};
  }

  function save() {
    try {
      localStorage.setItem(KEY, JSON.stringify(store));
      document.getElementById("saved").textContent = "saved in this browser";
    } catch (e) {
      document.getElementById("saved").textContent = "could not save: download your answers";
    }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function answered() { return S.items.filter(function (it) { return it.id in store.answers; }).length; }

  function firstOpen(from) {
    for (var k = 0; k < S.items.length; k++) {
      var i = (from + k) % S.items.length;
      if (!(S.items[i].id in store.answers)) return i;
    }
    return -1;
  }

  function shown(value) { return value === null ? "not in the image" : JSON.stringify(value); }

  /* ---------------------------------------------------------------- answering */
  function submit(value) {
    var it = S.items[at];
    var before = store.answers[it.id] ? store.answers[it.id].seconds : 0;
    var spent = (performance.now() - shownAt) / 1000;
    store.answers[it.id] = {answer: value, seconds: Math.round((before + spent) * 100) / 100};
    var next = firstOpen(at + 1);
    store.at = next < 0 ? at : next;
    save();
    if (next < 0) { go(at); finished(); } else { go(next); }
  }

  function finished() {
    var box = document.getElementById("current");
    box.textContent = "All " + S.items.length + " answered. Download your answers (d).";
    document.getElementById("download").focus();
  }

  function typed(text) {
    var t = text.trim();
    if (t === "") return undefined;
    try {
      var v = JSON.parse(t);
      if (typeof v === "number" || Array.isArray(v)) return v;
      if (v === null && S.items[at].null) return null;
    } catch (e) { /* a word, not JSON */ }
    return t;
  }

  /* ---------------------------------------------------------------- the image and boxes */
  function imagePoint(event, img) {
    var r = img.getBoundingClientRect();
    var x = (event.clientX - r.left) * S.width / r.width;
    var y = (event.clientY - r.top) * S.height / r.height;
    return [Math.min(S.width, Math.max(0, x)), Math.min(S.height, Math.max(0, y))];
  }

  function drawBoxes(svg) {
    svg.textContent = "";
    var it = S.items[at];
    var boxes = [];
    if (it.kind === "box" && draft.box) boxes.push([draft.box, "your box", true]);
    if (it.kind === "entities") {
      it.mentions.forEach(function (m, i) {
        if (draft.boxes[i]) boxes.push([draft.boxes[i], m.text, i === draft.current]);
      });
    }
    if (draft.dragging) boxes.push([draft.dragging, "", true]);
    boxes.forEach(function (b) {
      var r = document.createElementNS(NS, "rect");
      r.setAttribute("x", b[0][0]); r.setAttribute("y", b[0][1]);
      r.setAttribute("width", b[0][2] - b[0][0]); r.setAttribute("height", b[0][3] - b[0][1]);
      r.setAttribute("fill", "rgba(59,111,182,0.12)");
      r.setAttribute("stroke", b[2] ? "#3b6fb6" : "#7d8590");
      r.setAttribute("stroke-width", "2");
      svg.appendChild(r);
      if (b[1]) {
        var t = document.createElementNS(NS, "text");
        t.setAttribute("x", b[0][0] + 2);
        t.setAttribute("y", b[0][1] > 14 ? b[0][1] - 3 : b[0][3] + 13);
        t.setAttribute("fill", b[2] ? "#3b6fb6" : "#5d6675");
        t.textContent = b[1];
        svg.appendChild(t);
      }
    });
  }

  function showImage(it) {
    var box = document.getElementById("image");
    box.textContent = "";
    var note = document.getElementById("image-note");
    note.textContent = "";
    if (!it.image) { note.textContent = "This question has no image."; return; }
    var img = el("img", {src: it.image, alt: "the scene", width: S.width, height: S.height,
                         draggable: "false"});
    box.appendChild(img);
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + S.width + " " + S.height);
    svg.setAttribute("preserveAspectRatio", "none");
    box.appendChild(svg);
    if (it.kind !== "box" && it.kind !== "entities") return;
    box.classList.add("drawing");
    note.textContent = "Drag on the image to draw a box.";
    var start = null;
    svg.addEventListener("mousedown", function (e) {
      e.preventDefault();
      start = imagePoint(e, img);
    });
    document.onmousemove = function (e) {
      if (!start) return;
      var p = imagePoint(e, img);
      draft.dragging = [Math.min(start[0], p[0]), Math.min(start[1], p[1]),
                        Math.max(start[0], p[0]), Math.max(start[1], p[1])];
      drawBoxes(svg);
    };
    document.onmouseup = function (e) {
      if (!start) return;
      var p = imagePoint(e, img);
      var b = [Math.floor(Math.min(start[0], p[0])), Math.floor(Math.min(start[1], p[1])),
               Math.ceil(Math.max(start[0], p[0])), Math.ceil(Math.max(start[1], p[1]))];
      start = null;
      draft.dragging = null;
      if (b[2] - b[0] >= 2 && b[3] - b[1] >= 2) setBox(b);
      else drawBoxes(svg);
    };
    drawBoxes(svg);
  }

  function setBox(b) {
    var it = S.items[at];
    if (it.kind === "box") draft.box = b;
    else { draft.boxes[draft.current] = b; advanceMention(); }
    refresh();
  }

  /* ---------------------------------------------------------------- the answer controls */
  function choiceButton(index, label, action, cls) {
    var key = index === null ? "n" : String(index);
    var b = el("button", {type: "button", "data-key": key, "class": cls || ""});
    b.appendChild(el("kbd", {}, key));
    b.appendChild(document.createTextNode(label));
    b.addEventListener("click", action);
    return b;
  }

  function nullButton() {
    return choiceButton(null, "not in the image", function () { setNull(); }, "null");
  }

  function setNull() {
    var it = S.items[at];
    if (!it.null) return;
    if (it.kind === "entities") { draft.boxes[draft.current] = null; advanceMention(); refresh(); }
    else submit(null);
  }

  function advanceMention() {
    var n = S.items[at].mentions.length;
    for (var k = 0; k < n; k++) {
      var i = (draft.current + k) % n;
      if (draft.types[i] === null || draft.boxes[i] === undefined) { draft.current = i; return; }
    }
  }

  function complete() {
    return draft.types.every(function (t) { return t !== null; }) &&
      draft.boxes.every(function (b) { return b !== undefined; });
  }

  function submitDraft() {
    var it = S.items[at];
    if (it.kind === "box" && draft.box) submit(draft.box);
    else if (it.kind === "entities" && complete()) {
      submit(it.mentions.map(function (m, i) {
        return {entity: m.text, type: draft.types[i], box: draft.boxes[i]};
      }));
    } else if (it.kind === "text") {
      var v = typed(document.getElementById("typed").value);
      if (v !== undefined) submit(v);
    } else if (it.kind === "parts") {
      var value = {}, whole = true;
      it.parts.forEach(function (p) {
        var part = p.choices ? draft.parts[p.name] : typed(draft.texts[p.name] || "");
        if (part === undefined) whole = false; else value[p.name] = part;
      });
      if (whole) submit(value);
    }
  }

  /* a two-part answer: buttons for a part the image shows, a field for one the text gives */
  function partControls(it, box) {
    var empty = null;
    it.parts.forEach(function (p) {
      var div = el("div", {"class": "entity part", "data-part": p.name});
      div.appendChild(el("strong", {}, p.name + " "));
      if (p.choices) {
        var options = el("div", {"class": "choices"});
        p.choices.forEach(function (c, k) {
          options.appendChild(choiceButton(k + 1, c, function () {
            draft.parts[p.name] = c; refresh();
          }, draft.parts[p.name] === c ? "chosen" : ""));
        });
        div.appendChild(options);
      } else {
        var input = el("input", {type: "text", "data-part": p.name, "aria-label": p.name,
                                 placeholder: "as the description writes it, then Enter"});
        input.value = draft.texts[p.name] || "";
        input.addEventListener("input", function () { draft.texts[p.name] = input.value; });
        input.addEventListener("keydown", function (e) {
          if (e.key === "Enter") { e.preventDefault(); submitDraft(); }
        });
        if (!input.value && empty === null) empty = input;
        var row = el("div", {"class": "answer-row"});
        row.appendChild(input);
        div.appendChild(row);
      }
      box.appendChild(div);
    });
    var done = el("button", {type: "button", id: "submit", "class": "primary"}, "Submit (Enter)");
    done.addEventListener("click", submitDraft);
    box.appendChild(done);
    var chosen = it.parts.every(function (p) { return !p.choices || p.name in draft.parts; });
    if (chosen && empty) setTimeout(function () { empty.focus(); }, 0);
  }

  function answerControls(it) {
    var box = document.getElementById("answer");
    box.textContent = "";
    var row;
    if (it.kind === "choice") {
      row = el("div", {"class": "choices"});
      it.choices.forEach(function (c, i) {
        row.appendChild(choiceButton(i + 1, c, function () { submit(c); }));
      });
      if (it.null) row.appendChild(nullButton());
      box.appendChild(row);
    } else if (it.kind === "text") {
      row = el("div", {"class": "answer-row"});
      var input = el("input", {id: "typed", type: "text", "aria-label": "your answer",
                               placeholder: "type the answer as the description writes it, then Enter"});
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter") { e.preventDefault(); submitDraft(); }
      });
      row.appendChild(input);
      row.appendChild(el("button", {type: "button", id: "submit"}, "Submit"));
      box.appendChild(row);
      row.lastChild.addEventListener("click", submitDraft);
      if (it.null) { var nrow = el("div", {"class": "choices"}); nrow.appendChild(nullButton()); box.appendChild(nrow); }
      setTimeout(function () { input.focus(); }, 0);
    } else if (it.kind === "box") {
      row = el("div", {"class": "choices"});
      var sub = el("button", {type: "button", id: "submit", "class": "primary"}, "Submit box (Enter)");
      sub.disabled = !draft.box;
      sub.addEventListener("click", submitDraft);
      row.appendChild(sub);
      if (it.null) row.appendChild(nullButton());
      box.appendChild(row);
      box.appendChild(el("p", {"class": "status"}, draft.box ? "your box: [" + draft.box.join(", ") + "]"
                                                              : "no box drawn yet"));
    } else if (it.kind === "parts") {
      partControls(it, box);
    } else {
      it.mentions.forEach(function (m, i) {
        var div = el("div", {"class": "entity" + (i === draft.current ? " current" : ""),
                             "data-mention": i});
        div.appendChild(el("strong", {}, m.text + " "));
        var state = draft.boxes[i] === undefined ? "no box yet" :
          draft.boxes[i] === null ? "not in the image" : "box " + JSON.stringify(draft.boxes[i]);
        div.appendChild(el("span", {"class": "status"}, (draft.types[i] || "no type yet") + ", " + state));
        var types = el("div", {"class": "choices"});
        S.types.forEach(function (t, k) {
          types.appendChild(choiceButton(k + 1, t, function () {
            draft.current = i; draft.types[i] = t;
            if (draft.boxes[i] !== undefined) advanceMention();
            refresh();
          }, draft.types[i] === t ? "chosen" : ""));
        });
        types.appendChild(choiceButton(null, "not in the image", function () {
          draft.current = i; setNull();
        }, draft.boxes[i] === null ? "chosen" : ""));
        div.appendChild(types);
        div.addEventListener("click", function (e) {
          if (e.target === div || e.target.tagName === "STRONG") { draft.current = i; refresh(); }
        });
        box.appendChild(div);
      });
      var done = el("button", {type: "button", id: "submit", "class": "primary"}, "Submit (Enter)");
      done.disabled = !complete();
      done.addEventListener("click", submitDraft);
      box.appendChild(done);
    }
    var it2 = store.answers[it.id];
    document.getElementById("current").textContent = it2 ?
      "Your answer: " + shown(it2.answer) + " (answer again to change it)" : "";
  }

  function textPanel(it) {
    var box = document.getElementById("text");
    var answer = document.getElementById("answer");
    box.textContent = "";
    /* a passage is read before its mentions are grounded; a scene table after the question */
    if (it.kind === "entities") answer.parentNode.insertBefore(box, answer);
    else document.getElementById("task").appendChild(box);
    if (it.kind === "entities") {
      box.appendChild(el("h4", {}, "Passage"));
      var pre = el("pre");
      var pos = 0;
      it.mentions.slice().sort(function (a, b) { return a.start - b.start; }).forEach(function (m) {
        pre.appendChild(document.createTextNode(it.passage.slice(pos, m.start)));
        var idx = it.mentions.indexOf(m);
        pre.appendChild(el("mark", {"class": "mention" + (idx === draft.current ? " active" : "")},
                           it.passage.slice(m.start, m.end)));
        pos = m.end;
      });
      pre.appendChild(document.createTextNode(it.passage.slice(pos)));
      box.appendChild(pre);
    } else if (it.scene_table) {
      box.appendChild(el("h4", {}, "Scene description"));
      box.appendChild(sceneTable(it.scene_table));
      var raw = el("details");
      raw.appendChild(el("summary", {}, "as the model reads it"));
      raw.appendChild(el("pre", {}, it.scene_text));
      box.appendChild(raw);
    } else if (it.scene_text) {
      box.appendChild(el("h4", {}, "Scene description"));
      box.appendChild(el("pre", {}, it.scene_text));
    }
  }

  function sceneTable(scene) {
    var table = el("table", {"class": "objects"});
    var head = el("tr");
    scene.columns.forEach(function (k) { head.appendChild(el("th", {}, k)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    scene.rows.forEach(function (row) {
      var tr = el("tr");
      row.forEach(function (v) { tr.appendChild(el("td", {}, v)); });
      body.appendChild(tr);
    });
    table.appendChild(body);
    return table;
  }

  function refresh() {
    var it = S.items[at];
    answerControls(it);
    textPanel(it);
    var svg = document.querySelector("#image svg");
    if (svg) drawBoxes(svg);
  }

  /* ---------------------------------------------------------------- navigation */
  function go(i) {
    at = Math.max(0, Math.min(S.items.length - 1, i));
    store.at = at;
    var it = S.items[at];
    var prior = store.answers[it.id] ? store.answers[it.id].answer : undefined;
    draft = {box: null, dragging: null, current: 0, types: [], boxes: [], parts: {}, texts: {}};
    if (it.kind === "box" && Array.isArray(prior)) draft.box = prior;
    if (it.kind === "parts" && prior && typeof prior === "object") {
      it.parts.forEach(function (p) {
        if (!(p.name in prior)) return;
        if (p.choices) draft.parts[p.name] = prior[p.name];
        else draft.texts[p.name] = typeof prior[p.name] === "string" ? prior[p.name] :
          JSON.stringify(prior[p.name]);
      });
    }
    if (it.kind === "entities") {
      draft.types = it.mentions.map(function (m, k) {
        return Array.isArray(prior) && prior[k] ? prior[k].type : null;
      });
      draft.boxes = it.mentions.map(function (m, k) {
        return Array.isArray(prior) && prior[k] ? prior[k].box : undefined;
      });
    }
    document.getElementById("question").textContent = it.kind === "entities" ?
      "For each mention in the passage, choose its type and draw its box, or say it is not in the image." :
      it.question;
    document.getElementById("instructions").textContent = it.instructions;
    showImage(it);
    refresh();
    var done = answered();
    document.getElementById("progress").textContent = done + " of " + S.items.length + " answered";
    document.getElementById("bar").style.width = (100 * done / S.items.length) + "%";
    document.getElementById("position").textContent = "instance " + (at + 1) + " of " +
      S.items.length + " (" + it.id + ")";
    document.getElementById("back").disabled = at === 0;
    document.getElementById("forward").disabled = at === S.items.length - 1;
    document.body.setAttribute("data-item", it.id);
    shownAt = performance.now();
  }

  function download() {
    var lines = S.items.filter(function (it) { return it.id in store.answers; }).map(function (it) {
      var a = store.answers[it.id];
      return JSON.stringify({id: it.id, prediction: '{"answer": ' + JSON.stringify(a.answer) + "}",
                             seconds: a.seconds, benchmark: S.benchmark.fingerprint,
                             sample: S.sample});
    });
    var blob = new Blob([lines.join("\n") + (lines.length ? "\n" : "")],
                        {type: "application/x-ndjson"});
    var a = el("a", {href: URL.createObjectURL(blob), download: "human-" + S.sample + ".jsonl"});
    document.body.appendChild(a);
    a.click();
    a.remove();
    document.getElementById("saved").textContent = "downloaded " + lines.length + " answers";
  }

  function onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target.tagName === "INPUT") return;
    var it = S.items[at];
    var digit = /^[1-9]$/.test(e.key) ? parseInt(e.key, 10) : 0;
    if (digit) {
      var imagePart = it.kind === "parts" ? it.parts.filter(function (p) { return p.choices; })[0] : null;
      if (it.kind === "choice" && digit <= it.choices.length) submit(it.choices[digit - 1]);
      else if (imagePart && digit <= imagePart.choices.length) {
        draft.parts[imagePart.name] = imagePart.choices[digit - 1];
        refresh();
      }
      else if (it.kind === "entities" && digit <= S.types.length) {
        draft.types[draft.current] = S.types[digit - 1];
        if (draft.boxes[draft.current] !== undefined) advanceMention();
        refresh();
      }
    } else if (e.key === "n" || e.key === "0") {
      setNull();
    } else if (e.key === "Enter") {
      if (e.target.tagName === "BUTTON") return;
      e.preventDefault();
      submitDraft();
    } else if (e.key === "Tab" && it.kind === "entities") {
      e.preventDefault();
      draft.current = (draft.current + (e.shiftKey ? it.mentions.length - 1 : 1)) % it.mentions.length;
      refresh();
    } else if (e.key === "ArrowLeft") {
      go(at - 1); save();
    } else if (e.key === "ArrowRight") {
      go(at + 1); save();
    } else if (e.key === "d") {
      download();
    }
  }

  function start() {
    document.getElementById("about").textContent = "Sample " + S.sample + ": " + S.items.length +
      " instances of the " + S.benchmark.suite + " benchmark " + S.benchmark.name +
      " (fingerprint " + S.benchmark.fingerprint + "), seed " + S.seed + ".";
    document.getElementById("back").addEventListener("click", function () { go(at - 1); save(); });
    document.getElementById("forward").addEventListener("click", function () { go(at + 1); save(); });
    document.getElementById("download").addEventListener("click", download);
    document.addEventListener("keydown", onKey);
    var resume = typeof store.at === "number" && store.at >= 0 && store.at < S.items.length ? store.at : 0;
    go(resume);
    if (firstOpen(0) < 0) finished();
    document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
    document.body.setAttribute("data-ready", "1");
  }

  start();
})();
