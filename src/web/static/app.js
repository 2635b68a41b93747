// PolicyVault's progressive enhancement. Pages work without it; with it:
// - run pages and the header's active-runs widget and bell follow the run event stream
//   (`/api/v1/events`, Server-Sent Events) through htmx triggers `pv:run` and `pv:runs`;
//   while the stream is down they poll every 5 s, and every 30 s in any case (an event can
//   be lost);
// - refreshed regions keep open <details> open, and a run's new status is announced once;
// - a start whose request fails says so in its status area;
// - a plain form (one not driven by htmx) submits once: a second click is ignored and its
//   buttons disable themselves (htmx forms use `hx-disabled-elt`).
(function () {
  "use strict";
  var body = document.body;
  var pending = {};

  function fire(name) {
    body.dispatchEvent(new CustomEvent(name));
  }

  // Coalesces bursts of events into one refresh within `delay` ms (a sooner request moves a
  // later pending one forward).
  function soon(name, delay) {
    var due = Date.now() + delay;
    var current = pending[name];
    if (current && current.due <= due) return;
    if (current) clearTimeout(current.timer);
    pending[name] = {
      due: due,
      timer: setTimeout(function () {
        pending[name] = null;
        fire(name);
      }, delay),
    };
  }

  function refreshAll() {
    soon("pv:runs", 300);
    if (body.dataset.runId) soon("pv:run", 300);
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
    // The header lists every tenant's runs: state changes at once, progress at most 1/s.
    soon("pv:runs", event.type === "state" ? 300 : 1000);
    if (data.run && data.run.id === body.dataset.runId) soon("pv:run", 300);
  }

  // Browsers allow six connections per host over HTTP/1.1, shared by all tabs. Only a page
  // that is shown holds a stream: a background tab or a page in the back/forward cache
  // closes its stream, and reconnects (and catches up) when it is shown again.
  var stream = null;
  function connect() {
    if (!window.EventSource) {
      startPolling();
      return;
    }
    stream = new EventSource("/api/v1/events");
    stream.addEventListener("state", onRunEvent);
    stream.addEventListener("progress", onRunEvent);
    // The server skipped events (this client fell behind): catch up.
    stream.addEventListener("resync", refreshAll);
    stream.onopen = function () {
      stopPolling();
      body.dataset.live = "stream";
      // Anything that happened between rendering and connecting.
      refreshAll();
    };
    stream.onerror = startPolling;
  }

  function disconnect() {
    if (stream) stream.close();
    stream = null;
    stopPolling();
  }

  if (document.getElementById("live-header")) {
    if (document.visibilityState !== "hidden") connect();
    setInterval(function () {
      if (stream) refreshAll();
    }, 30000);
    window.addEventListener("pagehide", disconnect);
    window.addEventListener("pageshow", function (event) {
      if (event.persisted && !stream) connect();
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") disconnect();
      else if (!stream) connect();
    });
  }

  // Refreshed regions: keep what the reader opened, and say when a run's status changes.
  var openDetails = [];
  var runStatus = null;
  body.addEventListener("htmx:beforeSwap", function (event) {
    openDetails = Array.prototype.map.call(
      event.detail.target.querySelectorAll("details[open][id]"),
      function (d) {
        return d.id;
      }
    );
    var live = document.getElementById("run-live");
    runStatus = live ? live.dataset.status : null;
  });
  body.addEventListener("htmx:afterSettle", function () {
    openDetails.forEach(function (id) {
      var d = document.getElementById(id);
      if (d) d.open = true;
    });
    openDetails = [];
    var live = document.getElementById("run-live");
    if (live && runStatus && live.dataset.status !== runStatus) {
      var announcer = document.getElementById("announcer");
      if (announcer) announcer.textContent = "The run is now " + live.dataset.status + ".";
    }
    // A finished run's page has nothing left to follow.
    if (live && !live.hasAttribute("hx-trigger")) delete body.dataset.runId;
  });

  // A start whose request failed (5xx or no answer) says so where its answer would go.
  function failed(event) {
    var target = event.detail.target;
    if (!target || !/-status$/.test(target.id || "")) return;
    target.innerHTML = "";
    var p = document.createElement("p");
    p.className = "notice bad";
    p.setAttribute("role", "alert");
    p.textContent =
      event.type === "htmx:sendError"
        ? "PolicyVault could not be reached. Check your connection and try again."
        : "Something went wrong on our side (" + event.detail.xhr.status + "). Try again.";
    target.appendChild(p);
  }
  body.addEventListener("htmx:responseError", failed);
  body.addEventListener("htmx:sendError", failed);

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

  // A search box with `data-filter="#list"` hides the list's items whose `data-name` does
  // not contain what is typed (the header's tenant switcher); Enter still submits the
  // search to the server.
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var list = document.querySelector(input.dataset.filter);
    if (!list) return;
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      list.querySelectorAll("li[data-name]").forEach(function (li) {
        li.hidden = needle !== "" && li.dataset.name.indexOf(needle) === -1;
      });
    });
  });

  // An item picker (`data-picker="#list"`, hidden without scripts): find by name, show one
  // type, tick or untick what is shown; the count says how many are ticked of all.
  document.querySelectorAll("[data-picker]").forEach(function (tools) {
    var list = document.querySelector(tools.dataset.picker);
    if (!list) return;
    tools.hidden = false;
    var search = tools.querySelector("[data-picker-search]");
    var type = tools.querySelector("[data-picker-type]");
    var count = tools.querySelector("[data-picker-count]");
    var items = Array.prototype.slice.call(list.querySelectorAll("li[data-name]"));
    function shown() {
      return items.filter(function (li) {
        return !li.hidden;
      });
    }
    function update() {
      var ticked = items.filter(function (li) {
        return li.querySelector("input").checked;
      }).length;
      count.textContent = ticked + " of " + items.length + " ticked, " + shown().length + " shown";
    }
    function filter() {
      var needle = search.value.trim().toLowerCase();
      items.forEach(function (li) {
        li.hidden =
          (needle !== "" && li.dataset.name.indexOf(needle) === -1) ||
          (type.value !== "" && li.dataset.type !== type.value);
      });
      update();
    }
    function tick(on) {
      shown().forEach(function (li) {
        li.querySelector("input").checked = on;
      });
      update();
    }
    search.addEventListener("input", filter);
    type.addEventListener("change", filter);
    tools.querySelector("[data-picker-all]").addEventListener("click", function () {
      tick(true);
    });
    tools.querySelector("[data-picker-none]").addEventListener("click", function () {
      tick(false);
    });
    list.addEventListener("change", update);
    update();
  });

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
