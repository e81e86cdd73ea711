// Live worklist: listen for server-sent "changed" events and swap in fresh rows.
// No framework, no external network. Forms work without this script.
(function () {
  "use strict";
  function liveWorklist(table) {
    var source = table.getAttribute("data-live-src");
    var events = table.getAttribute("data-live-events");
    var status = document.getElementById("live-status");
    var body = document.getElementById("worklist-rows");
    if (!source || !events || !body || !window.EventSource) { return; }
    var busy = false;
    function refresh() {
      if (busy) { return; }
      // do not replace rows while the nurse is typing a note in one of them
      if (body.contains(document.activeElement) && document.activeElement.tagName === "INPUT") {
        setTimeout(refresh, 2000);
        return;
      }
      busy = true;
      fetch(source, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          var total = response.headers.get("X-Total-Count");
          return response.text().then(function (html) { return [html, total]; });
        })
        .then(function (result) {
          body.innerHTML = result[0];
          var counter = document.querySelector("[data-total]");
          if (counter && result[1] !== null) { counter.textContent = result[1]; }
          if (status) { status.textContent = table.getAttribute("data-live-message") || ""; }
          document.body.setAttribute("data-live-refreshes",
            String(Number(document.body.getAttribute("data-live-refreshes") || "0") + 1));
        })
        .catch(function () { /* the next event retries */ })
        .then(function () { busy = false; });
    }
    var stream = new EventSource(events, { withCredentials: true });
    stream.addEventListener("ready", function () { document.body.setAttribute("data-live", "on"); });
    stream.addEventListener("changed", refresh);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var table = document.querySelector("table[data-live-src]");
    if (table) { liveWorklist(table); }
  });
})();
