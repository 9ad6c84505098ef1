/* Import / export pages: progress bars that poll a JSON status URL, then reload the page.
 *
 * <div data-transfer-poll="/api/v1/imports/12/" data-status="running">
 *   <progress data-transfer-bar max="100" value="0"></progress>
 *   <span data-transfer-text></span>
 * </div>
 * The endpoint returns {"status", "progress", "counts"?, "row_count"?}; when the status is final
 * (done / failed) the page reloads to show the report. No inline scripts (strict CSP).
 */
(function () {
  "use strict";
  var FINAL = ["done", "failed", "cancelled"];

  function countsText(body) {
    var c = body.counts;
    if (c) {
      return [c.read, c.created, c.updated, c.skipped, c.rejected].join(" · ");
    }
    if (typeof body.row_count === "number" && body.row_count) { return String(body.row_count); }
    return "";
  }

  function poll(el) {
    var url = el.getAttribute("data-transfer-poll");
    var bar = el.querySelector("[data-transfer-bar]");
    var text = el.querySelector("[data-transfer-text]");
    var delay = 800;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          if (bar && typeof body.progress === "number") { bar.value = body.progress; bar.textContent = body.progress + "%"; }
          if (text) { text.textContent = countsText(body); }
          el.setAttribute("data-status", body.status || "");
          if (FINAL.indexOf(body.status) !== -1) {
            window.location.reload();
            return;
          }
          delay = Math.min(delay * 1.3, 4000);
          window.setTimeout(tick, delay);
        })
        .catch(function () { window.setTimeout(tick, 4000); });
    }
    if (FINAL.indexOf(el.getAttribute("data-status")) === -1) { window.setTimeout(tick, 300); }
  }

  /* The mapping table: a column mapped to nothing is greyed out. */
  function initMapping(root) {
    root.querySelectorAll("[data-transfer-map]").forEach(function (select) {
      var row = select.closest("tr");
      function update() { if (row) { row.classList.toggle("text-secondary", !select.value); } }
      select.addEventListener("change", update);
      update();
    });
    root.querySelectorAll("[data-transfer-check-all]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var on = btn.getAttribute("data-transfer-check-all") === "1";
        document.querySelectorAll("input[name='" + btn.getAttribute("data-name") + "']").forEach(function (c) { c.checked = on; });
      });
    });
  }

  function init() {
    document.querySelectorAll("[data-transfer-poll]").forEach(poll);
    initMapping(document);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
