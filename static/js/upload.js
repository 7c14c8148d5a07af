/* Trainshed upload progress: sends a `form[data-upload]` with XMLHttpRequest so the browser's
 * upload progress can drive the form's <progress>. Without JavaScript the form posts normally.
 * The server answers JSON {"redirect": url} on success, or the page with the form re-rendered
 * (errors named per field), whose form replaces this one. */
(function () {
  "use strict";

  function human(n) {
    var units = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }

  function setBusy(form, busy) {
    form.querySelectorAll("button, input").forEach(function (el) {
      if (el.type !== "hidden") { el.disabled = busy; }
    });
    var button = form.querySelector("button[type=submit]");
    if (button) { button.setAttribute("aria-busy", busy ? "true" : "false"); }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-upload]")) { return; }
    if (!window.XMLHttpRequest || !window.FormData) { return; }
    event.preventDefault();

    var wrap = form.querySelector("[data-upload-progress]");
    var bar = form.querySelector("[data-upload-progress] progress");
    var status = form.querySelector("[data-upload-status]");
    var data = new FormData(form);  // before disabling the inputs (disabled ones are not sent)
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");

    if (wrap) { wrap.hidden = false; }
    if (bar) { bar.value = 0; bar.max = 100; }
    if (status) { status.textContent = "Starting upload…"; }

    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable || !bar) { return; }
      bar.max = e.total;
      bar.value = e.loaded;
      var pct = Math.round((e.loaded / e.total) * 100);
      if (status) { status.textContent = pct + "% · " + human(e.loaded) + " of " + human(e.total); }
    });
    xhr.upload.addEventListener("load", function () {
      if (status) { status.textContent = "Uploaded; the server is storing the files…"; }
    });

    xhr.addEventListener("load", function () {
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (xhr.status < 400 && type.indexOf("application/json") === 0) {
        var answer = JSON.parse(xhr.responseText);
        if (status) { status.textContent = "Done."; }
        window.location.assign(answer.redirect);
        return;
      }
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var fresh = form.id ? doc.getElementById(form.id) : null;
      if (fresh) {
        form.replaceWith(fresh);
        return;
      }
      setBusy(form, false);
      if (status) { status.textContent = "Upload refused (" + xhr.status + "). Reload the page and try again."; }
    });
    xhr.addEventListener("error", function () {
      setBusy(form, false);
      if (status) { status.textContent = "Upload failed: the connection was lost."; }
    });

    xhr.send(data);
    setBusy(form, true);
  });
})();
