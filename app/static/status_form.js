// Status forms ("Tugas saya", the task page): the reason, note or confirmation a status needs
// appears only when that status is chosen ([data-when="<status>"] inside [data-status-form]).
// Without JavaScript every field stays visible, labelled with when it is required.
(function () {
  "use strict";

  function sync(container) {
    var select = container.querySelector("select[name=status]");
    if (!select) return;
    container.querySelectorAll("[data-when]").forEach(function (field) {
      field.hidden = field.getAttribute("data-when") !== select.value;
    });
  }

  function wireStatusForms(root) {
    root.querySelectorAll("[data-status-form]").forEach(function (container) {
      sync(container);
      var select = container.querySelector("select[name=status]");
      if (select && !select.dataset.statusWired) {
        select.dataset.statusWired = "1";
        select.addEventListener("change", function () { sync(container); });
      }
    });
  }

  window.Seratus = window.Seratus || {};
  window.Seratus.wireStatusForms = wireStatusForms;
  document.addEventListener("DOMContentLoaded", function () { wireStatusForms(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target && event.detail.target.id;
    var fresh = target ? document.getElementById(target) : null;
    if (fresh) wireStatusForms(fresh);
  });
})();
