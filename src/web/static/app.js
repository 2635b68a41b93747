// PolicyVault's progressive enhancement. Pages work without it; with it:
// - run pages and the header's active-runs widget and bell follow the run event stream
//   (`/api/v1/events`, Server-Sent Events) through htmx triggers `pv:run` and `pv:runs`;
//   while the stream is down they poll every 5 s instead;
// - a plain form (one not driven by htmx) submits once: a second click is ignored and its
//   buttons disable themselves (htmx forms use `hx-disabled-elt`).
(function () {
  "use strict";
  var body = document.body;
  var pending = {};

  function fire(name) {
    body.dispatchEvent(new CustomEvent(name));
  }

  // Coalesces bursts of events into one refresh per 300 ms.
  function soon(name) {
    if (pending[name]) return;
    pending[name] = setTimeout(function () {
      pending[name] = null;
      fire(name);
    }, 300);
  }

  function refreshAll() {
    soon("pv:runs");
    if (body.dataset.runId) soon("pv:run");
  }

  var poll = null;
  function startPolling() {
    body.dataset.live = "polling";
    if (!poll) poll = setInterval(refreshAll, 5000);
  }
  function stopPolling() {
    if (poll) clearInterval(poll);
    poll = null;
  }

  function onRunEvent(event) {
    var data;
    try {
      data = JSON.parse(event.data);
    } catch (_) {
      return;
    }
    soon("pv:runs");
    if (data.run && data.run.id === body.dataset.runId) soon("pv:run");
  }

  // Browsers allow six connections per host over HTTP/1.1; a stream left open by a page in
  // the back/forward cache would hold one, so a page closes its stream when it is hidden.
  var stream = null;
  function connect() {
    if (!window.EventSource) {
      startPolling();
      return;
    }
    stream = new EventSource("/api/v1/events");
    stream.addEventListener("state", onRunEvent);
    stream.addEventListener("progress", onRunEvent);
    stream.onopen = function () {
      stopPolling();
      body.dataset.live = "stream";
      // Anything that happened between rendering and connecting.
      refreshAll();
    };
    stream.onerror = startPolling;
  }

  if (document.getElementById("live-header")) {
    connect();
    window.addEventListener("pagehide", function () {
      if (stream) stream.close();
      stream = null;
      stopPolling();
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted && !stream) connect();
    });
  }

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (form.hasAttribute("hx-post")) return;
      if (form.dataset.submitting) {
        event.preventDefault();
        return;
      }
      form.dataset.submitting = "1";
      // After the browser has read the form (a disabled button would not be sent).
      setTimeout(function () {
        form.querySelectorAll("button").forEach(function (b) {
          b.disabled = true;
        });
      }, 0);
    },
    true
  );

  // Back/forward navigation may restore a page whose forms were already submitted.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-submitting]").forEach(function (form) {
      delete form.dataset.submitting;
      form.querySelectorAll("button").forEach(function (b) {
        b.disabled = false;
      });
    });
  });
})();
