// itdd clinic: small progressive enhancements (no framework, no build step).
// 1. Forms with data-partial="#target" post in the background and swap only that panel.
// 2. The programming form shows the fields of the chosen therapy mode only.
(function () {
  "use strict";

  function bindPartials(root) {
    root.querySelectorAll("form[data-partial]").forEach(function (form) {
      if (form.dataset.bound) return;
      form.dataset.bound = "1";
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var data = new FormData(form);
        if (ev.submitter && ev.submitter.name) data.append(ev.submitter.name, ev.submitter.value);
        var target = document.querySelector(form.dataset.partial);
        form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        fetch(form.action, {
          method: "POST",
          body: new URLSearchParams(data),
          headers: { "X-Partial": "1" },
          credentials: "same-origin",
        }).then(function (res) {
          if (res.redirected) { window.location.assign(res.url); return null; }
          return res.text();
        }).then(function (html) {
          if (html === null || !target) return;
          target.innerHTML = html;
          bindPartials(target);
          var first = target.querySelector("[role=alert], [role=status], input:not([type=hidden]):not([disabled])");
          if (first && first.focus) first.focus();
        }).catch(function () { form.submit(); });
      });
    });
  }

  function bindModes() {
    var sel = document.querySelector("select[data-toggle-mode]");
    if (!sel) return;
    function show() {
      ["simple_continuous", "flex", "periodic_bolus"].forEach(function (m) {
        document.querySelectorAll(".mode-" + m).forEach(function (el) { el.hidden = sel.value !== m; });
      });
    }
    sel.addEventListener("change", show);
    show();
  }

  document.addEventListener("DOMContentLoaded", function () { bindPartials(document); bindModes(); });
})();
