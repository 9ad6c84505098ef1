/* Huoban UI behaviour. CSP: no inline scripts, no eval — everything is wired here by data-* attributes.
 *
 * data-hb-search            the global search box ("/" focuses it)
 * data-hb-select            a <select> enhanced by Tom Select (search within options)
 * data-hb-lookup="/lookup/customer/"   a <select> whose options come from the scoped lookup endpoint
 * data-hb-tags              an <input> of comma-separated tags (Tom Select, create allowed)
 * data-hb-autosubmit        submit the form when this control changes
 * data-hb-confirm="text"    ask before submitting this form
 * data-hb-columns / data-hb-sortable   the column picker (SortableJS ordering)
 * data-hb-check-all / data-hb-check / data-hb-bulk   bulk selection and the bulk action bar
 * data-hb-board="<move url>" / data-hb-column="<key>"   kanban (SortableJS), move POST with rollback
 * data-hb-reveal            "show" button for a masked sensitive field (POST /api/v1/reveal/)
 * data-hb-job="/api/v1/jobs/<id>/"    a progress bar that polls a background job
 * data-hb-export="<url>"    start an export job, then show its progress
 * data-hb-field-link        a link in a form's error summary: focuses that field
 * data-hb-list="<id>"        repeatable rows of a list field: data-hb-list-add / data-hb-list-remove
 * window.huoban.toast(message, level, link, linkLabel)  show a toast (optionally with a link); HTMX
 *                          responses trigger it with HX-Trigger "hb:toast" {level, message, link, link_label}
 */
