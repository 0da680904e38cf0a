// cxgov triage: keyboard shortcuts and htmx niceties. Everything works without this file.
(function () {
  "use strict";

  // htmx does not swap 4xx answers by default; ours carry field errors (400) or a
  // conflict message (409) meant to be shown in place.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 400 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Show only the bulk fields that belong to the chosen operation.
  function syncBulk() {
    var select = document.getElementById("id_operation");
    if (!select) return;
    document.querySelectorAll("[data-op]").forEach(function (el) {
      el.hidden = select.value !== "" && el.getAttribute("data-op") !== select.value;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "id_operation") syncBulk();
  });
  document.addEventListener("htmx:afterSettle", syncBulk);
  document.addEventListener("DOMContentLoaded", syncBulk);

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-action-row]")); }
  function current() { return document.querySelector("[data-action-row].current"); }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(current());
    var next = all[Math.max(0, Math.min(all.length - 1, index + step))] || all[0];
    all.forEach(function (r) { r.classList.remove("current"); r.removeAttribute("aria-selected"); });
    next.classList.add("current");
    next.setAttribute("aria-selected", "true");
    next.focus({ preventScroll: false });
  }

  function selectCurrentIfNone() {
    var checked = document.querySelectorAll("#bulk-form input[name=ids]:checked");
    if (checked.length) return;
    var row = current();
    var box = row && row.querySelector("input[name=ids]");
    if (box) box.checked = true;
  }

  function bulk(operation, focusId) {
    var select = document.getElementById("id_operation");
    if (!select) return;
    selectCurrentIfNone();
    select.value = operation;
    syncBulk();
    var field = document.getElementById(focusId);
    if (field) field.focus();
  }

  function help() {
    var dialog = document.getElementById("shortcut-help");
    if (dialog && dialog.showModal && !dialog.open) dialog.showModal();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcut-help]")) help();
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    // Enter on a focused button or link is that control's own action (e.g. "Apply to selected").
    if (event.key === "Enter" && event.target.closest && event.target.closest("a, button, summary, [role=button]")) return;
    var row;
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "x":
        row = current();
        var box = row && row.querySelector("input[name=ids]");
        if (box) box.checked = !box.checked;
        break;
      case "o":
      case "Enter":
        row = current();
        if (!row) return;
        window.location.href = row.getAttribute("data-href");
        break;
      case "a": bulk("assign", "id_owner"); break;
      case "c": bulk("close", "id_reason"); break;
      case "/":
        var search = document.getElementById("id_q");
        if (!search) return;
        search.focus();
        search.select();
        break;
      case "?": help(); break;
      default: return;
    }
    event.preventDefault();
  });
})();
