// cxgov: warn before leaving a page whose form has unsaved changes.
// Mark a form with data-warn-unsaved; submitting it (any of its buttons) clears the warning.
(function () {
  "use strict";
  var dirty = new Set();
  function formOf(el) { return el && el.closest ? el.closest("form[data-warn-unsaved]") : null; }
  function changed(event) {
    var form = event.target.form || formOf(event.target);
    if (form && form.hasAttribute("data-warn-unsaved")) { dirty.add(form); }
  }
  document.addEventListener("input", changed, true);
  document.addEventListener("change", changed, true);
  document.addEventListener("submit", function () { dirty.clear(); }, true);
  window.addEventListener("beforeunload", function (event) {
    if (dirty.size === 0) return;
    event.preventDefault();
    event.returnValue = "";  // older browsers need a value to show their own prompt
  });
})();
