// Draws the figures embedded by registry/web/charts.py; loads Plotly only when a page has one.
(function () {
  var containers = document.querySelectorAll(".plotly-chart[data-figure]");
  if (!containers.length) return;
  function draw() {
    containers.forEach(function (el) {
      var figure = JSON.parse(document.getElementById(el.dataset.figure).textContent);
      var config = Object.assign({displaylogo: false, responsive: true}, figure.config || {});
      window.Plotly.newPlot(el, figure.data, figure.layout, config);
    });
  }
  if (window.Plotly) { draw(); return; }
  var script = document.createElement("script");
  script.src = document.body.dataset.plotlyUrl;
  script.onload = draw;
  document.head.appendChild(script);
})();
