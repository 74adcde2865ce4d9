// 政策分析: draws the page's charts with ECharts from the JSON the API serves (embedded in the page).
// Clicking a bar drills into an area (province → city → county) or opens the demands behind the bar.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("insight-data").textContent);
  if (typeof window.echarts === "undefined") {
    document.querySelectorAll(".chart").forEach(function (el) {
      el.style.height = "auto";
      el.textContent = "图表组件未安装（make install 会安装），请查看下方表格。";
    });
    return;
  }
  var charts = [];
  function chart(id, option, onClick) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    var c = window.echarts.init(el, null, { renderer: "svg" });
    c.setOption(option);
    if (onClick) { c.on("click", onClick); }
    charts.push(c);
    el.setAttribute("data-ready", "1");
    return c;
  }
  var gap = data.gap;
  var cells = gap.cells.slice().reverse();
  chart("chart-gap", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (p) {
      var c = cells[p[0].dataIndex];
      return c.label + "<br>供需比 " + Math.round(c.supply_ratio * 100) + "%<br>期望推荐 " + c.wanted +
        "，可满足 " + c.covered + "<br>无合适人选 " + c.unmet + (c.flagged ? "<br><b>急需紧缺</b>" : "");
    } },
    grid: { left: 140, right: 40, top: 20, bottom: 30 },
    xAxis: { type: "value", max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } },
    yAxis: { type: "category", data: cells.map(function (c) { return c.label; }) },
    series: [{ type: "bar", name: "供需比", data: cells.map(function (c) {
      return { value: c.supply_ratio, itemStyle: { color: c.flagged ? "#c0392b" : "#3b6ea8" } };
    }), markLine: { silent: true, symbol: "none", data: [{ xAxis: gap.shortage_ratio }],
                    label: { formatter: "紧缺线" } } }]
  }, function (p) {
    var c = cells[p.dataIndex];
    if (!c) { return; }
    var level = new URLSearchParams(window.location.search).get("level") || "2";
    window.location.href = c.drill ? "/console/insight?dimension=area&office=" + c.drill :
      "/console/insight/cell?dimension=" + gap.dimension + "&key=" + encodeURIComponent(c.key) +
      "&office=" + gap.office_code + "&level=" + level;
  });
  chart("chart-funnel", {
    tooltip: { trigger: "item", formatter: "{b}：{c} 项" },
    series: [{ type: "funnel", sort: "none", left: "10%", width: "80%", label: { formatter: "{b} {c}" },
               data: data.funnel.stages.map(function (s) { return { name: s.label, value: s.reached }; }) }]
  });
  var trends = data.momentum.trends;
  chart("chart-momentum", {
    tooltip: { trigger: "axis" },
    legend: { data: [data.momentum.before, data.momentum.after] },
    grid: { left: 200, right: 40, top: 30, bottom: 30 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: trends.map(function (t) { return t.name; }).reverse() },
    series: [
      { type: "bar", name: data.momentum.before, data: trends.map(function (t) { return t.before; }).reverse() },
      { type: "bar", name: data.momentum.after, data: trends.map(function (t) { return t.after; }).reverse() }
    ]
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
