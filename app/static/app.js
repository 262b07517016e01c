// Page-wide wiring: the CSRF header on htmx requests, and messages in the live region.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Shows a message in the aria-live region; it disappears after a while.
  function toast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var item = document.createElement("div");
    item.className = "toast toast-" + (kind || "info");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, kind === "error" ? 9000 : 5000);
  }

  // The server's error fragments are plain text inside .flash; read them without parsing HTML.
  function messageOf(xhr) {
    if (!xhr) return "";
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("application/json") === 0) {
      try { var body = JSON.parse(xhr.responseText); return String(body.detail || ""); } catch (e) { return ""; }
    }
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var flash = doc.querySelector(".flash, .error-message");
    return flash ? flash.textContent.trim() : "";
  }

  // Other scripts may have added to window.Seratus already (status_form.js): keep their parts.
  window.Seratus = Object.assign(window.Seratus || {}, {
    csrfToken: csrfToken, toast: toast, messageOf: messageOf
  });

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });
  document.addEventListener("htmx:responseError", function (event) {
    var message = messageOf(event.detail.xhr) || "Permintaan gagal. Silakan coba lagi.";
    toast(message, "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Tidak dapat terhubung ke server. Periksa koneksi Anda.", "error");
  });
  // Disclosures marked data-print-open (the chart's data table) print open, then close again.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details[data-print-open]:not([open])").forEach(function (el) {
      el.setAttribute("open", "");
      el.setAttribute("data-print-opened", "");
    });
  });
  window.addEventListener("afterprint", function () {
    document.querySelectorAll("details[data-print-opened]").forEach(function (el) {
      el.removeAttribute("open");
      el.removeAttribute("data-print-opened");
    });
  });
  // Menus made of <details class="export-menu"> close on a click elsewhere or on Escape.
  function closeMenus(except) {
    document.querySelectorAll("details.export-menu[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest ? event.target.closest("details.export-menu") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector("details.export-menu[open]");
    if (!open) return;
    closeMenus(null);
    var summary = open.querySelector("summary");
    if (summary) summary.focus();
  });
  document.body && document.body.addEventListener("toast", function (event) {
    toast(event.detail.message, event.detail.kind);
  });
})();
