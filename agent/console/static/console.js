/* shopdesk staff console: live updates (server-sent events) and in-place form posts. No deps. */
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var root = document.querySelector("[data-live]");
  var kind = root ? root.getAttribute("data-live") : "";
  var live = document.getElementById("live");

  function partialUrl() {
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    return url.toString();
  }

  var pending = null;
  function refresh() {
    // Coalesce bursts of events into one re-render.
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      var target = kind === "inbox" ? document.getElementById("inbox-list")
        : kind === "conversation" ? document.getElementById("conversation-body") : null;
      if (kind === "returns") { target = document.querySelector("main"); }
      if (!target) return;
      var url = kind === "returns" ? window.location.href : partialUrl();
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) {
          if (r.redirected || r.status === 401) { window.location.href = "/console/login"; return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          if (html === null || html === undefined) return;
          if (kind === "returns") {
            var doc = new DOMParser().parseFromString(html, "text/html");
            var main = doc.querySelector("main");
            if (main) target.innerHTML = main.innerHTML;
          } else {
            target.innerHTML = html;
          }
          bindForms(target);
          if (kind === "conversation") scrollThread();
        });
    }, 80);
  }

  function scrollThread() {
    var t = document.querySelector(".transcript");
    if (t && t.lastElementChild) t.lastElementChild.scrollIntoView({ block: "nearest" });
  }

  function relevant(ev) {
    if (kind !== "conversation") return true;
    return ev.conversation_id === root.getAttribute("data-id");
  }

  function connect() {
    if (!window.EventSource || !kind) return;
    var source = new EventSource("/console/events");
    source.onopen = function () { if (live) live.classList.add("on"); };
    source.onerror = function () { if (live) live.classList.remove("on"); };
    source.addEventListener("update", function (msg) {
      var ev = {};
      try { ev = JSON.parse(msg.data); } catch (e) { return; }
      if (relevant(ev)) refresh();
    });
  }

  function bindForms(scope) {
    var forms = (scope || document).querySelectorAll("form[data-ajax]");
    Array.prototype.forEach.call(forms, function (form) {
      if (form.__bound) return;
      form.__bound = true;
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var button = form.querySelector("button");
        if (button) button.disabled = true;
        fetch(form.action, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
          body: new FormData(form)
        }).then(function (r) {
          if (button) button.disabled = false;
          if (r.status === 401) { window.location.href = "/console/login"; return; }
          if (r.ok) {
            var text = form.querySelector("textarea, input[name=text]");
            if (text) text.value = "";
            refresh();
          } else {
            r.json().then(function (b) { alert(b.message || "That did not work."); });
          }
        });
      });
      var area = form.querySelector("textarea");
      if (area) {
        area.addEventListener("keydown", function (e) {
          if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
        });
      }
    });
  }

  bindForms(document);
  if (kind === "conversation") scrollThread();
  connect();
})();
