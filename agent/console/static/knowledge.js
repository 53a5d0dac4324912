/* shopdesk staff console: knowledge editor (live preview, save) and "try a question". No deps.
   Text from files and search results is always set with textContent; the only innerHTML is the
   preview, rendered server-side by markdown-it with raw HTML disabled. */
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";

  function $(id) { return document.getElementById(id); }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.status === 401) { window.location.href = "/console/login"; throw new Error("signed out"); }
      return r.json().catch(function () { return { ok: false, message: "Unexpected answer (" + r.status + ")." }; })
        .then(function (b) { b.status = r.status; return b; });
    });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fillOutline(list, sections) {
    if (!list) return;
    list.textContent = "";
    (sections || []).forEach(function (s) { list.appendChild(el("li", "", s.heading)); });
  }

  // ---- editor -------------------------------------------------------------------------------
  var form = $("editor-form");
  var editor = $("editor");
  if (form && editor) {
    var saveBtn = $("save");
    var result = $("save-result");
    var base = $("base-sha1");
    var preview = $("preview");
    var problem = $("problem");
    var outline = $("outline");
    var state = $("preview-state");
    var size = $("kn-size");
    var source = form.querySelector('input[name="source"]').value;
    var maxBytes = parseInt(editor.getAttribute("data-max-bytes"), 10) || 262144;
    var savedText = editor.value;
    var timer = null;
    var seq = 0;
    var saving = false;

    var bytes = function (s) { return new Blob([s]).size; };
    var showSize = function () {
      if (!size) return;
      var n = bytes(editor.value);
      size.textContent = (n / 1024).toFixed(1) + " KB" + (editor.value !== savedText ? " · unsaved changes" : "");
      size.classList.toggle("over", n > maxBytes);
    };

    var showProblem = function (p) {
      if (!problem) return;
      if (p) {
        problem.textContent = (p.line ? "Line " + p.line + ": " : "") + p.message;
        problem.hidden = false;
      } else {
        problem.textContent = "";
        problem.hidden = true;
      }
    };

    var refreshPreview = function () {
      var mine = ++seq;
      if (state) state.textContent = "updating…";
      postJson("/console/api/knowledge/preview", { source: source, text: editor.value })
        .then(function (b) {
          if (mine !== seq) return; // a newer keystroke already asked again
          if (state) state.textContent = "";
          if (b.html === undefined) { if (state) state.textContent = b.message || "preview unavailable"; return; }
          preview.innerHTML = b.html;
          showProblem(b.problem);
          fillOutline(outline, b.sections);
        })
        .catch(function () { if (state && mine === seq) state.textContent = "preview unavailable"; });
    };

    editor.addEventListener("input", function () {
      showSize();
      clearTimeout(timer);
      timer = setTimeout(refreshPreview, 300);
    });

    var setResult = function (ok, message) {
      result.textContent = message;
      result.classList.remove("ok", "bad");
      result.classList.add(ok ? "ok" : "bad");
    };

    var save = function () {
      if (saving) return;
      saving = true;
      saveBtn.disabled = true;
      result.classList.remove("ok", "bad");
      result.textContent = "Saving…";
      var text = editor.value;
      postJson("/console/api/knowledge/save", { source: source, text: text, base_sha1: base.value })
        .then(function (b) {
          if (b.ok) {
            base.value = b.sha1;
            savedText = text;
            fillOutline(outline, b.sections);
            setResult(true, b.message);
            var url = new URL(window.location.href);
            if (url.searchParams.has("new")) {
              url.searchParams.delete("new");
              window.history.replaceState(null, "", url.toString());
            }
          } else {
            setResult(false, b.message || "Not saved.");
            if (b.error === "invalid_markdown") showProblem({ line: b.line, message: b.message.replace(/^Not saved: (line \d+: )?/, "") });
          }
          showSize();
        })
        .catch(function () { setResult(false, "Not saved: the server could not be reached."); })
        .then(function () { saving = false; saveBtn.disabled = false; });
    };

    form.addEventListener("submit", function (e) { e.preventDefault(); save(); });
    document.addEventListener("keydown", function (e) {
      if ((e.ctrlKey || e.metaKey) && (e.key === "s" || e.key === "S")) { e.preventDefault(); save(); }
    });
    showSize();
  }

  // ---- try a question -----------------------------------------------------------------------
  var q = $("try-q");
  var go = $("try-go");
  var list = $("try-results");
  var verdict = $("try-verdict");
  if (q && go && list) {
    var ask = function () {
      var question = q.value.trim();
      list.textContent = "";
      verdict.classList.remove("ok", "bad");
      if (!question) { verdict.textContent = "Type a question first."; return; }
      verdict.textContent = "Searching…";
      go.disabled = true;
      fetch("/console/api/knowledge/search?q=" + encodeURIComponent(question), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (r) {
        if (r.status === 401) { window.location.href = "/console/login"; throw new Error("signed out"); }
        return r.json();
      }).then(function (b) {
        if (!b.passages) { verdict.textContent = b.message || "Search failed."; return; }
        var conf = "confidence " + b.confidence.toFixed(2) + " (threshold " + b.threshold.toFixed(2) + ")";
        verdict.textContent = b.answered
          ? "Answered from the knowledge below — " + conf + "."
          : "Below the threshold: the assistant would say it does not know — " + conf + ".";
        verdict.classList.add(b.answered ? "ok" : "bad");
        if (!b.passages.length) list.appendChild(el("li", "kn-none", "No passages found."));
        b.passages.forEach(function (p) {
          var li = el("li", "kn-hit");
          var head = el("div", "kn-hit-head");
          var link = el("a", "kn-cite", p.source + " > " + p.heading);
          link.href = "/console/knowledge/edit?source=" + encodeURIComponent(p.source) + "&q=" + encodeURIComponent(question);
          head.appendChild(link);
          head.appendChild(el("span", "kn-score", "score " + Number(p.score).toFixed(3)));
          li.appendChild(head);
          li.appendChild(el("p", "kn-passage", p.text));
          list.appendChild(li);
        });
      }).catch(function () {
        verdict.textContent = "Search failed: the server could not be reached.";
      }).then(function () { go.disabled = false; });
    };
    var tryForm = q.form;
    if (tryForm) tryForm.addEventListener("submit", function (e) { e.preventDefault(); ask(); });
    else go.addEventListener("click", ask);
    if (q.value.trim()) ask();
  }
})();