(function () {
  "use strict";

  var bs = function () { return window.tabler || window.bootstrap || {}; };
  var csrf = function () {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  };
  var lang = document.documentElement.lang || "en";
  var zh = lang.toLowerCase().indexOf("zh") === 0;
  var T = {
    loadFailed: zh ? "加载失败" : "Could not load",
    noResults: zh ? "没有匹配项" : "No results",
    moveFailed: zh ? "无法移动：" : "Could not move: ",
    moved: zh ? "已移动" : "Moved",
    selected: zh ? function (n) { return "已选 " + n + " 条"; } : function (n) { return n + " selected"; },
    network: zh ? "网络错误，请重试。" : "Network error — please try again.",
    exportStarted: zh ? "导出已开始，完成后会通知你。" : "Export started — you will be notified when it is done.",
    done: zh ? "完成" : "Done",
    failed: zh ? "失败" : "Failed",
    download: zh ? "下载结果" : "Download the result",
    stepUp: zh ? "请先完成两步验证。" : "Confirm with your two-factor code first."
  };

  /* ---------- toasts ---------- */
  function toast(message, level, link, linkLabel) {
    var box = document.getElementById("hb-toasts");
    var tpl = document.getElementById("hb-toast-template");
    if (!box || !tpl) { return; }
    var node = tpl.content.firstElementChild.cloneNode(true);
    level = level || "info";
    node.classList.add("hb-toast-" + level);
    if (level === "error") { node.setAttribute("role", "alert"); }
    var icon = node.querySelector(".ti");
    icon.classList.add(level === "error" ? "ti-alert-circle" : level === "success" ? "ti-circle-check" : level === "warning" ? "ti-alert-triangle" : "ti-info-circle");
    icon.classList.add(level === "error" ? "text-danger" : level === "success" ? "text-success" : level === "warning" ? "text-warning" : "text-primary");
    var text = node.querySelector("[data-hb-toast-text]");
    text.textContent = message;
    if (link) {  // e.g. the step-up page, with "next" back to this page
      var a = document.createElement("a");
      a.href = link;
      a.className = "ms-1 fw-medium hb-step-up-link";
      a.textContent = linkLabel || link;
      text.appendChild(document.createTextNode(" "));
      text.appendChild(a);
    }
    box.appendChild(node);
    showToast(node, level);
  }
  function showToast(node, level) {
    var Toast = bs().Toast;
    if (Toast) {
      // a toast with a link to follow (e.g. "Confirm now") stays until closed
      var t = Toast.getOrCreateInstance(node, { delay: level === "error" ? 8000 : 4000, autohide: !node.querySelector(".toast-body a") });
      node.addEventListener("hidden.bs.toast", function () { node.remove(); });
      t.show();
    } else {
      node.classList.add("show");
      setTimeout(function () { node.remove(); }, 5000);
    }
  }
  window.huoban = window.huoban || {};
  window.huoban.toast = toast;
  document.body.addEventListener("hb:toast", function (e) {
    var d = e.detail || {};
    toast(d.message || d.value || "", d.level || "success", d.link, d.link_label);
  });

  /* ---------- htmx wiring ---------- */
  document.body.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRFToken"] = csrf();
  });
  document.body.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Trigger")) { return; }
    toast(xhr && xhr.status === 403 ? (zh ? "你没有权限执行此操作。" : "You may not do this.") : T.network, "error");
  });
  document.body.addEventListener("htmx:sendError", function () { toast(T.network, "error"); });
  // Swap 409 (conflict) and 400 responses of inline edits so the user sees the message in place.
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    var s = e.detail.xhr.status;
    if ((s === 409 || s === 400) && (e.detail.xhr.getResponseHeader("Content-Type") || "").indexOf("text/html") === 0) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  /* ---------- keyboard: "/" focuses the global search ---------- */
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var t = e.target;
    var tag = (t.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || t.isContentEditable) { return; }
    var box = document.querySelector("[data-hb-search]");
    if (box && box.offsetParent !== null) {
      e.preventDefault();
      box.focus();
      box.select();
    } else if (box) {
      e.preventDefault();
      window.location.href = "/search/";
    }
  });

  /* ---------- Tom Select ---------- */
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function initSelects(root) {
    if (!window.TomSelect) { return; }
    root.querySelectorAll("select[data-hb-select]").forEach(function (el) {
      if (el.tomselect) { return; }
      new window.TomSelect(el, {
        plugins: el.multiple ? ["remove_button"] : [],
        maxOptions: 500,
        allowEmptyOption: true,
        placeholder: el.dataset.placeholder || "",
        render: { no_results: function () { return '<div class="no-results">' + esc(T.noResults) + "</div>"; } }
      });
    });
    root.querySelectorAll("select[data-hb-lookup]").forEach(function (el) {
      if (el.tomselect) { return; }
      var url = el.dataset.hbLookup;
      var isTag = url.indexOf("/lookup/tag/") === 0;
      new window.TomSelect(el, {
        valueField: "value",
        labelField: "text",
        searchField: ["text", "sub", "search"],
        plugins: el.multiple ? ["remove_button"] : [],
        create: isTag,
        persist: false,
        preload: "focus",
        maxOptions: 50,
        placeholder: el.dataset.placeholder || "",
        loadThrottle: 250,
        load: function (query, callback) {
          fetch(url + "?q=" + encodeURIComponent(query), { headers: { Accept: "application/json" }, credentials: "same-origin" })
            .then(function (r) { return r.json(); })
            .then(function (j) { callback(j.results || []); })
            .catch(function () { callback(); });
        },
        render: {
          option: function (d) {
            return "<div>" + esc(d.text) + (d.sub ? ' <small class="text-secondary">' + esc(d.sub) + "</small>" : "") + "</div>";
          },
          item: function (d) { return "<div>" + esc(d.text) + "</div>"; },
          no_results: function () { return '<div class="no-results">' + esc(T.noResults) + "</div>"; }
        }
      });
    });
    root.querySelectorAll("input[data-hb-tags]").forEach(function (el) {
      if (el.tomselect) { return; }
      new window.TomSelect(el, {
        create: true,
        persist: false,
        delimiter: ",",
        plugins: ["remove_button"],
        valueField: "value",
        labelField: "text",
        searchField: ["text"],
        load: function (query, callback) {
          fetch("/lookup/tag/?q=" + encodeURIComponent(query), { credentials: "same-origin" })
            .then(function (r) { return r.json(); })
            .then(function (j) { callback(j.results || []); })
            .catch(function () { callback(); });
        }
      });
    });
  }

  /* ---------- forms: autosubmit, confirm, column picker ---------- */
  document.addEventListener("change", function (e) {
    var el = e.target.closest("[data-hb-autosubmit]");
    if (el && el.form) { el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit(); }
  });
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var msg = form.getAttribute("data-hb-confirm");
    var submitter = e.submitter;
    if (submitter && submitter.dataset && submitter.dataset.hbConfirm) { msg = submitter.dataset.hbConfirm; }
    if (msg && !window.confirm(msg)) { e.preventDefault(); return; }
    if ((form.method || "get").toLowerCase() === "get") {
      // keep bookmarkable URLs short: leave out empty fields
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && !el.disabled && (el.tagName === "INPUT" || el.tagName === "SELECT") &&
            el.type !== "checkbox" && el.type !== "radio" && el.type !== "submit" && !el.multiple && el.value === "") {
          el.disabled = true;
          el.dataset.hbTmpDisabled = "1";
        }
      });
    }
    if (form.hasAttribute("data-hb-columns")) {
      var keys = [];
      form.querySelectorAll('input[name="col"]').forEach(function (c) {
        if (c.checked) { keys.push(c.value); }
        c.disabled = true;
      });
      form.querySelector("[data-hb-cols]").value = keys.join(",");
    }
    if (form.hasAttribute("data-hb-bulk")) {
      var sel = form.querySelector("[data-hb-bulk-action]");
      var opt = sel && sel.options[sel.selectedIndex];
      if (opt && opt.dataset.confirm && !window.confirm(opt.dataset.confirm)) { e.preventDefault(); }
    }
  }, true);

  function initSortables(root) {
    if (!window.Sortable) { return; }
    root.querySelectorAll("[data-hb-sortable]").forEach(function (el) {
      if (el.dataset.hbSortableReady) { return; }
      el.dataset.hbSortableReady = "1";
      window.Sortable.create(el, { animation: 120, handle: ".hb-grip" });
    });
  }

  /* ---------- bulk selection ---------- */
  function bulkUpdate() {
    var form = document.querySelector("[data-hb-bulk]");
    if (!form) { return; }
    var checked = document.querySelectorAll("[data-hb-check]:checked").length;
    form.hidden = checked === 0;
    var count = form.querySelector("[data-hb-bulk-count]");
    if (count) { count.textContent = T.selected(checked); }
    var all = document.querySelector("[data-hb-check-all]");
    var boxes = document.querySelectorAll("[data-hb-check]");
    if (all) {
      all.checked = checked > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
  }
  document.addEventListener("change", function (e) {
    if (e.target.matches("[data-hb-check-all]")) {
      document.querySelectorAll("[data-hb-check]").forEach(function (c) { c.checked = e.target.checked; });
    }
    if (e.target.matches("[data-hb-check-all], [data-hb-check]")) { bulkUpdate(); }
    if (e.target.matches("[data-hb-bulk-action]")) {
      var opt = e.target.options[e.target.selectedIndex];
      var need = opt ? opt.dataset.input : "";
      document.querySelectorAll("[data-hb-bulk-input]").forEach(function (box) {
        box.hidden = box.dataset.hbBulkInput !== need;
      });
    }
  });
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-hb-bulk-clear]")) {
      document.querySelectorAll("[data-hb-check], [data-hb-check-all]").forEach(function (c) { c.checked = false; });
      bulkUpdate();
    }
  });

  /* ---------- tabs loaded by HTMX: keep the active state right ---------- */
  document.addEventListener("click", function (e) {
    var a = e.target.closest("[data-hb-tab]");
    if (!a) { return; }
    a.closest(".nav").querySelectorAll(".nav-link").forEach(function (l) {
      l.classList.toggle("active", l === a);
      l.setAttribute("aria-selected", l === a ? "true" : "false");
    });
  });

  /* ---------- kanban ---------- */
  function post(url, data) {
    var body = new URLSearchParams(data);
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), Accept: "application/json" }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, ok: r.ok, body: j }; });
    });
  }
  function colCount(col, delta) {
    var badge = col.closest(".hb-board-col").querySelector("[data-hb-col-count]");
    if (!badge) { return; }
    var n = parseInt(badge.textContent.replace(/[^0-9]/g, ""), 10) || 0;
    badge.textContent = String(Math.max(0, n + delta));
  }
  function moveCard(board, card, from, to, oldIndex) {
    var url = board.dataset.hbBoard;
    card.classList.add("hb-moving");
    colCount(from, -1);
    colCount(to, 1);
    return post(url, { id: card.dataset.id, to: to.dataset.hbColumn, version: card.dataset.version }).then(function (res) {
      card.classList.remove("hb-moving");
      if (res.ok && res.body.ok) {
        card.dataset.version = res.body.version;
        toast(T.moved, "success");
        return;
      }
      // refused: put the card back where it was, visibly
      var ref = from.children[oldIndex] || null;
      from.insertBefore(card, ref);
      colCount(from, 1);
      colCount(to, -1);
      card.classList.add("hb-refused");
      setTimeout(function () { card.classList.remove("hb-refused"); }, 1200);
      toast(T.moveFailed + ((res.body && res.body.message) || res.status), "error",
        res.body && res.body.step_up_url, res.body && res.body.link_label);
    }).catch(function () {
      card.classList.remove("hb-moving");
      from.insertBefore(card, from.children[oldIndex] || null);
      colCount(from, 1);
      colCount(to, -1);
      toast(T.network, "error");
    });
  }
  function initBoards(root) {
    root.querySelectorAll("[data-hb-board]").forEach(function (board) {
      if (board.dataset.hbReady) { return; }
      board.dataset.hbReady = "1";
      if (!window.Sortable) { return; }
      board.querySelectorAll("[data-hb-column]").forEach(function (col) {
        window.Sortable.create(col, {
          group: "hb-board",
          animation: 150,
          forceFallback: true,  // pointer events: same behaviour with mouse, touch and pen
          fallbackOnBody: true,
          delay: 120,
          delayOnTouchOnly: true,
          draggable: ".hb-draggable",
          filter: "button, .dropdown-menu",
          preventOnFilter: false,
          onEnd: function (evt) {
            if (evt.from === evt.to) { return; }
            moveCard(board, evt.item, evt.from, evt.to, evt.oldIndex);
          }
        });
      });
    });
  }
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-hb-move-to]");
    if (!btn) { return; }
    var card = btn.closest(".hb-card");
    var board = btn.closest("[data-hb-board]");
    var from = card.parentElement;
    var to = board.querySelector('[data-hb-column="' + CSS.escape(btn.dataset.hbMoveTo) + '"]');
    if (!to || to === from) { return; }
    var oldIndex = Array.prototype.indexOf.call(from.children, card);
    to.insertBefore(card, to.firstChild);
    moveCard(board, card, from, to, oldIndex).then(function () { card.focus(); });
  });

  /* ---------- sensitive field reveal ---------- */
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-hb-reveal]");
    if (!btn) { return; }
    btn.disabled = true;
    fetch("/api/v1/reveal/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
      body: JSON.stringify({ object_type: btn.dataset.objectType, id: parseInt(btn.dataset.id, 10), field: btn.dataset.field })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    }).then(function (res) {
      btn.disabled = false;
      if (res.status === 200) {
        var target = btn.parentElement.querySelector("[data-hb-reveal-target]");
        if (target) { target.textContent = res.body.value; }
        btn.remove();
      } else if (res.body && res.body.code === "step_up_required") {
        toast(T.stepUp, "warning");
        window.location.href = "/step-up/?next=" + encodeURIComponent(window.location.pathname + window.location.search);
      } else {
        toast((res.body && res.body.detail) || T.network, "error");
      }
    }).catch(function () { btn.disabled = false; toast(T.network, "error"); });
  });

  /* ---------- background job progress ---------- */
  function pollJob(el) {
    if (el.dataset.hbPolling) { return; }
    el.dataset.hbPolling = "1";
    var url = el.dataset.hbJob;
    var bar = el.querySelector("[data-hb-job-bar]");
    var status = el.querySelector("[data-hb-job-status]");
    var result = el.querySelector("[data-hb-job-result]");
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          if (bar) { bar.value = job.progress || 0; bar.textContent = (job.progress || 0) + "%"; }
          el.dataset.status = job.status;
          if (status) { status.textContent = (job.status === "done" ? T.done : job.status === "failed" ? T.failed : (job.progress || 0) + "%") + (job.message ? " · " + job.message : ""); }
          if (job.status === "done" || job.status === "failed" || job.status === "cancelled") {
            if (result) {
              result.textContent = "";
              var link = job.result && (job.result.url || job.result.download || job.result.download_url);
              if (job.status === "done" && link) {
                var a = document.createElement("a");
                a.href = link;
                a.textContent = T.download;
                result.appendChild(a);
              } else if (job.status === "failed") {
                result.textContent = job.error || T.failed;
                result.classList.add("text-danger");
              }
            }
            toast((job.title || job.kind) + " — " + (job.status === "done" ? T.done : T.failed), job.status === "done" ? "success" : "error");
            return;
          }
          setTimeout(tick, 1000);
        })
        .catch(function () { setTimeout(tick, 3000); });
    };
    if (["done", "failed", "cancelled"].indexOf(el.dataset.status) === -1) { tick(); }
  }
  function initJobs(root) { root.querySelectorAll("[data-hb-job]").forEach(pollJob); }

  /* ---------- export ---------- */
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-hb-export]");
    if (!btn) { return; }
    var ids = Array.prototype.map.call(document.querySelectorAll("[data-hb-check]:checked"), function (c) { return parseInt(c.value, 10); });
    btn.disabled = true;
    fetch(btn.dataset.hbExport, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
      body: JSON.stringify({
        object_type: btn.dataset.objectType,
        query: btn.dataset.query || "",
        columns: (btn.dataset.columns || "").split(",").filter(Boolean),
        ids: ids,
        format: "xlsx"
      })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    }).then(function (res) {
      btn.disabled = false;
      if (res.status >= 200 && res.status < 300) {
        var jobId = res.body.job || res.body.job_id;
        if (res.body.download) {  // finished already (small export, or jobs run eagerly)
          window.location.href = res.body.download;
          return;
        }
        toast(T.exportStarted, "success");
        if (jobId) { window.location.href = "/jobs/" + jobId + "/"; }
      } else if (res.body && res.body.code === "step_up_required") {
        window.location.href = "/step-up/?next=" + encodeURIComponent(window.location.pathname + window.location.search);
      } else {
        toast((res.body && (res.body.detail || JSON.stringify(res.body))) || T.network, "error");
      }
    }).catch(function () { btn.disabled = false; toast(T.network, "error"); });
  });

  // list fields (forms.ListInput): add a row from the <template>, remove a row (the last one is emptied)
  document.addEventListener("click", function (e) {
    var add = e.target.closest("[data-hb-list-add]");
    var rm = e.target.closest("[data-hb-list-remove]");
    var box = (add || rm) && (add || rm).closest("[data-hb-list]");
    if (!box) { return; }
    var rows = box.querySelector("[data-hb-list-rows]");
    if (add) {
      var tpl = box.querySelector("template[data-hb-list-template]");
      var row = tpl.content.firstElementChild.cloneNode(true);
      var input = row.querySelector("input");
      var n = 0;
      while (document.getElementById(box.dataset.hbList + "_" + n)) { n++; }
      input.id = box.dataset.hbList + "_" + n;
      input.setAttribute("aria-label", (input.getAttribute("aria-label") + " " + (rows.children.length + 1)).trim());
      rows.appendChild(row);
      input.focus();
      return;
    }
    var current = rm.closest("[data-hb-list-row]");
    if (rows.querySelectorAll("[data-hb-list-row]").length > 1) {
      current.remove();
    } else {
      var only = current.querySelector("input");
      only.value = "";
      only.classList.remove("is-invalid");
      only.removeAttribute("aria-invalid");
      current.querySelectorAll(".invalid-feedback").forEach(function (n) { n.remove(); });
    }
    box.querySelector("[data-hb-list-add]").focus();
  });

  /* ---------- error summary: a field's link focuses the field (or its Tom Select control) ---------- */
  document.addEventListener("click", function (e) {
    var a = e.target.closest("[data-hb-field-link]");
    if (!a) { return; }
    var el = document.getElementById((a.getAttribute("href") || "").slice(1));
    if (!el) { return; }
    e.preventDefault();
    var target = el.tomselect ? el.tomselect.control_input : el;
    (el.closest(".hb-field") || el).scrollIntoView({ block: "center" });
    if (target && target.focus) { target.focus({ preventScroll: true }); }
  });

  // coming back with the browser's back button: enable what the submit handler disabled
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-hb-tmp-disabled]").forEach(function (el) {
      el.disabled = false;
      delete el.dataset.hbTmpDisabled;
    });
  });

  /* ---------- init (page load and every HTMX swap) ---------- */
  function init(root) {
    initSelects(root);
    initSortables(root);
    initBoards(root);
    initJobs(root);
    var focus = root.querySelector && root.querySelector("[data-hb-focus]");
    if (focus) { focus.focus(); }
  }
  function ready() {
    document.querySelectorAll("[data-hb-toast]").forEach(function (n) {
      showToast(n, n.classList.contains("hb-toast-error") ? "error" : "info");
    });
    init(document);
    bulkUpdate();
    if (window.htmx) {
      window.htmx.onLoad(function (el) { if (el !== document.body) { init(el); bulkUpdate(); } });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
