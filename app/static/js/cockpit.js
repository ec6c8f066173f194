// Cockpit charts: each [data-chart] container has a JSON description next to it
// (script#chart-data-<id>) written by app/cockpit/charts.py; this turns it into an ECharts
// option. A click on a bar or a funnel step opens the list behind the number.
/* global echarts */
(() => {
  "use strict";

  const PALETTE = [
    "#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#20c997",
    "#dc3545", "#0dcaf0", "#6c757d", "#ffc107", "#d63384",
  ];

  const tooltipLine = (p) => {
    const d = p.data || {};
    const amount = d.amount ? ` · ${d.amount} 亿元` : "";
    return `${p.marker}${p.seriesName}: ${p.value == null ? "—" : p.value}${amount}`;
  };

  const escapeHtml = (text) =>
    String(text).replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);

  function funnelOption(spec) {
    const series = spec.series[0];
    return {
      color: PALETTE,
      tooltip: {
        trigger: "item",
        formatter: (p) => `${escapeHtml(p.name)}: ${p.value}${p.data.amount ? ` · ${p.data.amount} 亿元` : ""}`,
      },
      series: [{
        name: series.name,
        type: "funnel",
        sort: "none",
        left: "5%",
        width: "90%",
        minSize: "8%",
        label: { show: true, position: "inside", formatter: "{b}  {c}" },
        data: series.data.map((d, i) => ({ ...d, name: spec.categories[i] })),
      }],
    };
  }

  function barOption(spec) {
    const categoryAxis = {
      type: "category",
      data: spec.categories,
      axisLabel: { interval: 0, hideOverlap: true },
    };
    const valueAxis = { type: "value", minInterval: 1 };
    return {
      color: PALETTE,
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: (items) => [escapeHtml(items[0].axisValueLabel)]
          .concat(items.map((p) => tooltipLine({ ...p, seriesName: escapeHtml(p.seriesName) })))
          .join("<br>"),
      },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: spec.horizontal ? valueAxis : categoryAxis,
      yAxis: spec.horizontal ? { ...categoryAxis, inverse: true } : valueAxis,
      series: spec.series.map((s) => ({
        name: s.name,
        type: "bar",
        stack: spec.stacked ? "total" : undefined,
        emphasis: { focus: "series" },
        data: s.data,
      })),
    };
  }

  function draw(el) {
    const source = document.getElementById(`chart-data-${el.dataset.chart}`);
    if (!source) return;
    const spec = JSON.parse(source.textContent);
    const chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(spec.type === "funnel" ? funnelOption(spec) : barOption(spec));
    chart.on("click", (p) => {
      if (p.data && p.data.url) window.location.assign(p.data.url);
    });
    el.dataset.drawn = "true";
    return chart;
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof echarts === "undefined") return;
    const charts = Array.from(document.querySelectorAll("[data-chart]")).map(draw).filter(Boolean);
    window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
    // A chart in a tab drawn while hidden needs its size once shown.
    document.querySelectorAll('[data-bs-toggle="tab"]').forEach((tab) => {
      tab.addEventListener("shown.bs.tab", () => charts.forEach((c) => c.resize()));
    });
  });
})();
