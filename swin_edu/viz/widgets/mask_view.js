// The mask explorer's view (anywidget): shows the HTML/SVG that Python draws, and reports clicks on tokens.
// All logic stays in Python (swin_edu.viz.widgets.mask); this file only displays and listens.
function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "swin-mask-root";
  el.appendChild(root);
  const draw = () => {
    root.innerHTML = model.get("html");
    root.dataset.version = String(model.get("version"));
  };
  draw();
  model.on("change:version", draw);  // Python bumps version with every new html, in the same message
  const onClick = (event) => {
    const svg = event.target.closest ? event.target.closest("svg[data-panel]") : null;
    if (!svg) return;
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const p = point.matrixTransform(svg.getScreenCTM().inverse());
    const cell = Number(svg.dataset.cell), rows = Number(svg.dataset.rows), cols = Number(svg.dataset.cols);
    const row = Math.floor(p.y / cell), col = Math.floor(p.x / cell);
    if (!(row >= 0 && col >= 0 && row < rows && col < cols)) return;
    const n = (model.get("click") || {}).n || 0;
    model.set("click", { panel: svg.dataset.panel, row, col, n: n + 1 });
    model.save_changes();
  };
  root.addEventListener("click", onClick);
  return () => {
    model.off("change:version", draw);
    root.removeEventListener("click", onClick);
  };
}
export default { render };
