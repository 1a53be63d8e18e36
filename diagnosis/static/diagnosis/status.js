// Result page: while the check is queued or running, wait for it to finish and swap in the
// result panel that the status endpoint renders. No full-page reloads.
//
// Push first: a long poll (data-wait-url) that the server answers with the status endpoint's
// answer as soon as the worker finished (or after at most 20 s, when the page asks again). When
// that fails (the push is unavailable, the connection drops), the page polls the status
// endpoint instead, more slowly the longer it takes. data-updates on the panel says which
// ("push" or "poll").
(function () {
  "use strict";
  var panel = document.getElementById("diagnosis-result");
  if (!panel || panel.getAttribute("data-finished") === "true") { return; }
  var statusUrl = panel.getAttribute("data-status-url");
  var waitUrl = panel.getAttribute("data-wait-url");
  var interval = parseInt(panel.getAttribute("data-poll-interval"), 10) || 1000;
  var started = Date.now();
  var failures = 0;
  var request = { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" };

  function nextDelay() {
    var waited = Date.now() - started;
    var base = waited < 30000 ? interval : waited < 300000 ? 5000 : 15000;
    return Math.min(base * Math.pow(2, failures), 30000);
  }

  function json(response) {
    if (!response.ok) { throw new Error("HTTP " + response.status); }
    return response.json();
  }

  function offline() {
    var note = panel.querySelector("[data-offline-note]");
    if (!note) {
      note = document.createElement("p");
      note.className = "small text-warning mt-2";
      note.setAttribute("data-offline-note", "");
      note.textContent = panel.getAttribute("data-offline");
      panel.appendChild(note);
    }
  }

  // Put the panel of a status answer on the page; true once the check has finished.
  function show(data) {
    failures = 0;
    panel.innerHTML = data.html;
    if (data.finished) { panel.setAttribute("data-finished", "true"); }
    return data.finished;
  }

  function schedule() {
    panel.setAttribute("data-updates", "poll");
    window.setTimeout(poll, nextDelay());
  }

  function poll() {
    fetch(statusUrl, request)
      .then(json)
      .then(function (data) { if (!show(data)) { schedule(); } })
      .catch(function () {
        failures = Math.min(failures + 1, 4);
        offline();
        schedule();
      });
  }

  // The long poll answers what the status endpoint does, once the check finished (or its wait
  // is up: then the panel shows the row as it is now, queued -> running, and it asks again).
  function wait() {
    panel.setAttribute("data-updates", "push");
    var asked = Date.now();
    fetch(waitUrl, request)
      .then(json)
      .then(function (data) {
        if (show(data)) { return; }
        // An answer that came back early without an end (no push on this server) is not
        // repeated at once.
        window.setTimeout(wait, Date.now() - asked < interval ? interval : 0);
      })
      .catch(function () { poll(); });  // the push is gone: back to polling, from now on
  }

  if (waitUrl && window.fetch) { wait(); } else { schedule(); }
})();
