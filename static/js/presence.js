// Ticket presence: this tab's reports over the page's socket (components/tickets/presence.html
// renders the forms that carry them). Loaded once by the shell; it does nothing on pages without
// a presence form, so it survives htmx navigation between tickets.
(function () {
  "use strict";
  var idle = null;
  var socketGoing = false;
  function report(typing) {
    var form = document.querySelector("form.presence-report");
    if (!form || !window.htmx) return;
    var input = form.querySelector("input[name=typing]"), value = typing ? "1" : "0";
    if (input.value === value) return;
    input.value = value;
    htmx.trigger(form, "presence:change");
  }
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("textarea, [contenteditable]")) return;
    if (!document.querySelector("form.presence-report")) return;
    report(true);
    clearTimeout(idle);
    idle = setTimeout(function () { report(false); }, 6000);
  });
  document.addEventListener("submit", function () { clearTimeout(idle); report(false); }, true);
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var gone = event.target;
    if (gone.hasAttribute && gone.hasAttribute("ws-connect")) {
      // The whole shell is going (history restore): the socket closes and the server drops us.
      socketGoing = true;
      setTimeout(function () { socketGoing = false; }, 0);
      return;
    }
    if (!gone.classList || !gone.classList.contains("presence-report") || socketGoing) return;
    var leave = gone.parentNode && gone.parentNode.querySelector("form.presence-leave");
    if (leave) htmx.trigger(leave, "presence:leave");
  });
  // A page kept for "back" must not come back typing.
  document.addEventListener("htmx:beforeHistorySave", function () {
    document.querySelectorAll("form.presence-report input[name=typing]").forEach(function (input) { input.value = "0"; });
  });
})();
