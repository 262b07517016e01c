// The board on a phone: tabs with counts for the five columns, the filters folded behind a
// "Filter" button, and the column in view kept when the board's poll (or any swap) puts new
// columns in place — whatever swaps them (board.js owns the poll and the cards; this file only
// watches for a new `.board` and puts the same column back in view before it is painted).
(function () {
  "use strict";

  var PHONE = window.matchMedia("(max-width: 700px)");
  var shownStatus = null; // the column the user is looking at (by status, not by pixels)

  function boardEl() { return document.querySelector("#board-columns .board"); }

  function columnOf(status) { return document.getElementById("col-" + status); }

  function statusInView(board) {
    var left = board.getBoundingClientRect().left;
    var best = null;
    var bestDistance = Infinity;
    board.querySelectorAll(".column").forEach(function (column) {
      var distance = Math.abs(column.getBoundingClientRect().left - left);
      if (distance < bestDistance) { bestDistance = distance; best = column.dataset.status; }
    });
    return best;
  }

  function scrollToStatus(board, status, smooth) {
    var column = columnOf(status);
    if (!board || !column) return;
    var left = column.getBoundingClientRect().left - board.getBoundingClientRect().left + board.scrollLeft;
    board.scrollTo({ left: left, behavior: smooth ? "smooth" : "auto" });
  }

  // Tab counts follow the column headers (a move's answer updates those out of band). Only
  // what differs is written: a write is a mutation, and the observer below calls this.
  function syncTabs() {
    document.querySelectorAll(".column-tab").forEach(function (tab) {
      var head = document.getElementById("col-head-" + tab.dataset.status);
      var count = tab.querySelector(".tab-count");
      var fresh = head ? head.dataset.count : undefined;
      if (count && fresh !== undefined && count.textContent !== fresh) count.textContent = fresh;
      var current = tab.dataset.status === shownStatus ? "true" : "false";
      if (tab.getAttribute("aria-current") !== current) tab.setAttribute("aria-current", current);
    });
  }

  var wiredBoard = null;
  function wireBoard() {
    var board = boardEl();
    if (!board || board === wiredBoard) return;
    var previous = wiredBoard;
    wiredBoard = board;
    if (previous && shownStatus && PHONE.matches) {
      scrollToStatus(board, shownStatus, false); // a swapped board: the same column again
    } else {
      shownStatus = statusInView(board);
    }
    var timer = null;
    board.addEventListener("scroll", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (board !== wiredBoard) return;
        shownStatus = statusInView(board);
        syncTabs();
      }, 80);
    }, { passive: true });
    syncTabs();
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".column-tab, .search-hit");
    if (!link) return;
    var board = boardEl();
    if (!board || !PHONE.matches) return; // wide screens: a plain jump to the column
    event.preventDefault();
    shownStatus = link.dataset.status;
    scrollToStatus(board, shownStatus, true);
    syncTabs();
  });

  // --- the folded header and filters --------------------------------------------------------
  function wireFilters() {
    var toggle = document.querySelector(".filter-toggle");
    if (!toggle) return;
    function apply() {
      var fold = PHONE.matches;
      toggle.hidden = !fold;
      document.body.classList.toggle("filters-folded", fold);
      if (!fold) document.body.classList.remove("filters-open");
      toggle.setAttribute("aria-expanded", document.body.classList.contains("filters-open") ? "true" : "false");
    }
    toggle.addEventListener("click", function () {
      document.body.classList.toggle("filters-open");
      apply();
      if (document.body.classList.contains("filters-open")) {
        var first = document.querySelector("#board-filters input, #board-filters select");
        if (first) first.focus();
      }
    });
    if (PHONE.addEventListener) PHONE.addEventListener("change", apply);
    // Filters applied: fold them again, so the answer (the columns) is what the user sees.
    document.addEventListener("htmx:afterSwap", function (event) {
      var source = event.detail.requestConfig && event.detail.requestConfig.elt;
      if (source && source.closest && source.closest("#board-filters")) {
        document.body.classList.remove("filters-open");
        apply();
      }
    });
    apply();
  }

  // A new board anywhere under <main> (the poll's swap, a filter's answer): wire it at once.
  var observer = new MutationObserver(function () {
    if (boardEl() !== wiredBoard) wireBoard();
    syncTabs();
  });

  function start() {
    wireFilters();
    wireBoard();
    var main = document.getElementById("main");
    if (main) observer.observe(main, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
