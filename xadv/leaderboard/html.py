"""The leaderboard as ONE self-contained HTML file: inline CSS, inline JS, SVG heat maps, no external assets.

The page embeds the leaderboard JSON (`Leaderboard.to_dict()`) and a small script draws from it: the model
ranking, one heat map per model (language x attack, coloured by a metric the reader picks), a per-model
view (pick a model: its languages with zero-shot marks and all its rows), the full sortable table and the
checks. Every text from the data goes in through `textContent`, never as markup, so a model name or an
example cannot inject HTML. When the script has drawn everything it sets `<body data-rendered="ok">`
(or "error" with the message on the page), which is what a headless-browser test looks for.
"""

from __future__ import annotations

import datetime as _dt
import html
import json

from xadv.leaderboard.aggregate import Leaderboard
from xadv.leaderboard.entries import FAILING
from xadv.leaderboard.render import RANK_WORDS, metric_lines, preamble
from xadv.version import __version__


def embed_json(obj) -> str:
    """JSON safe inside <script>: no "<" can close the tag or open a comment."""
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def to_html(board: Leaderboard, title: str = "xadv robustness leaderboard") -> str:
    data = board.to_dict()
    data["generated"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    data["xadv_version"] = __version__
    data["failing_kinds"] = sorted(FAILING)
    intro = "".join(f"<p class=meta>{html.escape(p)}</p>" for p in preamble(board))
    metrics = (f"<p class=meta>Ranked by {html.escape(RANK_WORDS[board.rank_by])}.</p><ul class=meta>"
               + "".join(f"<li>{html.escape(line)}</li>" for line in metric_lines(board)) + "</ul>")
    return (_PAGE.replace("%TITLE%", html.escape(title)).replace("%INTRO%", intro).replace("%METRICS%", metrics)
            .replace("%CSS%", _CSS).replace("%JS%", _JS).replace("%DATA%", embed_json(data)))


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%TITLE%</title>
<style>%CSS%</style></head>
<body data-rendered="pending">
<header><h1>%TITLE%</h1>%INTRO%</header>
<noscript><p class=warn>This page draws its tables and heat maps with JavaScript; enable it to see them.</p></noscript>
<div id="errors"></div>
<section id="models"><h2>Models</h2><p class=meta id="rank-by">Macro over the cells every model has
(common cells). Zero-shot: the model card says the model never saw QA training data in that language.</p>
%METRICS%<table id="models-table"></table></section>
<section id="heatmaps"><h2>Heat maps: language &times; attack</h2>
<p class=controls><label>colour by <select id="metric-select"></select></label>
<span class=legend id="legend"></span></p><div id="heatmap-grid"></div></section>
<section id="model-view"><h2>Per-model view</h2>
<p class=controls><label>model <select id="model-select"></select></label></p>
<div id="model-card"></div><table id="model-table" class="rows"></table></section>
<section id="all"><h2>All results</h2><p class=meta>Click a column to sort.</p>
<table id="all-table" class="rows"></table></section>
<section id="worst"><h2>Worst case over attacks</h2><table id="worst-table"></table></section>
<section id="fits"><h2>Effective robustness fits (adv F1 on clean F1, one point per model)</h2>
<table id="fits-table"></table></section>
<section id="checks"><h2>Checks</h2><ul id="checks-list"></ul></section>
<footer class=meta id="footer"></footer>
<script type="application/json" id="xadv-data">%DATA%</script>
<script>%JS%</script>
</body></html>
"""

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:24px auto;
 max-width:1400px;padding:0 16px;color:#1d232b;background:#fff}
h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2e8;padding-bottom:4px}
.meta{color:#5b6672;margin:2px 0;font-size:13px}.warn,.error{color:#a4161a;font-weight:600}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{padding:4px 8px;border-bottom:1px solid #e8ebef;text-align:left;white-space:nowrap}
th{background:#f4f6f8;position:sticky;top:0;cursor:default}table.rows th{cursor:pointer}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.flagged td{background:#fff1f0}.badge{display:inline-block;font-size:11px;padding:0 5px;border-radius:8px;
 margin-left:4px;vertical-align:1px}.zs{background:#e6f0ff;color:#1849a9}.seen{background:#fff4e0;color:#8a4b00}
.nocard{background:#eef0f2;color:#5b6672}.bad{background:#a4161a;color:#fff}
.controls{margin:6px 0}select{font:inherit;padding:2px 4px}
#heatmap-grid{display:flex;flex-wrap:wrap;gap:18px}.hm{border:1px solid #e3e7ec;border-radius:6px;padding:8px}
.hm h3{font-size:14px;margin:0 0 4px}svg text{font:12px system-ui,sans-serif}
#model-card p{margin:2px 0}ul#checks-list li{margin:2px 0}
"""

_JS = r"""
(function () {
  "use strict";
  var body = document.body;
  function fail(msg) {
    body.setAttribute("data-rendered", "error");
    var p = document.createElement("p"); p.className = "error"; p.textContent = "page error: " + msg;
    document.getElementById("errors").appendChild(p);
  }
  window.addEventListener("error", function (e) { fail(e.message); });
  var SVG = "http://www.w3.org/2000/svg";
  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    for (var k in (attrs || {})) n.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function sv(tag, attrs, text) {
    var n = document.createElementNS(SVG, tag);
    for (var k in (attrs || {})) n.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function f1(x) { return x === null || x === undefined ? "-" : Number(x).toFixed(1); }
  function signed(x) { return x === null || x === undefined ? "-" : (x >= 0 ? "+" : "") + Number(x).toFixed(1); }
  function flipText(r) {
    var j = r.joint;
    if (!j || j.rate === null) return "n/a (0/" + (j ? j.joint : 0) + ")";
    return f1(j.rate) + " (" + (Number.isInteger(j.flips) ? j.flips : j.flips.toFixed(1)) + "/" + j.joint + ")" +
      (j.note ? "\u2020" : "") + " " + ci(j.ci);
  }
  function ci(pair) { return pair && pair[0] !== null ? "[" + f1(pair[0]) + ", " + f1(pair[1]) + "]" : ""; }
  function asrText(r) {
    if (r.asr === null) return "n/a (0/" + r.asr_denominator + ")";
    return f1(r.asr) + " (" + r.asr_successes + "/" + r.asr_denominator + ") " + ci(r.ci.asr);
  }
  function zsBadge(v) {
    if (v === true) return el("span", {"class": "badge zs", title: "zero-shot: no QA training data in this language"}, "zero-shot");
    if (v === false) return el("span", {"class": "badge seen", title: "the model saw QA training data in this language"}, "seen");
    return el("span", {"class": "badge nocard", title: "no model card: unknown"}, "no card");
  }
  function fails(f) { return (D.failing_kinds || []).indexOf(f.kind) >= 0; }
  function failing(r) { return r.flags.filter(fails); }

  var D = JSON.parse(document.getElementById("xadv-data").textContent);
  var METRICS = {
    asr: {label: "ASR % (higher = easier to attack)", max: function () { return 100; }, worse: "high"},
    f1_drop: {label: "F1 drop (points)", max: function () { return Math.max(1, maxOf("f1_drop")); }, worse: "high"},
    adv_f1: {label: "adversarial F1", max: function () { return 100; }, worse: "low"},
    robust_f1: {label: "robust F1", max: function () { return 100; }, worse: "low"},
    flip_rate: {label: "flip % on jointly-correct questions", max: function () { return 100; }, worse: "high"}
  };
  function maxOf(k) { return D.rows.reduce(function (m, r) { return r[k] !== null && r[k] > m ? r[k] : m; }, 0); }
  function colour(v, metric) {
    if (v === null || v === undefined) return "#eceff2";
    var m = METRICS[metric], t = Math.max(0, Math.min(1, v / m.max()));
    if (m.worse === "low") t = 1 - t;
    // white -> amber -> deep red: the worse the cell, the darker
    var r = Math.round(255 - 90 * t), g = Math.round(247 - 200 * t), b = Math.round(236 - 210 * t);
    return "rgb(" + r + "," + g + "," + b + ")";
  }
  var models = D.models.map(function (m) { return m.model; });
  var langs = D.languages.slice();
  var labels = []; D.rows.forEach(function (r) { if (labels.indexOf(r.label) < 0) labels.push(r.label); });
  labels.sort();

  function modelsTable() {
    var t = document.getElementById("models-table");
    var head = el("tr");
    ["rank", "model", "fingerprint", "languages", "cells", "common", "clean F1", "adv F1", "robust F1", "ASR %",
     "flip % (joint)", "worst-case F1", "eff. rob.", "checks"]
      .forEach(function (h) { head.appendChild(el("th", {}, h)); });
    t.appendChild(head);
    D.models.forEach(function (m) {
      var tr = el("tr", {"data-model": m.model});
      tr.appendChild(el("td", {"class": "num"}, m.rank === null ? "-" : m.rank));
      tr.appendChild(el("td", {"class": "model-name"}, m.model));
      tr.appendChild(el("td", {}, m.fingerprint.slice(0, 12)));
      var langsTd = el("td");
      m.langs.forEach(function (l) { langsTd.appendChild(document.createTextNode(" " + l)); langsTd.appendChild(zsBadge(m.zero_shot[l])); });
      tr.appendChild(langsTd);
      [m.rows, m.common, f1(m.clean_f1), f1(m.adv_f1), f1(m.robust_f1), f1(m.asr), f1(m.flip_rate),
       f1(m.worst_case_f1), signed(m.effective)].forEach(function (v) {
        tr.appendChild(el("td", {"class": "num"}, v)); });
      var chk = el("td", {}, m.flagged ? "" : "ok");
      if (m.flagged) { chk.appendChild(el("span", {"class": "badge bad"}, m.flagged + " flagged")); tr.className = "flagged"; }
      tr.appendChild(chk);
      t.appendChild(tr);
    });
  }

  function heatmap(model, metric) {
    var box = el("div", {"class": "hm"});
    box.appendChild(el("h3", {}, model));
    var cw = 74, ch = 30, left = 92, top = 92;
    var w = left + cw * labels.length + 70, h = top + ch * langs.length + 4;  // room for the slanted last label
    var svg = sv("svg", {"class": "heatmap", "data-model": model, "data-metric": metric, width: w, height: h,
                         viewBox: "0 0 " + w + " " + h, role: "img", "aria-label": "heat map of " + model});
    labels.forEach(function (lab, j) {
      var x = left + cw * j + cw / 2, y = top - 8;
      svg.appendChild(sv("text", {"class": "col-label", x: x, y: y, transform: "rotate(-35 " + x + " " + y + ")"}, lab));
    });
    langs.forEach(function (lang, i) {
      var rows = D.rows.filter(function (r) { return r.model === model && r.lang === lang; });
      var zs = rows.length ? rows[0].zero_shot : null;
      var mark = zs === true ? " \u2731" : zs === false ? "" : " ?";
      svg.appendChild(sv("text", {"class": "row-label", "data-lang": lang, x: left - 8, y: top + ch * i + ch / 2 + 4,
                                  "text-anchor": "end"}, lang + mark));
      labels.forEach(function (lab, j) {
        var r = rows.filter(function (q) { return q.label === lab; })[0];
        var v = r ? r[metric] : null;
        var attrs = {"class": r ? "cell" : "cell empty", x: left + cw * j, y: top + ch * i, width: cw - 2,
                     height: ch - 2, rx: 3, fill: colour(v, metric), "data-lang": lang, "data-attack": lab};
        if (r) attrs["data-value"] = v === null ? "" : v.toFixed(4);
        var rect = sv("rect", attrs);
        rect.appendChild(sv("title", {}, r ? (model + " · " + lang + " · " + lab + "\nASR " + asrText(r) +
          "\nF1 " + f1(r.clean_f1) + " \u2192 " + f1(r.adv_f1) + " (n " + r.n + ", seeds " + r.seeds.join(",") + ")")
          : model + " · " + lang + " · " + lab + ": not run"));
        svg.appendChild(rect);
        var dark = v !== null && (METRICS[metric].worse === "low" ? v < 45 : v / METRICS[metric].max() > 0.55);
        svg.appendChild(sv("text", {"class": "cell-value", x: left + cw * j + cw / 2 - 1, y: top + ch * i + ch / 2 + 3,
                                    "text-anchor": "middle", fill: dark ? "#fff" : "#1d232b"}, r ? f1(v) : "\u2013"));
        if (r && failing(r).length) {
          svg.appendChild(sv("text", {"class": "flag-mark", x: left + cw * (j + 1) - 10, y: top + ch * i + 11,
                                      fill: "#a4161a", "font-weight": "bold"}, "!"));
        }
      });
    });
    box.appendChild(svg);
    return box;
  }

  function heatmaps() {
    var sel = document.getElementById("metric-select");
    Object.keys(METRICS).forEach(function (k) { sel.appendChild(el("option", {value: k}, METRICS[k].label)); });
    function draw() {
      var grid = document.getElementById("heatmap-grid"); grid.textContent = "";
      models.forEach(function (m) { grid.appendChild(heatmap(m, sel.value)); });
      var lg = document.getElementById("legend"); lg.textContent = "";
      lg.appendChild(document.createTextNode(" \u2731 zero-shot language · ? no model card · ! entry flagged by the checks · darker = worse"));
    }
    sel.addEventListener("change", draw);
    draw();
  }

  var COLS = [["model", "model"], ["lang", "lang"], ["zero-shot", "zero_shot"], ["attack", "label"], ["target", "target"],
              ["n", "n"], ["seeds", "seeds"], ["scorer", "mode"], ["clean F1", "clean_f1"], ["adv F1", "adv_f1"],
              ["\u0394F1 [95% CI]", "f1_drop"], ["robust F1", "robust_f1"], ["ASR % (k/right) [95% CI]", "asr"],
              ["flip % joint (k/joint) [95% CI]", "flip_rate"], ["eff. rob.", "effective"], ["check", null]];
  function rowsTable(table, rows, sortable) {
    var state = {key: null, dir: 1};
    function draw() {
      table.textContent = "";
      var head = el("tr");
      COLS.forEach(function (c) {
        var th = el("th", {"data-key": c[1] || ""}, c[0] + (state.key === c[1] && c[1] ? (state.dir > 0 ? " \u25b2" : " \u25bc") : ""));
        if (sortable && c[1]) th.addEventListener("click", function () {
          state.dir = state.key === c[1] ? -state.dir : 1; state.key = c[1]; draw(); });
        head.appendChild(th);
      });
      table.appendChild(head);
      var sorted = rows.slice();
      if (state.key) sorted.sort(function (a, b) {
        var x = a[state.key], y = b[state.key];
        if (x === null) return 1; if (y === null) return -1;
        return (x < y ? -1 : x > y ? 1 : 0) * state.dir; });
      sorted.forEach(function (r) {
        var bad = failing(r);
        var tr = el("tr", {"class": bad.length ? "flagged" : "", "data-model": r.model, "data-lang": r.lang});
        tr.appendChild(el("td", {}, r.model)); tr.appendChild(el("td", {}, r.lang));
        var z = el("td"); z.appendChild(zsBadge(r.zero_shot)); tr.appendChild(z);
        tr.appendChild(el("td", {}, r.label)); tr.appendChild(el("td", {}, r.target));
        tr.appendChild(el("td", {"class": "num"}, r.n)); tr.appendChild(el("td", {}, r.seeds.join(",")));
        tr.appendChild(el("td", {}, r.mode + (r.criterion !== "em" ? " (" + r.criterion + ")" : "")));
        tr.appendChild(el("td", {"class": "num"}, f1(r.clean_f1))); tr.appendChild(el("td", {"class": "num"}, f1(r.adv_f1)));
        tr.appendChild(el("td", {"class": "num"}, (f1(r.f1_drop) + " " + ci(r.ci.f1_drop)).trim()));
        tr.appendChild(el("td", {"class": "num"}, f1(r.robust_f1)));
        tr.appendChild(el("td", {"class": "num"}, asrText(r)));
        tr.appendChild(el("td", {"class": "num", title: r.joint && r.joint.note ? r.joint.note : ""}, flipText(r)));
        tr.appendChild(el("td", {"class": "num"}, signed(r.effective)));
        var chk = el("td", {}, bad.length ? "" : "ok");
        if (bad.length) chk.appendChild(el("span", {"class": "badge bad", title: bad.map(function (f) { return f.file + ": " + f.message; }).join("\n")},
                                            "flagged: " + bad.map(function (f) { return f.kind; }).join(", ")));
        tr.appendChild(chk);
        table.appendChild(tr);
      });
    }
    draw();
  }

  function modelView() {
    var sel = document.getElementById("model-select");
    models.forEach(function (m) { sel.appendChild(el("option", {value: m}, m)); });
    function draw() {
      var m = D.models.filter(function (x) { return x.model === sel.value; })[0];
      var card = document.getElementById("model-card"); card.textContent = "";
      card.setAttribute("data-model", m.model);
      card.appendChild(el("p", {}, "fingerprint " + m.fingerprint + " · rank " + (m.rank === null ? "-" : m.rank) +
        " · " + m.rows + " cells (" + m.common + " shared with every model) · macro robust F1 " + f1(m.robust_f1) +
        " · macro ASR " + f1(m.asr) + " %"));
      var lp = el("p", {}, "languages:");
      m.langs.forEach(function (l) { lp.appendChild(document.createTextNode(" " + l)); lp.appendChild(zsBadge(m.zero_shot[l])); });
      card.appendChild(lp);
      rowsTable(document.getElementById("model-table"), D.rows.filter(function (r) { return r.model === m.model; }), true);
    }
    sel.addEventListener("change", draw);
    draw();
  }

  function checks() {
    var ul = document.getElementById("checks-list"), any = false;
    D.entries.forEach(function (e) {
      e.flags.forEach(function (f) {
        any = any || fails(f);
        var li = el("li", {"class": fails(f) ? "flag" : "note", "data-kind": f.kind});
        li.appendChild(el("strong", {}, fails(f) ? "FLAGGED " : "note "));
        li.appendChild(document.createTextNode(e.file + " (" + e.model + " / " + e.lang + " / " + e.attack + " / " +
          e.target + " / seed " + e.seed + "): " + f.kind + ": " + f.message));
        ul.appendChild(li);
      });
    });
    if (!any) ul.appendChild(el("li", {"class": "ok"}, "all " + D.entries.length +
      " records passed the checks (digest, cell key, summary recomputed from the per-example outcomes)"));
  }

  function simpleTable(id, head, rows) {
    var t = document.getElementById(id), tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", {}, h)); });
    t.appendChild(tr);
    rows.forEach(function (cells) {
      var row = el("tr");
      cells.forEach(function (c, k) { row.appendChild(el("td", k > 0 && typeof c !== "string" ? {"class": "num"} : {}, c)); });
      t.appendChild(row);
    });
  }
  function extraTables() {
    simpleTable("worst-table", ["model", "lang", "attacks", "perturbations", "n", "clean F1", "worst-case acc %",
                                "worst-case F1 [95% CI]", "note"],
      D.worst_case.map(function (w) { return [w.model, w.lang, w.attacks.join(", "), w.perturbations, w.n, f1(w.clean_f1),
        f1(w.accuracy), (f1(w.f1) + " " + ci(w.ci_f1)).trim(), w.note]; }));
    simpleTable("fits-table", ["cell", "models", "slope", "intercept", "r", "note"],
      D.fits.map(function (f) { return [f.scope, f.models, f.slope === null ? "-" : f.slope.toFixed(3), f1(f.intercept),
        f.r === null ? "-" : f.r.toFixed(3), f.note]; }));
  }

  try {
    modelsTable(); extraTables(); heatmaps(); modelView();
    rowsTable(document.getElementById("all-table"), D.rows, true);
    checks();
    document.getElementById("footer").textContent = "generated " + D.generated + " by xadv " + D.xadv_version +
      " from " + D.source + " · " + D.models.length + " models, " + langs.length + " languages, " + labels.length + " attacks";
    if (body.getAttribute("data-rendered") !== "error") body.setAttribute("data-rendered", "ok");
  } catch (err) { fail(err && err.message ? err.message : String(err)); }
})();
"""
