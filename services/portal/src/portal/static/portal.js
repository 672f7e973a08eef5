/* SECOP II portal: small enhancements only; every page works without this file. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // The error summary takes the focus, so screen readers announce it first.
    var summary = document.querySelector("[data-focus]");
    if (summary) { summary.focus(); }

    // Uploads show their progress (the form posts the same way without this).
    document.querySelectorAll("form[data-upload]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.XMLHttpRequest || !window.FormData) { return; }
        event.preventDefault();
        var bar = form.querySelector("progress");
        var status = form.querySelector("[data-upload-status]");
        if (bar) { bar.hidden = false; bar.value = 0; }
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("X-Portal-Upload", "1");
        xhr.upload.addEventListener("progress", function (e) {
          if (e.lengthComputable && bar) {
            bar.value = Math.round((e.loaded / e.total) * 100);
            if (status) { status.textContent = "Cargando: " + bar.value + " %"; }
          }
        });
        xhr.addEventListener("load", function () {
          // Stored: the portal names the next page (X-Portal-Location). Refused: it answered
          // with the form and its errors, shown as the browser would have shown them.
          var next = xhr.getResponseHeader("X-Portal-Location");
          if (next) {
            // The same page again (only its #part differs) would only scroll: load it anew
            // with a GET (never reload(): the page may be the answer to a POST).
            var target = new URL(next, window.location.href), here = window.location;
            var same = target.pathname === here.pathname && target.search === here.search;
            here.assign(same ? target.pathname + target.search : target.href);
          } else {
            document.open(); document.write(xhr.responseText); document.close();
          }
        });
        xhr.addEventListener("error", function () {
          if (status) { status.textContent = "No se pudo cargar el archivo. Intente de nuevo."; }
        });
        xhr.send(new FormData(form));
      });
    });
  });
})();
