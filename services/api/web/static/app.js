// The live worklist. Rows never move under the nurse: a server-sent "changed" event fetches
// the fresh rows into a buffer and offers "N nye — opdatér"; the list is replaced only when
// she asks, and keyboard focus goes back to the same citizen. The tab title carries the count
// of reds; an optional sound and desktop notice (off by default) tells of a new red. A
// citizen-level decision waits a few seconds with "Fortryd" before it is sent. Keyboard: j/k
// or the arrow keys move between citizens, Enter opens. No framework, no external network;
// every form works without this script.
(function () {
  "use strict";
  var UNDO_SECONDS = 5;

  function keysOf(root) {
    var keys = [];
    root.querySelectorAll("[data-key]").forEach(function (el) { keys.push(el.getAttribute("data-key")); });
    return keys;
  }

  function setTitle(queue, reds) {
    var base = queue.getAttribute("data-title") || document.title;
    document.title = reds > 0 ? "(" + reds + " " + (queue.getAttribute("data-reds-word") || "") + ") " + base : base;
  }

  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return; }
      var ctx = new Ctx();
      var osc = ctx.createOscillator();
      osc.frequency.value = 880;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no sound */ }
  }

  function setupNotify(queue) {
    var toggle = document.getElementById("notify-red");
    if (!toggle) { return function () {}; }
    toggle.checked = window.localStorage && localStorage.getItem("pust-notify-red") === "1";
    toggle.addEventListener("change", function () {
      if (window.localStorage) { localStorage.setItem("pust-notify-red", toggle.checked ? "1" : "0"); }
      if (toggle.checked && window.Notification && Notification.permission === "default") {
        Notification.requestPermission();
      }
    });
    return function newRed() {
      if (!toggle.checked) { return; }
      beep();
      if (window.Notification && Notification.permission === "granted") {
        try { new Notification(queue.getAttribute("data-new-red") || "pust"); } catch (e) { /* none */ }
      }
    };
  }

  function liveWorklist(queue) {
    var source = queue.getAttribute("data-live-src");
    var events = queue.getAttribute("data-live-events");
    var status = document.getElementById("live-status");
    var button = document.getElementById("live-refresh");
    if (!source || !events || !button || !window.EventSource) { return; }
    var reds = Number(queue.getAttribute("data-reds") || "0");
    var notifyNewRed = setupNotify(queue);
    var buffered = null;
    var busy = false;
    setTitle(queue, reds);

    function offer(html) {
      var fresh = document.createElement("div");
      fresh.innerHTML = html;
      var shown = keysOf(queue);
      var freshKeys = keysOf(fresh);
      if (shown.join("|") === freshKeys.join("|")) {
        buffered = null;
        button.hidden = true;
        return;
      }
      buffered = html;
      // new: a queue row (citizen) that is not on the screen as it is now
      var n = 0;
      fresh.querySelectorAll("#worklist-rows tr[data-key]").forEach(function (el) {
        if (shown.indexOf(el.getAttribute("data-key")) < 0) { n += 1; }
      });
      button.textContent = n > 0
        ? (button.getAttribute("data-new") || "{n}").replace("{n}", String(n))
        : button.getAttribute("data-changed");
      button.hidden = false;
      if (status) { status.textContent = button.textContent; }
    }

    function refresh() {
      if (busy) { return; }
      busy = true;
      fetch(source, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          var redHeader = Number(response.headers.get("X-Red-Count") || "0");
          return response.text().then(function (html) { return [html, redHeader]; });
        })
        .then(function (result) {
          if (result[1] > reds) { notifyNewRed(); }
          reds = result[1];
          setTitle(queue, reds);
          offer(result[0]);
          document.body.setAttribute("data-live-checks",
            String(Number(document.body.getAttribute("data-live-checks") || "0") + 1));
        })
        .catch(function () { /* the next event retries */ })
        .then(function () { busy = false; });
    }

    button.addEventListener("click", function () {
      if (buffered === null) { return; }
      var focused = document.activeElement;
      var row = focused && focused.closest ? focused.closest("tr[data-citizen]") : null;
      var citizen = row ? row.getAttribute("data-citizen") : null;
      queue.innerHTML = buffered;
      buffered = null;
      button.hidden = true;
      bindForms(queue);
      var target = citizen ? queue.querySelector("tr[data-citizen='" + citizen + "'] a.row-link") : null;
      (target || queue.querySelector("a.row-link") || document.getElementById("main")).focus();
      document.body.setAttribute("data-live-refreshes",
        String(Number(document.body.getAttribute("data-live-refreshes") || "0") + 1));
    });

    var stream = new EventSource(events, { withCredentials: true });
    stream.addEventListener("ready", function () { document.body.setAttribute("data-live", "on"); });
    stream.addEventListener("changed", refresh);
  }

  // a decision for a whole citizen waits UNDO_SECONDS with "Fortryd" before it is sent
  function bindForms(root) {
    var queue = document.querySelector("[data-undo]");
    if (!queue) { return; }
    root.querySelectorAll("form.settle-form").forEach(function (form) {
      if (form.getAttribute("data-bound")) { return; }
      form.setAttribute("data-bound", "1");
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-confirmed") === "1") { return; }
        event.preventDefault();
        var submitter = event.submitter;
        var decision = submitter ? submitter.value : "acknowledge";
        // "Kvittér" skips the outcome (formnovalidate), but a red's note is still required
        var note = form.querySelector("[name=note][required]");
        if (decision !== "resolve" && note && !note.value.trim()) {
          note.value = "";
          note.reportValidity();
          return;
        }
        var name = form.getAttribute("data-citizen-name") || "";
        var template = queue.getAttribute(decision === "resolve" ? "data-pending-resolve" : "data-pending-ack") || "";
        var box = document.createElement("p");
        box.className = "pending";
        box.setAttribute("role", "status");
        var text = document.createElement("span");
        var undo = document.createElement("button");
        undo.type = "button";
        undo.className = "undo";
        undo.textContent = queue.getAttribute("data-undo") || "Undo";
        box.appendChild(text);
        box.appendChild(document.createTextNode(" "));
        box.appendChild(undo);
        form.appendChild(box);
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
        var left = UNDO_SECONDS;
        function show() { text.textContent = template.replace("{name}", name).replace("{s}", String(left)); }
        show();
        undo.focus();
        var timer = setInterval(function () {
          left -= 1;
          if (left > 0) { show(); return; }
          clearInterval(timer);
          var hidden = document.createElement("input");
          hidden.type = "hidden";
          hidden.name = "decision";
          hidden.value = decision;
          form.appendChild(hidden);
          form.setAttribute("data-confirmed", "1");
          form.submit();
        }, 1000);
        undo.addEventListener("click", function () {
          clearInterval(timer);
          form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
          var done = document.createElement("span");
          done.setAttribute("role", "status");
          done.textContent = queue.getAttribute("data-undone") || "";
          box.replaceWith(done);
          if (submitter) { submitter.focus(); }
        });
      });
    });
  }

  function keyboard() {
    document.addEventListener("keydown", function (event) {
      var el = document.activeElement;
      var tag = el ? el.tagName : "";
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || event.altKey || event.ctrlKey || event.metaKey) { return; }
      var down = event.key === "j" || event.key === "ArrowDown";
      var up = event.key === "k" || event.key === "ArrowUp";
      if (!down && !up) { return; }
      var links = Array.prototype.slice.call(document.querySelectorAll("#queue a.row-link"));
      if (!links.length) { return; }
      var index = links.indexOf(el);
      if (index < 0 && el && el.closest) {
        var row = el.closest("tr[data-citizen]");
        if (row) { index = links.indexOf(row.querySelector("a.row-link")); }
      }
      var next = index < 0 ? 0 : Math.max(0, Math.min(links.length - 1, index + (down ? 1 : -1)));
      event.preventDefault();
      links[next].focus();
      links[next].scrollIntoView({ block: "nearest" });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindForms(document);
    var queue = document.getElementById("queue");
    if (queue) {
      liveWorklist(queue);
      keyboard();
    }
  });
})();
