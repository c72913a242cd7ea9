// Small behaviours htmx does not cover: closing toasts, the phone menu after navigation.
(function () {
  "use strict";
  function autoclose(root) {
    root.querySelectorAll(".toast[data-autoclose]").forEach(function (toast) {
      if (toast.dataset.timer) return;
      toast.dataset.timer = "1";
      setTimeout(function () { toast.remove(); }, parseInt(toast.dataset.autoclose, 10) || 8000);
    });
  }
  document.addEventListener("htmx:oobAfterSwap", function () { autoclose(document); });
  document.addEventListener("htmx:afterSettle", function () {
    var toggle = document.getElementById("nav-toggle");
    if (toggle) toggle.checked = false;
    autoclose(document);
  });
  document.addEventListener("htmx:wsOpen", function () { document.body.dataset.ws = "open"; });
  document.addEventListener("htmx:wsClose", function () { document.body.dataset.ws = "closed"; });
})();
