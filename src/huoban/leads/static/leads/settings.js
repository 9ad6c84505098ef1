/* Lead settings forms (CSP-strict, no inline script): show only the parts of a rule form that
   apply. An element with data-hb-show-if="name=value" (or "name!=value"; several joined by "&")
   is hidden unless every condition holds for the current value of the form control "name"
   (the checked radio, or the select/input). Without JavaScript every part stays visible and the
   server ignores what does not apply. */
(function () {
  "use strict";

  function current(form, name) {
    var checked = form.querySelector('input[type="radio"][name="' + name + '"]:checked');
    if (checked) { return checked.value; }
    var el = form.querySelector('[name="' + name + '"]:not([type="radio"])');
    return el ? el.value : "";
  }

  function holds(form, expr) {
    return expr.split("&").every(function (part) {
      var neg = part.indexOf("!=") !== -1;
      var bits = part.split(neg ? "!=" : "=");
      var value = current(form, bits[0].trim());
      return neg ? value !== bits[1].trim() : value === bits[1].trim();
    });
  }

  function sync(form) {
    form.querySelectorAll("[data-hb-show-if]").forEach(function (el) {
      el.hidden = !holds(form, el.getAttribute("data-hb-show-if"));
    });
  }

  function init() {
    document.querySelectorAll("[data-hb-rule-form]").forEach(sync);
    document.addEventListener("change", function (e) {
      var form = e.target.closest && e.target.closest("[data-hb-rule-form]");
      if (form) { sync(form); }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
