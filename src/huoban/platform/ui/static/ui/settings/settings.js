/* Settings area behaviour (CSP-strict: no inline script). Drag and drop with SortableJS:
   - the org unit tree (nested lists; a drop posts the new parent and sibling order)
   - the custom field list (a drop posts the new order)
   A refused move reloads the page so the tree shows the server's truth. */
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function post(url, data) {
    var body = new URLSearchParams(data);
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "X-Requested-With": "fetch", "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
    }).then(function (r) {
      if (!r.ok) { return r.json().catch(function () { return {}; }).then(function (j) { throw j; }); }
      return r.json();
    });
  }

  function toast(message, kind) {
    if (window.huoban && typeof window.huoban.toast === "function") { window.huoban.toast(message, kind); return; }
    var el = document.createElement("div");
    el.className = "alert alert-" + (kind === "error" ? "danger" : "success") + " position-fixed bottom-0 end-0 m-3";
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.textContent = message;
    document.body.appendChild(el);
    setTimeout(function () { el.remove(); }, 4000);
  }

  function childIds(list) {
    var ids = [];
    for (var i = 0; i < list.children.length; i++) {
      var id = list.children[i].getAttribute("data-id");
      if (id) { ids.push(id); }
    }
    return ids;
  }

  function initUnitTree() {
    var root = document.querySelector("[data-hb-unit-tree][data-move-url]");
    if (!root || typeof Sortable === "undefined") { return; }
    var moveUrl = root.getAttribute("data-move-url");
    var errorText = root.getAttribute("data-error") || "Error";
    document.querySelectorAll("[data-hb-unit-tree]").forEach(function (list) {
      Sortable.create(list, {
        group: "units",
        handle: ".hb-drag-handle",
        animation: 150,
        forceFallback: true, // pointer events everywhere: same behaviour with mouse, touch and pen
        fallbackOnBody: true,
        swapThreshold: 0.65,
        emptyInsertThreshold: 8,
        onEnd: function (evt) {
          var item = evt.item;
          var to = evt.to;
          if (evt.from === to && evt.oldIndex === evt.newIndex) { return; }
          var id = item.getAttribute("data-id");
          item.classList.add("hb-moving");
          post(moveUrl.replace("/0/", "/" + id + "/"), {
            parent: to.getAttribute("data-parent") || "",
            position: String(evt.newIndex),
            siblings: childIds(to).join(","),
          }).then(function () {
            item.classList.remove("hb-moving");
          }).catch(function (err) {
            var msg = errorText;
            if (err && err.errors) {
              var first = Object.keys(err.errors)[0];
              if (first && err.errors[first] && err.errors[first][0]) { msg = err.errors[first][0]; }
            }
            toast(msg, "error");
            setTimeout(function () { window.location.reload(); }, 900);
          });
        },
      });
    });
  }

  function initFieldOrder() {
    var list = document.querySelector("[data-hb-sortable-fields]");
    if (!list || typeof Sortable === "undefined") { return; }
    Sortable.create(list, {
      handle: ".hb-drag-handle",
      animation: 150,
      forceFallback: true,
      onEnd: function (evt) {
        if (evt.oldIndex === evt.newIndex) { return; }
        post(list.getAttribute("data-url"), { order: childIds(list).join(",") }).catch(function () {
          toast(list.getAttribute("data-error") || "Error", "error");
          setTimeout(function () { window.location.reload(); }, 900);
        });
      },
    });
  }

  function initConfirm() {
    document.addEventListener("submit", function (e) {
      var btn = e.submitter || (e.target && e.target.querySelector("[data-hb-confirm]"));
      var text = btn && btn.getAttribute && btn.getAttribute("data-hb-confirm");
      if (text && !window.confirm(text)) { e.preventDefault(); }
    }, true);
  }

  function init() { initUnitTree(); initFieldOrder(); initConfirm(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
