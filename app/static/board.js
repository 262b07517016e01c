// Board wiring: the one move dialog, drag and drop (SortableJS), and the auto refresh.
// No business rules here: which cards may move where comes from the server's markup
// (data-targets, on the cards the viewer may move), and every move is decided by the server's answer.
//
// One request path for every move: the card's "Ubah status…" link opens the card's own move
// page without JavaScript; with it, the link and a drop both fill the page's one move form
// (templates/board/_move_dialog.html) for that card and htmx sends it. The answer replaces
// the card (and the column headers, out of band); a refusal puts a dropped card back.
(function () {
  "use strict";

  var POLL_MS = 10000;
  var sortables = [];
  var dragging = false;
  var saving = 0;
  // The card the move form is filled for, and whether it was dropped (so it can snap back).
  var pending = null;

  function region() { return document.getElementById("board-columns"); }
  function dialog() { return document.getElementById("move-dialog"); }
  function moveForm() { var d = dialog(); return d && d.querySelector(".move-form"); }
  function toast(message, kind) { if (window.Seratus) window.Seratus.toast(message, kind); }
  function cardOf(el) { return el && el.closest ? el.closest(".card") : null; }

  // --- the move form: which fields the chosen column needs --------------------------------

  function syncExtras(form) {
    var select = form.elements.namedItem("status");
    if (!select) return;
    var to = select.value;
    var from = form.dataset.from || "";
    var evidence = form.dataset.evidence === "" ? null : Number(form.dataset.evidence || "0");
    form.querySelectorAll("[data-show-for]").forEach(function (box) {
      var show = box.getAttribute("data-show-for").split(" ").indexOf(to) !== -1;
      box.hidden = !show;
      box.querySelectorAll("[data-required-when-shown]").forEach(function (f) { f.required = show; });
    });
    var note = form.querySelector("[data-note]");
    if (!note || !from) return;  // the move page (no data-from) shows every field it needs
    var toReview = to === "review";
    var fromReview = from === "review" && to !== "" && to !== "done";
    var noEvidence = toReview && evidence === 0;
    var rejects = fromReview && note.dataset.rejects === "true";
    note.hidden = !(toReview || fromReview);
    note.querySelectorAll("[data-hint]").forEach(function (hint) {
      hint.hidden = !(hint.dataset.hint === "no-evidence" ? noEvidence : rejects);
    });
    var field = note.querySelector("textarea");
    field.required = noEvidence || rejects;
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest(".move-form");
    if (form) syncExtras(form);
  });

  function needsInput(card, status) {
    if (status === "blocked") return true;
    if (status === "review" && !card.dataset.evidence) return true;
    var form = moveForm();
    var rejects = form && form.querySelector("[data-note]");
    return card.dataset.status === "review" && status !== "done" &&
      !!rejects && rejects.dataset.rejects === "true";
  }

  function showError(form, message) {
    var box = form.querySelector("#move-error");
    if (!box) return;
    box.textContent = message || "";
    box.hidden = !message;
  }

  // A card's element id is "task-<id>".
  function taskId(card) {
    return card.id.slice("task-".length);
  }

  // Point the move form at `card`: its URL, version, columns and the facts the rules need.
  function fill(card, status, afterId, dropped) {
    var form = moveForm();
    if (!form) return null;
    var query = (region() && region().dataset.query) || "";
    var url = "/board/tasks/" + taskId(card) + "/move" + (query ? "?" + query : "");
    form.setAttribute("action", url);
    form.setAttribute("hx-post", url);
    form.setAttribute("hx-target", "#" + card.id);
    form.elements.namedItem("version").value = card.dataset.version;
    form.elements.namedItem("after_id").value = afterId || "";
    form.dataset.from = card.dataset.status;
    form.dataset.evidence = card.dataset.evidence || "0";  // absent: none
    var targets = (card.dataset.targets || "").split(" ");
    var select = form.elements.namedItem("status");
    Array.prototype.forEach.call(select.options, function (option) {
      var allowed = option.value === "" || targets.indexOf(option.value) !== -1;
      option.hidden = !allowed;
      option.disabled = !allowed;
    });
    // A drop sends its column even where the card may not go: the server's refusal is shown.
    Array.prototype.forEach.call(select.options, function (option) {
      if (status && option.value === status) option.disabled = false;
    });
    select.value = status || "";
    form.querySelectorAll("textarea, input[type=text]").forEach(function (f) {
      f.value = "";
      f.removeAttribute("aria-invalid");
    });
    var link = form.querySelector("[data-evidence-link]");
    if (link) link.setAttribute("href", "/tasks/" + taskId(card) + "#form-evidence");
    var code = card.querySelector(".card-code");
    form.querySelectorAll("[data-fill=code]").forEach(function (el) { el.textContent = code ? code.textContent : ""; });
    showError(form, "");
    syncExtras(form);
    if (window.htmx) window.htmx.process(form);  // picks up the new hx-post
    pending = { card: card, dropped: !!dropped };
    return form;
  }

  function openDialog(card, status, afterId, dropped, message) {
    var box = dialog();
    var form = fill(card, status, afterId, dropped);
    if (!box || !form || typeof box.showModal !== "function") return false;
    showError(form, message);
    if (!box.open) box.showModal();
    var field = status && form.querySelector(".move-extra:not([hidden]) input, .move-extra:not([hidden]) textarea");
    (field || form.elements.namedItem("status")).focus();
    return true;
  }

  function closeDialog() {
    var box = dialog();
    if (box && box.open) box.close();
  }

  // "Ubah status…": the dialog instead of the card's move page.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".card .move-open");
    if (link && openDialog(cardOf(link), "", "", false, "")) event.preventDefault();
    if (event.target.closest && event.target.closest("#move-dialog [data-close]")) closeDialog();
  });

  // Closing the dialog (Batal, Escape) without sending puts a dropped card back.
  document.addEventListener("close", function (event) {
    if (event.target !== dialog()) return;
    if (pending && pending.dropped && saving === 0) snapBack(pending.card);
    if (pending && saving === 0) {
      var card = document.getElementById(pending.card.id);
      var title = card && card.querySelector("h3 a");
      if (title) title.focus();
      pending = null;
    }
  }, true);

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
        // Links keep working inside a card. A card the user may not move can still be picked
        // up: the server refuses the drop, the card snaps back and the reason is shown.
        filter: "a, input, select, textarea, button",
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
          if (!card.dataset.targets) return true;
          return to === card.dataset.status || card.dataset.targets.split(" ").indexOf(to) !== -1;
        },
        onEnd: function (evt) {
          dragging = false;
          if (evt.from === evt.to && evt.oldIndex === evt.newIndex) return;
          drop(evt.item, evt.to.dataset.status);
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

  function drop(card, status) {
    var prev = card.previousElementSibling;
    while (prev && !prev.classList.contains("card")) prev = prev.previousElementSibling;
    var afterId = prev ? taskId(prev) : "";
    // A column that needs a reason or a note asks for it first; the card waits where it fell.
    if (status !== card.dataset.status && needsInput(card, status)) {
      if (!openDialog(card, status, afterId, true, "")) snapBack(card);
      return;
    }
    var form = fill(card, status, afterId, true);
    if (!form || !window.htmx) { snapBack(card); return; }
    window.htmx.trigger(form, "submit");
  }

  // --- htmx answers to the move form --------------------------------------------------------

  function fromMoveForm(event) {
    var elt = event.detail && event.detail.elt;
    return elt && elt.closest && elt.closest("#move-dialog .move-form");
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!fromMoveForm(event) || !pending) return;
    saving += 1;
    pending.card.classList.add("is-saving");
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (!fromMoveForm(event) || !pending) return;
    saving = Math.max(0, saving - 1);
    var moved = pending;
    var xhr = event.detail.xhr;
    var live = document.getElementById(moved.card.id);
    if (live) live.classList.remove("is-saving");
    if (event.detail.successful) {
      pending = null;
      closeDialog();
      return;
    }
    // Refused (the message is shown by app.js) or no answer: the card goes back.
    var status = xhr ? xhr.status : 0;
    var form = moveForm();
    if (status === 422 && form) {
      var chosen = form.elements.namedItem("status").value;
      var message = window.Seratus.messageOf(xhr);
      if (moved.dropped) snapBack(moved.card);
      moved.dropped = false;
      pending = moved;
      // Ask for what is missing, with the column already chosen (the card goes on top of it).
      openDialog(moved.card, chosen, "", false, message);
      return;
    }
    if (moved.dropped) snapBack(moved.card);
    pending = null;
    closeDialog();
    if (status === 409) poll(true);
  });

  // A card moved by the dialog comes back in place of the old one; put it into its new column.
  function placeCard(card) {
    var list = card.parentElement;
    if (!list || !list.classList.contains("cards") || list.dataset.status === card.dataset.status) return;
    var target = document.getElementById("cards-" + card.dataset.status);
    if (target) {
      target.insertBefore(card, target.firstElementChild);
    } else {
      card.remove();
      return;
    }
    var title = card.querySelector("h3 a");
    if (title) title.focus();
  }

  function prepare(root) {
    if (root.classList && root.classList.contains("card")) placeCard(root);
    root.querySelectorAll(".move-form").forEach(syncExtras);
    if (root.querySelector(".board .cards") || (root.classList && root.classList.contains("column"))) {
      initSortables(root.classList && root.classList.contains("column") ? root.parentElement : root);
    }
  }

  document.addEventListener("htmx:load", function (event) { prepare(event.target); });

  // --- auto refresh: a conditional GET every ~10 s, answered 304 when nothing changed ----------

  function busy() {
    var box = region();
    var active = document.activeElement;
    var d = dialog();
    return dragging || saving > 0 || !box || (d && d.open) ||
      (active && box.contains(active) && active.matches("input, select, textarea, button"));
  }

  function applyRefresh(html, etag) {
    var current = region();
    if (!current || !window.htmx) return;
    // Keep keyboard focus on the same card when the user was on a card's link.
    var active = document.activeElement;
    var focusedCard = active && current.contains(active) && active.closest(".card");
    if (html.indexOf('id="board-columns"') !== -1) {
      window.htmx.swap(current, html, { swapStyle: "outerHTML", swapDelay: 0, settleDelay: 0 });
    } else {
      // Only the columns that changed, each swapped by id (hx-swap-oob), and the summary.
      window.htmx.swap(current, html, { swapStyle: "none", swapDelay: 0, settleDelay: 0 });
      if (etag) current.dataset.etag = etag;
    }
    if (focusedCard) {
      var link = document.querySelector("#" + focusedCard.id + " h3 a");
      if (link) link.focus();
    }
    document.dispatchEvent(new CustomEvent("board:refreshed"));
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
      if (response.status === 304) {
        // Nothing shown changed, but the plan may have (the tag names its change number):
        // keep the newest tag, so the next poll is answered without counting anything.
        var tag = response.headers.get("ETag");
        var box = region();
        if (tag && box && box.dataset.query === query) box.dataset.etag = tag;
      }
      if (response.status !== 200) return null;
      return response.text().then(function (html) { return { html: html, etag: response.headers.get("ETag") }; });
    }).then(function (answer) {
      var current = region();
      // Skip if nothing new, the user started working meanwhile, or the filters changed.
      if (!answer || busy() || !current || current.dataset.query !== query) return;
      applyRefresh(answer.html, answer.etag);
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
