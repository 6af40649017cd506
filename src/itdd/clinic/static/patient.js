// itdd clinic, patient side: a print button (the page also prints with the browser's own Print).
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (t && t.closest && t.closest("[data-print]")) { window.print(); }
  });
})();
