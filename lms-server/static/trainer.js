// Optional enhancements for the trainer's pages (everything works without this file):
// - a signature pad: strokes drawn on <canvas data-signature-pad="INPUT_ID"> are written, as
//   {"width", "height", "strokes": [[[x, y], ...], ...]}, into the hidden input INPUT_ID;
// - hashing a scanned sheet: <input type="file" data-sha256-target="INPUT_ID"> puts the file's
//   SHA-256 into INPUT_ID, computed in the browser (the file is never sent);
// - renewing the check-in code: <div data-checkin-refresh="SECONDS"> fetches its own page every
//   SECONDS and swaps each [data-checkin-part] in place (the page is not reloaded; without this
//   script a <noscript> meta refresh reloads it). A page that is not the code any more (the
//   half-day ended, the login expired) is loaded for real, so its message shows.
"use strict";

(function () {
  document.documentElement.classList.add("js");

  document.querySelectorAll("canvas[data-signature-pad]").forEach(function (canvas) {
    var target = document.getElementById(canvas.getAttribute("data-signature-pad"));
    var context = canvas.getContext("2d");
    var strokes = [];
    var current = null;
    context.lineWidth = 2.5;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = "#1c2321";

    function point(event) {
      var box = canvas.getBoundingClientRect();
      return [
        Math.round(((event.clientX - box.left) * canvas.width) / box.width),
        Math.round(((event.clientY - box.top) * canvas.height) / box.height),
      ];
    }
    function save() {
      target.value = strokes.length
        ? JSON.stringify({ width: canvas.width, height: canvas.height, strokes: strokes })
        : "";
    }
    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      current = [point(event)];
      strokes.push(current);
      context.beginPath();
      context.moveTo(current[0][0], current[0][1]);
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!current) return;
      var p = point(event);
      current.push(p);
      context.lineTo(p[0], p[1]);
      context.stroke();
    });
    function end() {
      current = null;
      save();
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    document.querySelectorAll('[data-signature-clear="' + target.id + '"]').forEach(function (button) {
      button.addEventListener("click", function () {
        strokes = [];
        context.clearRect(0, 0, canvas.width, canvas.height);
        save();
      });
    });
  });

  document.querySelectorAll("[data-checkin-refresh]").forEach(function (display) {
    var seconds = parseInt(display.getAttribute("data-checkin-refresh"), 10);
    if (!(seconds > 0) || !window.fetch || !window.DOMParser) return;
    function renew() {
      fetch(window.location.href, { credentials: "same-origin", cache: "no-store", redirect: "manual" })
        .then(function (response) {
          if (!response.ok) throw new Error("status " + response.status);
          return response.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var parts = display.querySelectorAll("[data-checkin-part]");
          if (!fresh.querySelector("[data-checkin-refresh]")) throw new Error("no code");
          parts.forEach(function (part) {
            var name = part.getAttribute("data-checkin-part");
            var replacement = fresh.querySelector('[data-checkin-part="' + name + '"]');
            if (replacement) part.innerHTML = replacement.innerHTML;
          });
          window.setTimeout(renew, seconds * 1000);
        })
        .catch(function () {
          window.location.reload();
        });
    }
    window.setTimeout(renew, seconds * 1000);
  });

  document.querySelectorAll("input[type=file][data-sha256-target]").forEach(function (input) {
    var target = document.getElementById(input.getAttribute("data-sha256-target"));
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file || !window.crypto || !window.crypto.subtle) return;
      file.arrayBuffer().then(function (bytes) {
        return window.crypto.subtle.digest("SHA-256", bytes);
      }).then(function (digest) {
        target.value = Array.from(new Uint8Array(digest)).map(function (b) {
          return b.toString(16).padStart(2, "0");
        }).join("");
        var paper = document.getElementById("method-paper");
        if (paper) paper.checked = true;
      });
    });
  });
})();
