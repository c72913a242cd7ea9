// Small behaviours htmx does not cover: closing toasts, the phone menu after navigation, and the
// few one-line reactions templates ask for with data attributes. The Content-Security-Policy
// forbids inline scripts and on*= handlers, so every behaviour lives here, bound once on document.
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

  function closest(target, selector) {
    return target && target.closest ? target.closest(selector) : null;
  }
  // <button data-dismiss=".toast">: removes the nearest ancestor matching the selector.
  // <button data-history-back>: the browser's back button, for error pages.
  document.addEventListener("click", function (event) {
    var dismiss = closest(event.target, "[data-dismiss]");
    if (dismiss) {
      var gone = dismiss.closest(dismiss.dataset.dismiss);
      if (gone) gone.remove();
      return;
    }
    if (closest(event.target, "[data-history-back]")) history.back();
  });
  // <select data-autosubmit>: submits its form on change (the language switch).
  // <input type=checkbox data-toggles="cls" data-toggles-on="sel">: mirrors its state as a class.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!field.matches) return;
    if (field.matches("[data-autosubmit]") && field.form) { field.form.requestSubmit(); return; }
    if (field.matches("[data-toggles]")) {
      var holder = field.closest(field.dataset.togglesOn || "*");
      if (holder) holder.classList.toggle(field.dataset.toggles, field.checked);
    }
  });
  // <input data-no-enter>: a search box inside a bigger form, where Enter must not submit it.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-no-enter]")) event.preventDefault();
  });
})();
