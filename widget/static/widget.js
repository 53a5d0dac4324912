/* shopdesk chat widget: one <script> tag, a <shopdesk-chat> custom element in a Shadow DOM.
 * No framework, no build step. Message, passage and action content only ever reaches the page
 * through textContent and createElement: never as HTML. */
(function () {
  "use strict";
  var W = window;
  var D = document;
  // Loaded twice (two tags, or a tag plus a tag manager)? The first copy owns the page.
  if (W.__shopdesk || !W.customElements || !W.WebSocket) return;
  var perf = W.performance;
  function mark(name) {
    try {
      perf.mark(name);
    } catch (e) {
      /* marks are best effort */
    }
  }
  mark("shopdesk-script-start");

  var TAG = "shopdesk-chat";
  // Tell the host page (window events): the conversation is ready, a message came, a handoff.
  function announce(name, detail) {
    try {
      W.dispatchEvent(new CustomEvent("shopdesk:" + name, { detail: detail }));
    } catch (e) {
      /* a host page's listener must never break the chat */
    }
  }
  var script = D.currentScript || D.querySelector("script[data-shopdesk]");
  // pages.py inlines widget.css here when it serves the file; a raw copy fetches it instead.
  var CSS_TEXT = /*__SHOPDESK_CSS__*/ null;

  var STRINGS = {
    en: {
      open: "Open chat", close: "Close chat", title: "Chat with us",
      subtitle: "Usually replies in seconds",
      placeholder: "Ask us anything…", send: "Send message",
      message: "Message", startOver: "Start over", log: "Conversation",
      greeting: "Hi! I can answer questions about our policies and help with orders, returns and delivery.",
      confirm: "Confirm", decline: "Decline", confirmed: "Confirmed", declined: "Declined",
      pleaseConfirm: "Please confirm", tracking: "Tracking number",
      typing: "Typing", working: "Working on it…", reconnecting: "Reconnecting…",
      offline: "We can't reach the chat right now. We'll keep trying.",
      refused: "Chat isn't available on this page.",
      error: "Something went wrong. Please try again.", dismiss: "Dismiss",
      handoff: "A person from the store will join this conversation.", staff: "Store team",
      label: "Download return label (PDF)", fee: "Fee", passage: "Show the quoted passage",
      powered: "Powered by shopdesk", startReturn: "Start a return",
      leadTitle: "Want to hear from us?",
      leadIntro: "Leave your email and we'll let you know about what interests you: restocks, new pieces, offers.",
      leadEmail: "Email", leadInterest: "What would you like to hear about? (optional)",
      leadHint: "e.g. restocks, new mugs", leadSubmit: "Keep me posted", leadSkip: "No thanks",
      leadNeedEmail: "Please enter your email address.", leadThanks: "Thanks! You're on the list.",
      attach: "Attach a photo", photoAlt: "Your photo", photoSending: "Sending your photo…",
      photoTooBig: "That photo is over 10 MB; please choose a smaller one.",
      photoFailed: "That photo couldn't be sent. Please try again.",
      actions: {
        lookup_order: "Looking up your order…",
        check_eligibility: "Checking the return policy…",
        create_return_authorization: "Creating your return…",
        generate_label: "Preparing your return label…",
        fetch_tracking: "Checking your parcel…",
        capture_lead: "Saving your email…",
      },
    },
    fr: {
      open: "Ouvrir le chat", close: "Fermer le chat", title: "Discutons",
      subtitle: "Réponse en quelques secondes",
      placeholder: "Posez votre question…", send: "Envoyer",
      message: "Message", startOver: "Recommencer", log: "Conversation",
      greeting: "Bonjour ! Je réponds aux questions sur nos conditions, vos commandes et vos retours.",
      confirm: "Confirmer", decline: "Refuser", confirmed: "Confirmé", declined: "Refusé",
      pleaseConfirm: "À confirmer", tracking: "Numéro de suivi",
      typing: "En train d'écrire", working: "Un instant…", reconnecting: "Reconnexion…",
      offline: "Le chat est injoignable pour le moment. Nous réessayons.",
      refused: "Le chat n'est pas disponible sur cette page.",
      error: "Un problème est survenu. Veuillez réessayer.", dismiss: "Fermer",
      handoff: "Une personne du magasin va rejoindre la conversation.", staff: "L'équipe",
      label: "Télécharger l'étiquette de retour (PDF)", fee: "Frais", passage: "Voir le passage cité",
      powered: "Propulsé par shopdesk", startReturn: "Faire un retour",
      leadTitle: "Envie d'avoir de nos nouvelles ?",
      leadIntro: "Laissez votre e-mail : nous vous écrirons au sujet de ce qui vous intéresse.",
      leadEmail: "E-mail", leadInterest: "Ce qui vous intéresse (facultatif)",
      leadHint: "ex. réassorts, nouveaux bols", leadSubmit: "Tenez-moi au courant", leadSkip: "Non merci",
      leadNeedEmail: "Veuillez saisir votre adresse e-mail.", leadThanks: "Merci ! C'est noté.",
      actions: {},
    },
  };

  function readConfig(el) {
    var d = (script && script.dataset) || {};
    var a = function (name) {
      return (el && el.getAttribute(name)) || d[name] || "";
    };
    var base = a("shopdesk") || d.shopdesk;
    if (!base && script && script.src) base = new URL(script.src, location.href).origin;
    base = (base || location.origin).replace(/\/+$/, "");
    var lang = (a("language") || D.documentElement.lang || "en").toLowerCase().slice(0, 2);
    return {
      base: base,
      colour: a("colour") || a("color"),
      position: a("position") === "left" ? "left" : "right",
      greeting: a("greeting"),
      title: a("title"),
      lang: STRINGS[lang] ? lang : "en",
      email: a("email"),
      signature: a("signature"),
    };
  }

  function wsUrl(base) {
    return base.replace(/^http/i, "ws") + "/ws";
  }

  // ---- tiny DOM helpers (text only) -------------------------------------------------------
  function h(tag, cls, text) {
    var n = D.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = String(text);
    return n;
  }
  var SVGNS = "http://www.w3.org/2000/svg";
  var quoteSeq = 0;
  function icon(paths, size) {
    var s = D.createElementNS(SVGNS, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("width", size || 20);
    s.setAttribute("height", size || 20);
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    paths.forEach(function (d) {
      var p = D.createElementNS(SVGNS, "path");
      p.setAttribute("d", d);
      s.appendChild(p);
    });
    return s;
  }
  var ICON_CHAT = ["M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6A.5.5 0 0 1 5 19.2V16h0a1 1 0 0 1-1-1z"];
  var ICON_CLOSE = ["M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z"];
  var ICON_CAMERA = ["M9 3 7.2 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3zm3 5a4.5 4.5 0 1 1 0 9 4.5 4.5 0 0 1 0-9zm0 2a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5z"];
  var PHOTO_TYPES = "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif";
  var PHOTO_MAX_BYTES = 10 * 1024 * 1024;
  var ICON_SEND = ["M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z"];
  var ICON_DOC = ["M6 2h8l5 5v13a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm7 1.5V8h4.5zM8 12h8v1.5H8zm0 3.5h8V17H8z"];

  function safeUrl(raw, base) {
    try {
      var u = new URL(String(raw), base + "/");
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (e) {
      return null;
    }
  }
  function link(href, text) {
    var a = h("a", "sd-link", text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  // ---- the markdown subset: paragraphs, **bold**, lists, links, [n] citation marks ---------
  var INLINE =
    /\*\*([^*\n]+)\*\*|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)\]'])|\[(\d{1,2})\]/g;
  function inline(parent, text, ctx) {
    var last = 0;
    var m;
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(text))) {
      if (m.index > last) parent.appendChild(D.createTextNode(text.slice(last, m.index)));
      last = INLINE.lastIndex;
      if (m[1] != null) {
        parent.appendChild(h("strong", null, m[1]));
      } else if (m[2] != null) {
        var u = safeUrl(m[3], ctx.base);
        parent.appendChild(u ? link(u, m[2]) : D.createTextNode(m[0]));
      } else if (m[4] != null) {
        var u2 = safeUrl(m[4], ctx.base);
        parent.appendChild(u2 ? link(u2, m[4]) : D.createTextNode(m[0]));
      } else {
        var mk = ctx.cite ? ctx.cite(m[5]) : null;
        parent.appendChild(mk || D.createTextNode(m[0]));
      }
    }
    if (last < text.length) parent.appendChild(D.createTextNode(text.slice(last)));
  }
  function markdown(text, ctx) {
    var frag = D.createDocumentFragment();
    var lines = String(text || "").replace(/\r\n?/g, "\n").split("\n");
    var para = null;
    var list = null;
    var listKind = "";
    function endPara() {
      para = null;
    }
    function endList() {
      list = null;
      listKind = "";
    }
    lines.forEach(function (line) {
      var heading = /^\s{0,3}#{1,6}\s+(.*)$/.exec(line);
      if (heading) {
        endList();
        frag.appendChild(h("p")).appendChild(h("strong", null, heading[1]));
        endPara();
        return;
      }
      var bullet = /^\s*[-*•]\s+(.*)$/.exec(line);
      var num = /^\s*\d{1,3}[.)]\s+(.*)$/.exec(line);
      if (!line.trim()) {
        endPara();
        endList();
      } else if (bullet || num) {
        endPara();
        var kind = bullet ? "ul" : "ol";
        if (!list || listKind !== kind) {
          list = frag.appendChild(h(kind));
          listKind = kind;
        }
        var li = list.appendChild(h("li"));
        inline(li, (bullet || num)[1], ctx);
      } else {
        endList();
        if (para) para.appendChild(ctx.soft ? D.createTextNode(" ") : h("br"));
        else para = frag.appendChild(h("p"));
        inline(para, line, ctx);
      }
    });
    return frag;
  }

  // A pale store colour needs dark text on it. Canvas normalises any CSS colour to rgb for us.
  function isLight(colour) {
    try {
      var c = D.createElement("canvas").getContext("2d");
      c.fillStyle = colour;
      c.fillRect(0, 0, 1, 1);
      var d = c.getImageData(0, 0, 1, 1).data;
      return 0.2126 * d[0] + 0.7152 * d[1] + 0.0722 * d[2] > 160;
    } catch (e) {
      return false;
    }
  }

  function storage(kind) {
    try {
      var s = W[kind];
      s.setItem("__shopdesk_probe", "1");
      s.removeItem("__shopdesk_probe");
      return s;
    } catch (e) {
      return null; // private mode or sandboxed iframe: the widget still works, just forgets
    }
  }

  function textOf(item) {
    if (typeof item.text === "string") return item.text;
    if (typeof item.content === "string") return item.content;
    return "";
  }
  function labelUrl(action, result) {
    if (!result || typeof result !== "object") return null;
    var label = result.label && typeof result.label === "object" ? result.label : null;
    var url = result.label_url || (label && label.url);
    if (!url && /label/.test(action || "")) url = result.url;
    return typeof url === "string" ? url : null;
  }

  // ---- the element ----------------------------------------------------------------------
  class ShopdeskChat extends HTMLElement {
    constructor() {
      super();
      this._root = this.attachShadow({ mode: "open" });
      this._ws = null;
      this._attempt = 0;
      this._timer = 0;
      this._live = false; // true while on the page: reconnects only happen then
      this._built = false;
      this._busy = false;
      this._ready = false;
      this._stream = null;
      this._unread = 0;
      this._leadText = null; // the consent wording the server sent; none means no lead form
      this._leadDue = false; // a handoff or a new return happened: offer the form after the reply
      this._lead = null; // the lead form on screen (one per conversation)
      this._knownEmail = ""; // the last email address the shopper typed, to prefill the form
    }

    connectedCallback() {
      this._live = true;
      if (!this._built) this._build();
      // Back online: skip the rest of the backoff.
      this._kick = this._kick || (() => {
        if (this._wanted && !this._ws) {
          this._attempt = 0;
          this._connect();
        }
      });
      W.addEventListener("online", this._kick);
      if (this._wanted) this._connect();
    }

    disconnectedCallback() {
      // Removed from the page: stop everything, no reconnect loop left behind.
      this._live = false;
      clearTimeout(this._timer);
      W.removeEventListener("online", this._kick);
      this._closeSocket();
    }

    // ---- construction -------------------------------------------------------------------
    _build() {
      this._built = true;
      var cfg = (this._cfg = readConfig(this));
      var t = (this._t = STRINGS[cfg.lang]);
      this._store = storage("localStorage");
      this._session = storage("sessionStorage");
      this._setKey();
      var root = this._root;
      if (CSS_TEXT) {
        if (root.adoptedStyleSheets !== undefined && W.CSSStyleSheet) {
          var sheet = new CSSStyleSheet();
          sheet.replaceSync(CSS_TEXT);
          root.adoptedStyleSheets = [sheet];
        } else {
          root.appendChild(h("style", null, CSS_TEXT));
        }
      } else {
        var css = h("link");
        css.rel = "stylesheet";
        css.href = cfg.base + "/widget.css";
        root.appendChild(css);
      }
      var wrap = (this._wrap = h("div", "sd-root sd-" + cfg.position));
      wrap.setAttribute("lang", cfg.lang);
      if (!CSS_TEXT) {
        wrap.style.visibility = "hidden";
        css.addEventListener("load", function () {
          wrap.style.visibility = "";
        });
      }
      if (cfg.colour && W.CSS && CSS.supports("color", cfg.colour)) {
        wrap.style.setProperty("--sd-accent", cfg.colour);
        if (isLight(cfg.colour)) wrap.style.setProperty("--sd-accent-ink", "#1f2328");
      }
      root.appendChild(wrap);

      var bubble = (this._bubble = h("button", "sd-bubble"));
      bubble.type = "button";
      bubble.setAttribute("aria-label", t.open);
      bubble.setAttribute("aria-expanded", "false");
      bubble.setAttribute("aria-controls", "sd-panel");
      bubble.appendChild(icon(ICON_CHAT, 28)).classList.add("sd-i-chat");
      bubble.appendChild(icon(ICON_CLOSE, 26)).classList.add("sd-i-close");
      this._badge = bubble.appendChild(h("span", "sd-badge"));
      this._badge.hidden = true;
      bubble.addEventListener("click", this.toggle.bind(this));

      var panel = (this._panel = h("div", "sd-panel"));
      panel.id = "sd-panel";
      panel.setAttribute("role", "dialog");
      panel.setAttribute("aria-label", cfg.title || t.title);
      panel.hidden = true;

      var head = panel.appendChild(h("div", "sd-head"));
      var avatar = head.appendChild(h("div", "sd-avatar"));
      avatar.appendChild(icon(ICON_CHAT, 18));
      var titles = head.appendChild(h("div", "sd-titles"));
      titles.appendChild(h("div", "sd-title", cfg.title || t.title));
      this._sub = titles.appendChild(h("div", "sd-sub", t.subtitle));
      var restart = head.appendChild(h("button", "sd-restart", t.startOver));
      restart.type = "button";
      restart.addEventListener("click", this.startOver.bind(this));
      var close = head.appendChild(h("button", "sd-close"));
      close.type = "button";
      close.setAttribute("aria-label", t.close);
      close.appendChild(icon(ICON_CLOSE, 20));
      close.addEventListener("click", this.close.bind(this));

      this._banner = panel.appendChild(h("div", "sd-banner"));
      this._banner.setAttribute("role", "alert");
      this._banner.hidden = true;

      var log = (this._log = panel.appendChild(h("div", "sd-log")));
      log.setAttribute("role", "log");
      log.setAttribute("aria-live", "off"); // announcements go through the live region below
      log.setAttribute("aria-label", t.log);
      log.tabIndex = 0;
      this._live_region = panel.appendChild(h("div", "sd-sr"));
      this._live_region.setAttribute("aria-live", "polite");
      this._live_region.setAttribute("aria-atomic", "true");

      var status = (this._status = panel.appendChild(h("div", "sd-status")));
      status.hidden = true;

      var form = panel.appendChild(h("form", "sd-composer"));
      this._buildAttach(form);
      var input = (this._input = form.appendChild(h("textarea", "sd-input")));
      input.rows = 1;
      input.placeholder = t.placeholder;
      input.setAttribute("aria-label", t.message);
      input.maxLength = 4000;
      var send = (this._send = form.appendChild(h("button", "sd-send")));
      send.type = "submit";
      send.setAttribute("aria-label", t.send);
      send.appendChild(icon(ICON_SEND, 20));
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        this._submit();
      });
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          this._submit();
        }
      });
      input.addEventListener("input", () => this._grow());
      var foot = h("div", "sd-foot");
      // The return portal, as a plain link: it works without this script, and a signed-in
      // shopper arrives signed in (the host page's signature travels with the email).
      var portal = h("a", "sd-return-link", t.startReturn);
      var returns = new URL(cfg.base + "/returns");
      if (cfg.email && cfg.signature) {
        returns.searchParams.set("email", cfg.email);
        returns.searchParams.set("signature", cfg.signature);
      }
      portal.href = returns.href;
      portal.target = "_blank";
      portal.rel = "noopener noreferrer";
      foot.appendChild(portal);
      foot.appendChild(D.createTextNode(" · " + t.powered));
      panel.appendChild(foot);
      panel.addEventListener("keydown", (e) => {
        if (e.key === "Escape") {
          e.stopPropagation();
          this.close();
        }
      });

      wrap.appendChild(panel);
      wrap.appendChild(bubble);
      this._renderGreeting();
      applyWanted(this); // setUser/reset asked for before the element existed
      if (this._session && this._session.getItem("shopdesk-open") === "1") this.open(false);
      var self = this;
      W.requestAnimationFrame(function () {
        mark("shopdesk-bubble-visible");
        self.dispatchEvent(new CustomEvent("shopdesk:ready", { bubbles: false }));
      });
    }

    // ---- public controls ----------------------------------------------------------------
    open(focus) {
      this._panel.hidden = false;
      this._wrap.classList.add("sd-open");
      this._bubble.setAttribute("aria-expanded", "true");
      this._bubble.setAttribute("aria-label", this._t.close);
      this._unread = 0;
      this._badge.hidden = true;
      if (this._session) this._session.setItem("shopdesk-open", "1");
      this._wanted = true;
      if (!this._ws) this._connect();
      if (focus !== false) this._input.focus();
      this._scroll(true);
    }
    close() {
      if (this._panel.hidden) return;
      this._panel.hidden = true;
      this._wrap.classList.remove("sd-open");
      this._bubble.setAttribute("aria-expanded", "false");
      this._bubble.setAttribute("aria-label", this._t.open);
      if (this._session) this._session.removeItem("shopdesk-open");
      this._bubble.focus();
    }
    toggle() {
      if (this._panel.hidden) this.open();
      else this.close();
    }
    _setKey() {
      var cfg = this._cfg;
      this._key = "shopdesk-conversation:" + cfg.base + ":" + (cfg.email || "guest").toLowerCase();
      this._token = null; // the resume token, when storage is unavailable
    }
    _forget() {
      if (this._store) {
        this._store.removeItem(this._key);
        this._store.removeItem(this._key + ":token");
      }
      this._token = null;
    }
    _keep(id, token) {
      if (id) this._conversation = id;
      if (token) this._token = token;
      if (!this._store) return;
      if (id) this._store.setItem(this._key, id);
      if (token) this._store.setItem(this._key + ":token", token);
    }
    // The host page signs its shopper in (setUser) or out (reset): a different shopper gets a
    // fresh conversation; the same one again changes nothing.
    setIdentity(email, signature) {
      var cfg = this._cfg;
      email = email ? String(email) : null;
      signature = email && signature ? String(signature) : null;
      if ((cfg.email || null) === email && (cfg.signature || null) === signature) return false;
      if (!email) this._forget(); // signing out drops the signed-in shopper's conversation
      cfg.email = email;
      cfg.signature = signature;
      this._setKey();
      return true;
    }
    startOver() {
      this._restart(true);
      this._input.focus();
    }
    // A new conversation on screen; `forget`: the stored id and token go too (start over, sign
    // out), else a signed-in shopper's own stored conversation may resume.
    _restart(forget) {
      if (forget) this._forget();
      this._conversation = null;
      this._lead = null;
      this._leadDue = false;
      this._attempt = 0;
      this._closeSocket();
      this._clear();
      this._busy = false;
      this._setWorking(false);
      if (this._wanted) this._connect();
    }

    // ---- connection -----------------------------------------------------------------------
    _connect() {
      if (!this._live || this._ws) return;
      clearTimeout(this._timer);
      var ws;
      try {
        ws = new WebSocket(wsUrl(this._cfg.base));
      } catch (e) {
        this._retry();
        return;
      }
      this._ws = ws;
      this._ready = false;
      ws.onopen = () => {
        var hello = { type: "hello" };
        var id = this._conversation || (this._store && this._store.getItem(this._key));
        // The latest token, even if another tab rotated it: an id without it resumes nothing.
        var token = (this._store && this._store.getItem(this._key + ":token")) || this._token;
        if (id) hello.conversation_id = id;
        if (id && token) hello.resume_token = token;
        if (this._cfg.email && this._cfg.signature) {
          hello.identity = { email: this._cfg.email, signature: this._cfg.signature };
        }
        ws.send(JSON.stringify(hello));
      };
      ws.onmessage = (e) => {
        if (ws !== this._ws) return;
        var ev;
        try {
          ev = JSON.parse(e.data);
        } catch (err) {
          return;
        }
        if (ev && typeof ev.type === "string") this._onEvent(ev);
      };
      ws.onclose = (e) => {
        if (ws !== this._ws) return;
        this._ws = null;
        this._ready = false;
        this._sync();
        if (e.code === 1008) {
          this._showBanner(this._t.refused); // origin refused: retrying cannot help
          return;
        }
        // Idle timeout: stay quiet until the shopper does something (send or open reconnects).
        if (e.code === 4000) return;
        this._retry();
      };
    }
    _retry() {
      if (!this._live) return;
      this._attempt += 1;
      if (this._attempt > 1) this._sub.textContent = this._t.reconnecting;
      if (this._attempt > 3) this._showBanner(this._t.offline, true);
      // Exponential backoff with jitter: 0.5 s, 1 s, 2 s … capped at 8 s.
      var delay = Math.min(8000, 500 * Math.pow(2, this._attempt - 1));
      delay = delay * (0.8 + Math.random() * 0.4);
      clearTimeout(this._timer);
      this._timer = setTimeout(this._connect.bind(this), delay);
    }
    _closeSocket() {
      var ws = this._ws;
      this._ws = null;
      this._ready = false;
      if (ws) {
        ws.onclose = ws.onmessage = ws.onopen = null;
        try {
          ws.close(1000);
        } catch (e) {
          /* already closing */
        }
      }
    }
    _sendEvent(ev) {
      if (!this._ws || !this._ready) return false;
      this._ws.send(JSON.stringify(ev));
      return true;
    }

    // ---- events from the server -----------------------------------------------------------
    _onEvent(ev) {
      var t = this._t;
      switch (ev.type) {
        case "ready":
          this._ready = true;
          this._attempt = 0;
          this._sub.textContent = t.subtitle;
          this._hideBanner(true);
          this._conversation = ev.conversation_id;
          this._keep(ev.conversation_id, ev.resume_token);
          this._clear();
          (ev.transcript || []).forEach(this._renderStored, this);
          // Why this is not the conversation asked for, or why its order details are hidden.
          if (typeof ev.notice === "string" && ev.notice) this._notice(ev.notice);
          var lf = ev.lead_form;
          this._leadText = lf && typeof lf.consent_text === "string" ? lf.consent_text : null;
          this._leadDue = false;
          var lead = this._lead;
          if (lead && !lead.done && lead.conv === ev.conversation_id) {
            this._log.appendChild(lead.row); // reconnected mid-form: keep what was typed
            this._leadIdle(lead);
          }
          this._busy = false;
          this._setWorking(false);
          this._sync();
          if (this._outbox) {
            var queued = this._outbox;
            this._outbox = null;
            this._input.value = queued;
            this._submit();
          }
          this._scroll(true);
          announce("ready", {
            conversationId: ev.conversation_id,
            verified: !!ev.verified,
            resumed: !!ev.resumed,
          });
          break;
        case "session":
          this._keep(null, ev.resume_token); // rotated: the old token no longer resumes
          break;
        case "assistant_delta":
          this._setWorking(false);
          if (!this._stream) {
            this._stream = { text: "", el: this._bubbleFor("assistant") };
          }
          this._stream.text += ev.text || "";
          this._paintStream();
          break;
        case "assistant_message":
          this._finishAssistant(ev);
          announce("message", { role: "assistant", text: textOf(ev) });
          break;
        case "action_started":
          this._endStream();
          this._setWorking(true, (t.actions && t.actions[ev.action]) || t.working);
          break;
        case "action_finished":
          this._setWorking(true, t.working);
          this._actionResult(ev);
          if (ev.action === "create_return_authorization" && ev.ok !== false) this._leadDue = true;
          break;
        case "confirmation_request":
          this._endStream();
          this._setWorking(false);
          this._confirmCard(ev);
          break;
        case "agent_message":
          this._endStream();
          this._setWorking(false);
          this._busy = false; // a person answered: the shopper may write again
          this._sync();
          this._addAgent(ev);
          this._announce((ev.name || t.staff) + ": " + (ev.text || ""));
          announce("message", { role: "agent", text: textOf(ev), name: ev.name || null });
          break;
        case "handoff":
          this._endStream();
          this._setWorking(false);
          this._busy = false;
          this._sync();
          // The server may say what to expect (a team member replies here; or, outside business
          // hours, leave an email address in the chat).
          this._notice(ev.message || t.handoff + (ev.reason ? " (" + ev.reason + ")" : ""));
          this._announce(ev.message || t.handoff);
          this._leadDue = true;
          announce("handoff", { reason: ev.reason || "", message: ev.message || null });
          break;
        case "lead_saved":
          this._leadAnswer(ev, true);
          break;
        case "upload_token":
          var waiter = (this._tokenWaiters || []).shift();
          if (waiter) waiter(ev);
          break;
        case "message_received":
          // Stored for the store's team (a person owns the conversation): no AI reply follows.
          this._endStream();
          this._setWorking(false);
          this._busy = false;
          this._sync();
          if (ev.notice) this._notice(ev.notice);
          break;
        case "error":
          if (ev.about === "lead") {
            this._leadAnswer(ev, false); // the form's own error, shown in the form
            break;
          }
          this._endStream();
          this._busy = false;
          this._setWorking(false);
          this._sync();
          this._showBanner(ev.message || t.error);
          break;
        default:
        // Unknown events are ignored: the server may add types before the widget learns them.
      }
    }

    _renderStored(item) {
      if (!item || typeof item !== "object") return;
      var type = item.type || "";
      var role = item.role || "";
      var text = textOf(item);
      if (type === "user_message" || role === "user") {
        if (text) this._addUser(text);
      } else if (type === "assistant_message" || role === "assistant") {
        if (text) this._renderAssistant(this._bubbleFor("assistant"), text, item.citations);
      } else if (type === "agent_message" || role === "agent" || role === "staff") {
        if (text) this._addAgent(item);
      } else if (type === "handoff" || role === "handoff") {
        this._notice(this._t.handoff);
      } else if (type === "action_finished" || role === "action") {
        this._actionResult(item);
      } else if (role === "notice") {
        if (text) this._notice(text); // e.g. order details withheld after a verification ended
      }
    }

    // ---- rendering ------------------------------------------------------------------------
    _clear() {
      this._stream = null;
      while (this._log.firstChild) this._log.removeChild(this._log.firstChild);
      this._renderGreeting();
    }
    _renderGreeting() {
      var el = this._bubbleFor("assistant greeting");
      el.appendChild(markdown(this._cfg.greeting || this._t.greeting, { base: this._cfg.base }));
    }
    // ---- photos: a token over the socket, then one HTTP POST per photo -------------------
    _buildAttach(form) {
      var t = this._t;
      var file = (this._file = form.appendChild(h("input", "sd-file")));
      file.type = "file";
      file.accept = PHOTO_TYPES;
      file.multiple = true;
      file.hidden = true;
      file.tabIndex = -1;
      file.setAttribute("aria-hidden", "true");
      var attach = (this._attach = form.appendChild(h("button", "sd-attach")));
      attach.type = "button";
      attach.setAttribute("aria-label", t.attach);
      attach.title = t.attach;
      attach.appendChild(icon(ICON_CAMERA, 20));
      attach.addEventListener("click", function () {
        file.click();
      });
      file.addEventListener("change", () => {
        var files = Array.prototype.slice.call(file.files || []);
        file.value = "";
        this._sendPhotos(files);
      });
    }
    _uploadToken() {
      var self = this;
      return new Promise(function (resolve) {
        (self._tokenWaiters = self._tokenWaiters || []).push(resolve);
        if (!self._sendEvent({ type: "upload_request" })) {
          self._tokenWaiters.pop();
          resolve(null);
        }
      });
    }
    async _sendPhotos(files) {
      var t = this._t;
      var grant = null;
      for (var i = 0; i < files.length; i++) {
        var f = files[i];
        if (f.size > PHOTO_MAX_BYTES) {
          this._photoError(t.photoTooBig);
          continue;
        }
        if (!grant || Date.parse(grant.expires_at) - Date.now() < 30000) grant = await this._uploadToken();
        if (!grant) {
          this._photoError(t.photoFailed);
          return;
        }
        var pending = this._bubbleFor("user photo");
        pending.textContent = t.photoSending;
        var body = new FormData();
        body.append("photo", f, f.name || "photo");
        var answer = null;
        try {
          var res = await fetch(this._cfg.base + grant.url, {
            method: "POST",
            body: body,
            headers: { Authorization: "Bearer " + grant.token },
          });
          answer = await res.json();
          if (!res.ok) throw answer;
        } catch (e) {
          pending.parentNode.remove();
          this._photoError((e && e.error && e.message) || t.photoFailed);
          continue;
        }
        this._showPhoto(pending, answer);
        this._announce(answer.message || "");
      }
    }
    _showPhoto(el, photo) {
      el.textContent = "";
      var img = el.appendChild(h("img", "sd-thumb"));
      img.alt = this._t.photoAlt;
      img.src = this._cfg.base + photo.thumbnail_url;
      el.dataset.photo = photo.id;
      this._scroll(true);
    }
    _photoError(text) {
      var el = this._row("notice").appendChild(h("div", "sd-notice sd-photo-error", text));
      el.setAttribute("role", "alert");
      this._scroll(true);
    }

    _row(kind) {
      var near = this._nearBottom();
      var row = this._log.appendChild(h("div", "sd-row sd-row-" + kind.split(" ")[0]));
      this._stick = near;
      return row;
    }
    _bubbleFor(kind) {
      var row = this._row(kind);
      var el = row.appendChild(h("div", "sd-msg sd-" + kind.split(" ").join(" sd-")));
      this._scroll();
      return el;
    }
    _addUser(text) {
      var found = /[^\s@<>()[\],;:"']+@[^\s@<>()[\],;:"']+\.[A-Za-z]{2,}/.exec(text);
      if (found) this._knownEmail = found[0];
      this._bubbleFor("user").textContent = text;
      this._scroll(true);
    }
    _addAgent(ev) {
      var el = this._bubbleFor("agent");
      el.appendChild(h("div", "sd-who", ev.name || ev.author || this._t.staff));
      el.appendChild(markdown(textOf(ev), { base: this._cfg.base }));
      this._scroll();
    }
    _notice(text) {
      this._row("notice").appendChild(h("div", "sd-notice", text));
      this._scroll();
    }
    _paintStream() {
      var s = this._stream;
      if (s.raf) return;
      s.raf = W.requestAnimationFrame(() => {
        s.raf = 0;
        if (this._stream !== s) return;
        s.el.replaceChildren(markdown(s.text, { base: this._cfg.base }));
        s.el.classList.add("sd-streaming");
        this._scroll();
      });
    }
    _endStream() {
      // A tool round started after some text: keep that text as it is and start fresh later.
      if (this._stream) {
        var s = this._stream;
        if (s.raf) W.cancelAnimationFrame(s.raf);
        s.el.replaceChildren(markdown(s.text, { base: this._cfg.base }));
        s.el.classList.remove("sd-streaming");
        this._stream = null;
      }
    }
    _finishAssistant(ev) {
      var s = this._stream;
      this._stream = null;
      if (s && s.raf) W.cancelAnimationFrame(s.raf);
      var el = s ? s.el : this._bubbleFor("assistant");
      el.classList.remove("sd-streaming");
      this._renderAssistant(el, textOf(ev), ev.citations);
      this._busy = false;
      this._setWorking(false);
      this._sync();
      this._announce(textOf(ev));
      if (this._leadDue) this._offerLead();
      if (this._panel.hidden) {
        this._unread += 1;
        this._badge.textContent = String(this._unread);
        this._badge.hidden = false;
      }
      this._scroll();
    }
    _renderAssistant(el, text, citations) {
      var chips = [];
      var cites = Array.isArray(citations) ? citations : [];
      var box = h("div", "sd-cites");
      cites.forEach((c, i) => {
        if (!c || typeof c !== "object") return;
        chips[i + 1] = this._chip(box, c);
      });
      // The server lists citations in order of first mention of their [n] marker, so the k-th
      // distinct marker in the text is the k-th citation, whatever its number in the prompt.
      var order = {};
      var seen = 0;
      String(text || "").replace(/\[(\d{1,2})\]/g, function (_, n) {
        if (!(n in order) && seen < cites.length) order[n] = ++seen;
        return _;
      });
      var ctx = {
        base: this._cfg.base,
        cite: function (n) {
          var k = order[n];
          if (!k || !chips[k]) return null;
          var b = h("button", "sd-mark", String(k));
          b.type = "button";
          b.setAttribute("aria-label", "Source " + k);
          b.addEventListener("click", function () {
            chips[k].open(true);
          });
          return b;
        },
      };
      el.replaceChildren(markdown(text, ctx));
      if (chips.length) el.appendChild(box);
    }
    _chip(box, c) {
      var wrap = box.appendChild(h("div", "sd-cite"));
      var label = c.heading || c.title || c.source || "Source";
      var btn = wrap.appendChild(h("button", "sd-chip"));
      btn.type = "button";
      btn.appendChild(icon(ICON_DOC, 13));
      btn.appendChild(h("span", null, label));
      btn.setAttribute("aria-expanded", "false");
      btn.title = label;
      var quote = wrap.appendChild(h("blockquote", "sd-quote"));
      quote.hidden = true;
      quote.id = "sd-q" + ++quoteSeq;
      btn.setAttribute("aria-controls", quote.id);
      // Passages are markdown: render the same safe subset, with source line wraps as spaces.
      quote.appendChild(markdown(c.text || "", { base: this._cfg.base, soft: true }));
      if (c.source) quote.appendChild(h("cite", null, c.source));
      var open = function (on) {
        quote.hidden = !on;
        btn.setAttribute("aria-expanded", on ? "true" : "false");
      };
      btn.addEventListener("click", function () {
        open(quote.hidden);
      });
      return { open: open };
    }
    _confirmCard(ev) {
      var t = this._t;
      var card = this._row("confirm").appendChild(h("div", "sd-card"));
      card.setAttribute("role", "group");
      card.setAttribute("aria-label", ev.action || t.confirm);
      var title = card.appendChild(h("div", "sd-card-title", t.pleaseConfirm));
      card.appendChild(markdown(ev.summary || ev.action || "", { base: this._cfg.base }));
      var fee = ev.fee != null ? ev.fee : ev.arguments && ev.arguments.fee;
      if (fee != null && fee !== "" && fee !== 0) {
        card.appendChild(h("div", "sd-fee", t.fee + ": " + fee));
      }
      var row = card.appendChild(h("div", "sd-actions"));
      var yes = row.appendChild(h("button", "sd-btn sd-primary", t.confirm));
      var no = row.appendChild(h("button", "sd-btn", t.decline));
      yes.type = no.type = "button";
      var answer = (approved) => {
        if (!this._sendEvent({ type: "confirmation_response", id: ev.id, approved: approved })) {
          this._showBanner(t.offline, true);
          return;
        }
        yes.disabled = no.disabled = true;
        row.replaceChildren(h("div", "sd-answered", approved ? "✓ " + t.confirmed : t.declined));
        card.classList.add("sd-done");
        title.remove();
        this._setWorking(true, approved ? t.working : null);
        this._input.focus();
      };
      yes.addEventListener("click", function () {
        answer(true);
      });
      no.addEventListener("click", function () {
        answer(false);
      });
      this._announce(ev.summary || "");
      this._scroll();
      if (!this._panel.hidden) yes.focus();
    }
    _actionResult(ev) {
      var r = ev.result;
      var url = ev.ok !== false ? labelUrl(ev.action, r) : null;
      var href = url && safeUrl(url, this._cfg.base);
      if (!href) return;
      var card = this._row("label").appendChild(h("div", "sd-card sd-labelcard"));
      var a = card.appendChild(link(href, this._t.label));
      a.classList.add("sd-label");
      a.prepend(icon(ICON_DOC, 16));
      if (new URL(href).origin === location.origin) a.setAttribute("download", "");
      if (r && r.tracking_number) {
        card.appendChild(h("div", "sd-meta", this._t.tracking + " " + r.tracking_number));
      }
      this._scroll();
    }

    // ---- the optional "keep me posted" form ----------------------------------------------
    // Offered once per conversation, after a handoff or a new return. The consent box starts
    // unticked and its words are the server's (they are stored with the lead as agreed to).
    _offerLead() {
      this._leadDue = false;
      var conv = this._conversation;
      if (!this._leadText || !conv || (this._lead && this._lead.conv === conv)) return;
      var key = "shopdesk-lead:" + this._cfg.base + ":" + conv;
      if (this._store && this._store.getItem(key)) return;
      if (this._store) this._store.setItem(key, "offered");
      this._lead = this._leadForm(conv);
    }
    _leadForm(conv) {
      var t = this._t;
      var row = this._row("lead");
      var form = row.appendChild(h("form", "sd-card sd-leadcard"));
      form.noValidate = true; // the server's refusal is shown in the form, in its own words
      form.setAttribute("aria-label", t.leadTitle);
      form.appendChild(h("div", "sd-card-title", t.leadTitle));
      form.appendChild(h("p", "sd-lead-intro", t.leadIntro));
      var field = function (label, input) {
        var wrap = form.appendChild(h("label", "sd-field"));
        wrap.appendChild(h("span", null, label));
        wrap.appendChild(input);
        return input;
      };
      var email = field(t.leadEmail, h("input", "sd-lead-email"));
      email.type = "email";
      email.name = "email";
      email.maxLength = 254;
      email.autocomplete = "email";
      email.value = this._cfg.email || this._knownEmail || "";
      var interest = field(t.leadInterest, h("input", "sd-lead-interest"));
      interest.name = "interest";
      interest.maxLength = 200;
      interest.placeholder = t.leadHint;
      var consent = form.appendChild(h("label", "sd-consent"));
      var box = consent.appendChild(h("input", "sd-lead-consent"));
      box.type = "checkbox";
      box.name = "consent";
      box.checked = false;
      consent.appendChild(h("span", null, this._leadText));
      var err = form.appendChild(h("div", "sd-lead-error"));
      err.setAttribute("role", "alert");
      err.hidden = true;
      var row2 = form.appendChild(h("div", "sd-actions"));
      var yes = row2.appendChild(h("button", "sd-btn sd-primary", t.leadSubmit));
      var no = row2.appendChild(h("button", "sd-btn", t.leadSkip));
      yes.type = "submit";
      no.type = "button";
      var lead = { conv: conv, row: row, form: form, email: email, interest: interest, box: box,
                   err: err, yes: yes, no: no, pending: false, done: false };  // prettier-ignore
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        this._sendLead(lead);
      });
      no.addEventListener("click", () => {
        lead.done = true;
        row.remove();
        this._input.focus();
      });
      this._announce(t.leadTitle);
      this._scroll();
      return lead;
    }
    _sendLead(lead) {
      var t = this._t;
      if (lead.pending || lead.done) return;
      var email = lead.email.value.trim();
      if (!email) {
        this._leadError(lead, t.leadNeedEmail);
        lead.email.focus();
        return;
      }
      var ev = { type: "lead", email: email, interest: lead.interest.value.trim(),
                 consent: lead.box.checked === true };  // prettier-ignore
      if (!this._sendEvent(ev)) {
        this._leadError(lead, t.offline);
        return;
      }
      lead.pending = true;
      lead.yes.disabled = lead.no.disabled = true;
      lead.err.hidden = true;
    }
    _leadIdle(lead) {
      lead.pending = false;
      lead.yes.disabled = lead.no.disabled = false;
    }
    _leadError(lead, text) {
      lead.err.textContent = text;
      lead.err.hidden = false;
      this._scroll();
    }
    _leadAnswer(ev, ok) {
      var lead = this._lead;
      if (!lead || lead.done) return;
      this._leadIdle(lead);
      if (!ok) {
        this._leadError(lead, ev.message || this._t.error);
        if (ev.code === "consent_required") lead.box.focus();
        else if (/email/.test(ev.code || "")) lead.email.focus();
        return;
      }
      lead.done = true;
      lead.form.classList.add("sd-done");
      var thanks = h("div", "sd-lead-thanks", "✓ " + (ev.message || this._t.leadThanks));
      lead.form.replaceChildren(thanks);
      this._announce(ev.message || this._t.leadThanks);
      this._scroll();
    }

    // ---- composer and status --------------------------------------------------------------
    _submit() {
      var text = this._input.value.trim();
      if (!text || this._busy) return;
      this._input.value = "";
      if (!this._ready) {
        // Not connected: keep the message and send it as soon as `ready` arrives.
        this._outbox = text;
        this._addUser(text);
        this._sub.textContent = this._t.reconnecting;
        if (!this._ws) {
          this._attempt = 0;
          this._connect();
        }
        return;
      }
      this._hideBanner();
      this._sendEvent({ type: "user_message", text: text });
      this._addUser(text);
      this._grow();
      this._busy = true;
      this._setWorking(true);
      this._sync();
    }
    _sync() {
      this._send.disabled = this._busy || !this._ready;
      this._input.setAttribute("aria-busy", this._busy ? "true" : "false");
    }
    _setWorking(on, label) {
      var st = this._status;
      st.replaceChildren();
      if (!on) {
        st.hidden = true;
        return;
      }
      st.hidden = false;
      if (label) {
        st.appendChild(h("span", "sd-spin"));
        st.appendChild(h("span", null, label));
      } else this._typing(true);
    }
    _typing(on) {
      var st = this._status;
      if (!on) {
        if (st.querySelector(".sd-typing")) {
          st.replaceChildren();
          st.hidden = true;
        }
        return;
      }
      st.replaceChildren();
      var dots = st.appendChild(h("span", "sd-typing"));
      dots.setAttribute("role", "img");
      dots.setAttribute("aria-label", this._t.typing);
      for (var i = 0; i < 3; i++) dots.appendChild(h("i"));
      st.hidden = false;
    }
    _showBanner(text, transient) {
      var b = this._banner;
      b.replaceChildren(h("span", null, text));
      var x = b.appendChild(h("button", "sd-dismiss"));
      x.type = "button";
      x.setAttribute("aria-label", this._t.dismiss);
      x.appendChild(icon(ICON_CLOSE, 16));
      x.addEventListener("click", () => this._hideBanner());
      b.hidden = false;
      b.dataset.transient = transient ? "1" : "";
    }
    _hideBanner(onlyTransient) {
      if (onlyTransient && this._banner.dataset.transient !== "1") return;
      this._banner.hidden = true;
    }
    _announce(text) {
      var r = this._live_region;
      r.textContent = "";
      // A fresh node each time so screen readers announce repeats too.
      setTimeout(function () {
        r.textContent = String(text || "").slice(0, 500);
      }, 30);
    }
    _grow() {
      var i = this._input;
      i.style.height = "auto";
      i.style.height = Math.min(i.scrollHeight, 120) + "px";
    }
    _nearBottom() {
      var l = this._log;
      return l.scrollHeight - l.scrollTop - l.clientHeight < 80;
    }
    _scroll(force) {
      if (force || this._stick !== false) this._log.scrollTop = this._log.scrollHeight;
    }
  }

  if (!customElements.get(TAG)) customElements.define(TAG, ShopdeskChat);

  var el = null;
  var wantedUser = null; // the last setUser/reset, applied once the element is built
  function applyWanted(chat) {
    var want = wantedUser;
    if (!want) return;
    wantedUser = null;
    if (want.reset) {
      chat._forget(); // the signed-in shopper's stored conversation, then the guest's
      chat.setIdentity(null, null);
      chat._restart(true);
    } else if (chat.setIdentity(want.email, want.signature)) {
      chat._restart(false);
    }
  }
  function mount() {
    if (el || D.querySelector(TAG)) {
      el = el || D.querySelector(TAG);
      return;
    }
    el = D.createElement(TAG);
    (D.body || D.documentElement).appendChild(el);
  }
  // One global, prefixed. open()/close() let a store wire its own "Chat with us" links.
  W.__shopdesk = {
    version: "0.1.0",
    open: function () {
      mount();
      el.open();
    },
    close: function () {
      if (el) el.close();
    },
    element: function () {
      return el;
    },
    // The host page's shopper, signed with the store secret (sign-in); safe before the widget is
    // ready and safe to call twice.
    setUser: function (email, signature) {
      wantedUser = { email: email || null, signature: signature || null };
      var chat = el || D.querySelector(TAG);
      if (chat && chat._built) applyWanted(chat);
    },
    // The host page's sign-out (or a shared computer): a fresh conversation, nothing remembered.
    reset: function () {
      wantedUser = { email: null, signature: null, reset: true };
      var chat = el || D.querySelector(TAG);
      if (chat && chat._built) applyWanted(chat);
    },
  };
  if (D.body) mount();
  else D.addEventListener("DOMContentLoaded", mount);
})();
