// cxgov: small progressive enhancements. Everything works without this file.
(function () {
  "use strict";
  // Confirm before destructive or bulk actions: <button data-confirm="...">.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  // Copy-to-clipboard buttons: <button data-copy="#selector">.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-copy]");
    if (!el) return;
    var target = document.querySelector(el.getAttribute("data-copy"));
    if (!target) return;
    var text = target.value !== undefined ? target.value : target.textContent;
    if (navigator.clipboard) { navigator.clipboard.writeText(text.trim()); }
    el.textContent = "Copied";
  });
})();
