// "Tugas saya" wiring (the status forms' extra fields: status_form.js): photos are made smaller on the phone (longest side ≤ 1600 px, JPEG) and sent with a progress bar as
// soon as they are taken; after every answer the result beside the used form is brought into
// view. Without this file every form still works as a plain form.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // --- the answer: keep the user where they acted ----------------------------------------
  function showResult(item) {
    if (!item) return;
    var invalid = item.querySelector("[aria-invalid=true]");
    var result = item.querySelector(".my-result");
    var target = invalid || result;
    if (!target) return;
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }

  function replaceItem(old, html) {
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector(".mytask");
    if (!fresh) return null;
    old.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
    wireItem(fresh);
    return fresh;
  }

  // --- photos: shrink on the phone, then send with a progress bar -------------------------
  function shrink(file, maxSide) {
    if (!/^image\/(jpeg|png|webp)$/.test(file.type) || !window.createImageBitmap) {
      return Promise.resolve(file); // the server refuses what is not a photo, by name
    }
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      if (bitmap.close) bitmap.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob) { resolve(file); return; }
          var name = (file.name || "foto").replace(/\.[^.]*$/, "") + ".jpg";
          resolve(new File([blob], name, { type: "image/jpeg" }));
        }, "image/jpeg", 0.82);
      });
    }).catch(function () { return file; });
  }

  function sendPhotos(form) {
    var input = form.querySelector("input[type=file]");
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length) return;
    var item = form.closest(".mytask");
    var bar = form.querySelector(".photo-progress");
    var status = form.querySelector(".photo-status");
    var maxSide = parseInt(form.getAttribute("data-max-side") || "1600", 10);
    bar.hidden = false;
    bar.value = 0;
    status.textContent = "Menyiapkan " + files.length + " foto…";
    Promise.all(files.map(function (f) { return shrink(f, maxSide); })).then(function (small) {
      var data = new FormData(form);
      data.delete("photos");
      small.forEach(function (f) { data.append("photos", f, f.name); });
      var bytes = small.reduce(function (sum, f) { return sum + f.size; }, 0);
      status.textContent = "Mengunggah " + small.length + " foto (" + Math.max(1, Math.round(bytes / 1024)) + " KB)…";
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action"));
      xhr.setRequestHeader("HX-Request", "true");
      xhr.setRequestHeader("X-CSRF-Token", window.Seratus.csrfToken());
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
      });
      xhr.addEventListener("load", function () {
        var fresh = (xhr.status === 200 || xhr.status === 409 || xhr.status === 422)
          ? replaceItem(item, xhr.responseText) : null;
        if (fresh) { showResult(fresh); return; }
        bar.hidden = true;
        status.textContent = window.Seratus.messageOf(xhr) || "Foto belum terkirim (kode " + xhr.status + "). Coba lagi.";
      });
      xhr.addEventListener("error", function () {
        bar.hidden = true;
        status.textContent = "Tidak dapat terhubung ke server; foto belum terkirim. Coba lagi saat sinyal ada.";
      });
      xhr.send(data);
    });
  }

  function wireItem(root) {
    if (window.Seratus.wireStatusForms) window.Seratus.wireStatusForms(root);
    root.querySelectorAll("form[data-photo-form]").forEach(function (form) {
      if (form.dataset.wired) return;
      form.dataset.wired = "1";
      var input = form.querySelector("input[type=file]");
      // Taking the photos is the last tap: they are sent at once.
      input.addEventListener("change", function () { sendPhotos(form); });
      form.addEventListener("submit", function (event) { event.preventDefault(); sendPhotos(form); });
    });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var id = event.detail.target && event.detail.target.id;
    var item = id ? document.getElementById(id) : null;
    if (item && item.classList.contains("mytask")) {
      wireItem(item);
      showResult(item);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    wireItem(document);
    var result = document.querySelector(".my-result");
    if (result) showResult(result.closest(".mytask"));
  });
})();
