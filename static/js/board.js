// The board's behaviours that htmx does not cover: drag and drop (Sortable.js) posting a move,
// putting a refused card back, "load more" offsets, a full resync after the socket reconnects,
// SLA times that keep counting, and on the wall display its clock and live badge.
// Everything else (the moves' answers, live pushes) is plain htmx out-of-band swapping.
(function () {
  "use strict";
  if (window.shuyuanBoard) { window.shuyuanBoard.init(); return; }  // swapped in again: just re-bind

  var pending = null;  // the dragged card while its move is on the wire: {item, from, index}

  function board() { return document.getElementById("board"); }

  function fill(pattern, values) {
    return String(pattern || "").replace(/\{(\w)\}/g, function (_, key) { return values[key]; });
  }

  function withSortable(done) {
    if (window.Sortable) { done(); return; }
    var script = document.getElementById("sortable-js");
    if (!script) {
      script = document.createElement("script");
      script.id = "sortable-js";
      script.src = "/static/vendor/Sortable.min.js";
      document.head.appendChild(script);
    }
    script.addEventListener("load", done);
  }

  function postMove(card, target) {
    var form = document.getElementById("board-move");
    if (!form) return false;
    form.elements.id.value = card.dataset.id;
    form.elements.to.value = target;
    form.elements.version.value = card.dataset.version;
    htmx.trigger(form, "submit");
    return true;
  }

  function onDrop(event) {
    if (event.from === event.to) return;
    pending = { item: event.item, from: event.from, index: event.oldIndex };
    if (!postMove(event.item, event.to.dataset.target)) pending = null;
  }

  function onMoveMenu(event) {
    var select = event.target.closest && event.target.closest(".card-move select");
    var card = select && select.closest(".board-card");
    if (card) postMove(card, select.value);
  }

  function putBack() {
    if (!pending) return;
    pending.from.insertBefore(pending.item, pending.from.children[pending.index] || null);
    pending = null;
    refresh();
  }

  function makeSortable() {
    var root = board();
    if (!root || root.dataset.movable !== "1") return;
    withSortable(function () {
      root.querySelectorAll(".column-cards:not([data-sortable])").forEach(function (list) {
        list.dataset.sortable = "1";
        window.Sortable.create(list, {
          group: "board", sort: false, animation: 150, draggable: ".board-card",
          delay: 250, delayOnTouchOnly: true,  // phones: tap and hold to drag, so the page still scrolls
          filter: "select, option", preventOnFilter: false,
          ghostClass: "is-ghost", chosenClass: "is-chosen", onEnd: onDrop
        });
      });
    });
  }

  // Counts come from the server; whether "load more" shows follows from the cards on the page.
  function refresh() {
    document.querySelectorAll(".board-column").forEach(function (column) {
      var cards = column.querySelectorAll(".board-card").length;
      var badge = column.querySelector(".column-count");
      var more = column.querySelector(".load-more");
      var total = badge ? parseInt(badge.textContent, 10) || 0 : 0;
      if (more) more.hidden = cards >= total;
      column.classList.toggle("is-empty", cards === 0);
    });
  }

  function dedupe(list) {
    var seen = {};
    list.querySelectorAll(".board-card").forEach(function (card) {
      if (seen[card.id]) card.remove(); else seen[card.id] = true;
    });
  }

  function tickSla() {
    var root = board();
    if (!root) return;
    var words = root.dataset, now = Date.now();
    root.querySelectorAll(".sla[data-due]").forEach(function (el) {
      var minutes = Math.floor((Date.parse(el.dataset.due) - now) / 60000), m = Math.abs(minutes);
      var d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
      var span = d ? fill(words.slaDh, { d: d, h: h }) : h ? fill(words.slaHm, { h: h, m: mm }) : fill(words.slaM, { m: mm });
      var state = minutes < 0 ? "overdue" : minutes <= 240 ? "soon" : "ok";
      el.textContent = fill(state === "overdue" ? words.slaOverdue : words.slaLeft, { t: span });
      el.className = "sla sla-" + state;
      var card = el.closest(".board-card");
      if (card) {
        card.classList.remove("is-ok", "is-soon", "is-overdue");
        card.classList.add("is-" + state);
      }
    });
  }

  function tickClock() {
    var clock = document.getElementById("display-clock");
    if (!clock) return;
    var now = new Date(), lang = document.documentElement.lang || "zh-CN";
    var day = now.toLocaleDateString(lang, { timeZone: "Asia/Shanghai", month: "long", day: "numeric", weekday: "short" });
    var time = now.toLocaleTimeString(lang, { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    clock.textContent = day + " " + time;
    clock.setAttribute("datetime", now.toISOString());
  }

  function setLive(state) {
    ["display-live", "board-live"].forEach(function (id) {
      var badge = document.getElementById(id);
      if (!badge) return;
      badge.dataset.state = state;
      badge.textContent = badge.dataset["text" + state.charAt(0).toUpperCase() + state.slice(1)] || state;
    });
  }

  // A card's "move to" menu holds one option until someone reaches for it.
  function fillMoveMenu(event) {
    var select = event.target.closest && event.target.closest(".card-move select");
    var targets = document.getElementById("board-targets");
    if (!select || !targets || select.dataset.filled) return;
    var current = select.value;
    select.innerHTML = targets.innerHTML;
    select.value = current;
    select.dataset.filled = "1";
  }

  function init() {
    makeSortable();
    refresh();
    tickSla();
  }

  document.addEventListener("pointerdown", fillMoveMenu, true);
  document.addEventListener("change", onMoveMenu);
  document.addEventListener("focusin", fillMoveMenu);
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt, params = event.detail.parameters;
    if (elt.classList && elt.classList.contains("load-more")) {
      params.offset = elt.closest(".board-column").querySelectorAll(".board-card").length;
    } else if (elt.id === "board-filters") {
      Object.keys(params).forEach(function (key) { if (params[key] === "") delete params[key]; });
      if (params.group === "status") delete params.group;
    }
  });
  function fromMoveForm(event) {  // detail.elt is the swap target here; the requester is in requestConfig
    var config = event.detail.requestConfig;
    // getAttribute: the form has an input named "id", which shadows form.id.
    return config && config.elt && config.elt.getAttribute("id") === "board-move";
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (pending && fromMoveForm(event)) {
      if (event.detail.xhr.status >= 400) putBack(); else pending = null;
    }
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (fromMoveForm(event)) putBack();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("column-cards")) dedupe(target);
  });
  document.addEventListener("htmx:afterSettle", init);
  document.addEventListener("htmx:wsAfterMessage", init);
  // Leaving the board page (htmx swaps it away) unsubscribes. When the whole shell goes (history
  // restore), its socket goes first and the server forgets the subscription with it.
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var gone = event.target;
    if (gone.hasAttribute && gone.hasAttribute("ws-connect")) {
      window.shuyuanSocketGoing = true;
      setTimeout(function () { window.shuyuanSocketGoing = false; }, 0);
    } else if (gone.id === "board-leave" && !window.shuyuanSocketGoing) {
      htmx.trigger(gone, "board:leave");
    }
  });

  // After a reconnect the board may have missed pushes: ask for all of it again.
  document.addEventListener("htmx:wsClose", function (event) {
    var root = board();
    if (root) root.dataset.stale = "1";
    var code = event.detail.event && event.detail.event.code;
    if (code >= 4000 && document.body.dataset.display) { setLive("revoked"); return; }
    setLive("reconnecting");
    if (!document.body.dataset.display) return;
    // The ws extension retries by itself only after abnormal closes; a display always retries.
    if ([1006, 1011, 1012, 1013].indexOf(code) < 0) {
      setTimeout(function () { event.detail.socketWrapper.reconnect(); }, 1000 + Math.random() * 2000);
    }
  });
  document.addEventListener("htmx:wsOpen", function () {
    if (document.body.dataset.display) setLive("live");  // a board page is live once subscribed
    var root = board(), resync = document.getElementById("board-resync");
    if (!root || root.dataset.stale !== "1") return;
    delete root.dataset.stale;
    if (resync) htmx.trigger(resync, "board:resync");
  });

  if (document.body.dataset.display && window.htmx) {
    // A TV should be back within seconds, not after the default back-off of up to a minute.
    htmx.config.wsReconnectDelay = function (retry) {
      return Math.min(1000 * Math.pow(2, retry), 8000) * (0.5 + Math.random() / 2);
    };
  }
  setInterval(tickSla, 30000);
  setInterval(tickClock, 1000);
  tickClock();
  window.shuyuanBoard = { init: init };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
