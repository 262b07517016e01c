// The task page keeps the user where they acted: after an htmx answer (the detail region is
// swapped), the result beside the used form — or the first field in error, focused — is
// brought into view. Plain form posts land on #result (the redirect's anchor) by themselves.
(function () {
  "use strict";

  function showResult() {
    var result = document.getElementById("result");
    if (!result) return;
    var form = result.closest("section, details, .action") || result.parentElement;
    var invalid = form ? form.querySelector("[aria-invalid=true]") : null;
    (invalid || result).scrollIntoView({ block: "center" });
    (invalid || result).focus({ preventScroll: true });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "task-detail") showResult();
  });
  document.addEventListener("DOMContentLoaded", showResult);
})();
