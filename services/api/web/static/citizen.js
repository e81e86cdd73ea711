// Chart tooltips on hover and keyboard focus (arrow keys move between points), in the
// clinic's local time as written by the server. No framework, no external network; the page
// works without this script (every point also has a <title> and the table alternative).
(function () {
  "use strict";
  function setup(box) {
    var tip = document.getElementById("chart-tip");
    if (!tip) { return; }
    function show(point) {
      var label = point.getAttribute("data-tip");
      if (!label) { return; }
      var boxRect = box.getBoundingClientRect();
      var rect = point.getBoundingClientRect();
      box.appendChild(tip);
      tip.textContent = label;
      tip.hidden = false;
      var left = rect.left - boxRect.left + rect.width / 2 - tip.offsetWidth / 2;
      left = Math.max(0, Math.min(left, box.clientWidth - tip.offsetWidth));
      tip.style.left = left + "px";
      tip.style.top = (rect.top - boxRect.top - tip.offsetHeight - 6) + "px";
      point.classList.add("active");
    }
    function hide(point) { tip.hidden = true; point.classList.remove("active"); }
    var svgs = box.querySelectorAll("svg.chart");
    Array.prototype.forEach.call(svgs, function (svg) {
      var points = Array.prototype.slice.call(svg.querySelectorAll(".pt"));
      points.forEach(function (point, index) {
        point.addEventListener("mouseenter", function () { show(point); });
        point.addEventListener("mouseleave", function () { hide(point); });
        point.addEventListener("focus", function () { show(point); });
        point.addEventListener("blur", function () { hide(point); });
        point.addEventListener("keydown", function (event) {
          var next = null;
          if (event.key === "ArrowRight" || event.key === "ArrowDown") { next = points[index + 1]; }
          if (event.key === "ArrowLeft" || event.key === "ArrowUp") { next = points[index - 1]; }
          if (event.key === "Home") { next = points[0]; }
          if (event.key === "End") { next = points[points.length - 1]; }
          if (event.key === "Escape") { hide(point); return; }
          if (next) {
            event.preventDefault();
            point.setAttribute("tabindex", "-1");
            next.setAttribute("tabindex", "0");
            next.focus();
          }
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".chart-box"), setup);
    // a row menu closes when another opens or on Escape
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") { return; }
      Array.prototype.forEach.call(document.querySelectorAll("details.menu[open]"), function (d) {
        d.removeAttribute("open");
        var summary = d.querySelector("summary");
        if (summary) { summary.focus(); }
      });
    });
  });
})();
