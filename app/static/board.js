// Board wiring: drag and drop (SortableJS), the move forms' extra fields, and auto refresh.
// No business rules here: which cards may move where comes from the server's markup
// (data-movable, data-targets), and every move is decided by the server's answer.
(function () {
  "use strict";

  var POLL_MS = 10000;
  var sortables = [];
  var dragging = false;
  var saving = 0;

  function region() { return document.getElementById("board-columns"); }
  function htmxProcess(el) { if (window.htmx) window.htmx.process(el); }
  function toast(message, kind) { if (window.Seratus) window.Seratus.toast(message, kind); }

  // --- move forms: show the reason / note field only for the columns that use it --------

  function syncExtras(form) {
    var select = form.elements.namedItem("status");
    if (!select) return;
    form.querySelectorAll("[data-show-for]").forEach(function (box) {
      var show = box.getAttribute("data-show-for").split(" ").indexOf(select.value) !== -1;
      box.hidden = !show;
      box.querySelectorAll("[data-required-when-shown]").forEach(function (field) {
        field.required = show;
      });
    });
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest(".move-form");
    if (form) syncExtras(form);
  });

  // Open a card's move form with a column chosen (after a drop the server wants more input for).
  function openMoveForm(card, status) {
    var details = card.querySelector("details.move");
    var form = card.querySelector(".move-form");
    if (!details || !form) return;
    details.open = true;
    form.elements.namedItem("status").value = status;
    syncExtras(form);
    var field = form.querySelector(".move-extra:not([hidden]) input, .move-extra:not([hidden]) textarea");
    (field || form.elements.namedItem("status")).focus();
  }

  // --- drag and drop ----------------------------------------------------------------------

  function initSortables(root) {
    if (!window.Sortable) return;
    // Forget the lists an htmx swap removed.
    sortables = sortables.filter(function (s) {
      if (document.body.contains(s.el)) return true;
      s.destroy();
      return false;
    });
    root.querySelectorAll(".board .cards").forEach(function (list) {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
      sortables.push(window.Sortable.create(list, {
        group: "board",
        draggable: ".card",
        // Form controls keep working inside a card. A card the user may not move can still be
        // picked up: the server refuses the drop, the card snaps back and the reason is shown.
        filter: "input, select, textarea, button, summary",
        preventOnFilter: false,
        delay: 200,
        delayOnTouchOnly: true,
        animation: 150,
        ghostClass: "drag-ghost",
        chosenClass: "drag-chosen",
        onStart: function (evt) {
          dragging = true;
          evt.item._origin = { parent: evt.from, next: evt.item.nextElementSibling };
        },
        // Only offer the columns the server listed for this card.
        onMove: function (evt) {
          var card = evt.dragged;
          var to = evt.to.dataset.status;
          if (card.dataset.movable === "false") return true;
          return to === card.dataset.status || card.dataset.targets.split(" ").indexOf(to) !== -1;
        },
        onEnd: function (evt) {
          dragging = false;
          if (evt.from === evt.to && evt.oldIndex === evt.newIndex) return;
          sendMove(evt.item, evt.to.dataset.status);
        }
      }));
    });
  }

  function snapBack(card) {
    var origin = card._origin;
    if (origin && document.body.contains(origin.parent)) {
      origin.parent.insertBefore(card, origin.next && origin.next.parentNode === origin.parent ? origin.next : null);
    }
  }

  // Put the server's fresh card in place of the dropped one and take the new column headers.
  function applyAnswer(card, html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    tpl.content.querySelectorAll("[hx-swap-oob]").forEach(function (el) {
      var old = document.getElementById(el.id);
      el.removeAttribute("hx-swap-oob");
      if (old) old.replaceWith(el);
    });
    var fresh = tpl.content.querySelector(".card");
    if (!fresh) return;
    card.replaceWith(fresh);
    prepare(fresh);
    htmxProcess(fresh);
  }

  function toastFromTrigger(response) {
    try {
      var events = JSON.parse(response.headers.get("HX-Trigger") || "{}");
      if (events.toast) toast(events.toast.message, events.toast.kind);
    } catch (e) { /* no message to show */ }
  }

  function sendMove(card, status) {
    var prev = card.previousElementSibling;
    while (prev && !prev.classList.contains("card")) prev = prev.previousElementSibling;
    var body = new URLSearchParams();
    body.set("status", status);
    body.set("version", card.dataset.version);
    body.set("after_id", prev ? prev.dataset.taskId : "");
    var query = (region() && region().dataset.query) || "";
    var url = "/board/tasks/" + card.dataset.taskId + "/move" + (query ? "?" + query : "");
    saving += 1;
    card.classList.add("is-saving");
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": window.Seratus.csrfToken(), "HX-Request": "true" }
    }).then(function (response) {
      return response.text().then(function (text) {
        card.classList.remove("is-saving");
        if (response.headers.get("HX-Redirect")) { window.location = response.headers.get("HX-Redirect"); return; }
        if (response.ok) { applyAnswer(card, text); toastFromTrigger(response); return; }
        // Refused: the card goes back where it was and the server's reason is shown.
        snapBack(card);
        var xhrLike = { responseText: text, getResponseHeader: function (h) { return response.headers.get(h); } };
        toast(window.Seratus.messageOf(xhrLike) || "Tugas tidak dapat dipindahkan.", "error");
        if (response.status === 422) openMoveForm(card, status);
        if (response.status === 409) poll(true);
      });
    }).catch(function () {
      card.classList.remove("is-saving");
      snapBack(card);
      toast("Tidak dapat terhubung ke server. Periksa koneksi Anda.", "error");
    }).then(function () { saving -= 1; });
  }

  // --- htmx answers -------------------------------------------------------------------------

  // A card moved by its form comes back in place of the old one; put it into its new column.
  function placeCard(card) {
    var list = card.parentElement;
    if (!list || !list.classList.contains("cards") || list.dataset.status === card.dataset.status) return;
    var target = document.getElementById("cards-" + card.dataset.status);
    if (target) {
      target.insertBefore(card, target.firstElementChild);
      card.focus();
    } else {
      card.remove();
    }
  }

  function prepare(root) {
    if (root.classList && root.classList.contains("card")) placeCard(root);
    root.querySelectorAll(".move-form").forEach(syncExtras);
    if (root.querySelector(".board .cards")) initSortables(root);
  }

  document.addEventListener("htmx:load", function (event) { prepare(event.target); });

  // A stale form (409): show the board as it is now.
  document.addEventListener("htmx:responseError", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.closest && elt.closest(".move-form") && event.detail.xhr.status === 409) poll(true);
  });

  // --- auto refresh: a conditional GET every ~10 s, answered 304 when nothing changed ----------

  function busy() {
    var box = region();
    var active = document.activeElement;
    return dragging || saving > 0 || !box ||
      box.querySelector("details.move[open]") !== null ||
      (active && box.contains(active) && active.matches("input, select, textarea, button, summary"));
  }

  function swapRegion(old, html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var fresh = tpl.content.querySelector("#board-columns");
    if (!fresh) return;
    // Keep keyboard focus on the same card when the user was on a card's link.
    var active = document.activeElement;
    var focusedCard = active && old.contains(active) && active.closest(".card");
    sortables.forEach(function (s) { s.destroy(); });
    sortables = [];
    old.replaceWith(fresh);
    htmxProcess(fresh);
    prepare(fresh);
    if (focusedCard) {
      var link = document.querySelector("#" + focusedCard.id + " .card-title a");
      if (link) link.focus();
    }
  }

  function poll(force) {
    var box = region();
    if (!box || document.hidden || busy()) return;
    var headers = { "HX-Request": "true" };
    if (!force && box.dataset.etag) headers["If-None-Match"] = box.dataset.etag;
    var query = box.dataset.query;
    fetch("/board/columns" + (query ? "?" + query : ""), {
      cache: "no-store", credentials: "same-origin", headers: headers
    }).then(function (response) {
      if (response.status !== 200) return null;
      return response.text();
    }).then(function (html) {
      var current = region();
      // Skip if nothing new, the user started working meanwhile, or the filters changed.
      if (!html || busy() || !current || current.dataset.query !== query) return;
      swapRegion(current, html);
    }).catch(function () { /* offline: try again at the next tick */ });
  }

  function start() {
    var box = region();
    if (!box) return;
    prepare(document);
    setInterval(poll, POLL_MS);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
