/* Sales report charts (Apache ECharts, served locally). Data come from a JSON block
 * <script type="application/json" id="…"> named by data-hb-source; containers say which chart
 * with data-hb-chart="funnel|cycle|sources|forecast". No inline scripts (CSP). */
(function () {
  "use strict";

  function readData(id) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function money(v) {
    return Number(v).toLocaleString(document.documentElement.lang || undefined, { maximumFractionDigits: 0 });
  }

  var builders = {
    funnel: function (d) {
      return {
        tooltip: { trigger: "item", formatter: "{b}: {c}" },
        series: [{
          type: "funnel", left: "5%", width: "90%", sort: "none", gap: 2, minSize: "8%",
          label: { show: true, position: "inside", formatter: "{b}\n{c}" },
          data: d.funnel
        }]
      };
    },
    cycle: function (d) {
      return {
        tooltip: { trigger: "axis" },
        grid: { left: 40, right: 16, top: 24, bottom: 40, containLabel: true },
        xAxis: { type: "category", data: d.stages },
        yAxis: { type: "value", name: d.labels.avg_days },
        series: [{ type: "bar", name: d.labels.avg_days, data: d.avg_days, barMaxWidth: 48 }]
      };
    },
    sources: function (d) {
      return {
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 32, bottom: 40, containLabel: true },
        xAxis: { type: "category", data: d.sources, axisLabel: { interval: 0, rotate: d.sources.length > 6 ? 30 : 0 } },
        yAxis: { type: "value" },
        series: [
          { type: "bar", name: d.labels.leads, data: d.source_leads, barMaxWidth: 32 },
          { type: "bar", name: d.labels.won, data: d.source_won, barMaxWidth: 32 }
        ]
      };
    },
    forecast: function (d) {
      var bars = d.series.filter(function (s) { return s.key !== "weighted"; }).map(function (s) {
        return { type: "bar", name: s.name, data: s.data, barMaxWidth: 28 };
      });
      var weighted = d.series.filter(function (s) { return s.key === "weighted"; })[0];
      if (weighted) { bars.push({ type: "line", name: weighted.name, data: weighted.data, smooth: true }); }
      return {
        tooltip: { trigger: "axis", valueFormatter: money },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 36, bottom: 32, containLabel: true },
        xAxis: { type: "category", data: d.periods },
        yAxis: { type: "value", axisLabel: { formatter: money } },
        series: bars
      };
    }
  };

  function init() {
    if (!window.echarts) { return; }
    var charts = [];
    document.querySelectorAll("[data-hb-chart]").forEach(function (el) {
      var data = readData(el.getAttribute("data-hb-source"));
      var build = builders[el.getAttribute("data-hb-chart")];
      if (!data || !build) { return; }
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(build(data));
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
