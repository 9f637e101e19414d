// Small enhancements; every page works without them.
document.addEventListener('change', (e) => {
  const all = e.target.closest('[data-select-all]');
  if (all) {
    document.querySelectorAll('input[name="credential_ids"]').forEach((b) => { b.checked = all.checked; });
  }
  const count = document.querySelector('[data-selected-count]');
  if (count) {
    count.textContent = document.querySelectorAll('input[name="credential_ids"]:checked').length;
  }
});
document.addEventListener('submit', (e) => {
  const message = e.target.getAttribute('data-confirm');
  if (message && !window.confirm(message)) { e.preventDefault(); }
});

// Dashboard charts: Frappe Charts draws stacked bars from the data the server embedded; the
// server-drawn bars remain for browsers without scripts.
document.addEventListener('DOMContentLoaded', () => {
  if (!window.frappe) { return; }
  document.querySelectorAll('[data-chart]').forEach((el) => {
    const data = JSON.parse(el.getAttribute('data-chart'));
    const rows = data.labels.length;
    new window.frappe.Chart(el, {
      type: 'bar',
      height: Math.max(180, 60 + rows * 36),
      data: { labels: data.labels, datasets: data.datasets },
      colors: data.colors,
      barOptions: { stacked: 1, spaceRatio: 0.4 },
      axisOptions: { xAxisMode: 'tick', yAxisMode: 'span', xIsSeries: false },
      tooltipOptions: { formatTooltipY: (v) => `${v} credentials` },
    });
    const fallback = el.parentElement.querySelector('.chart-fallback');
    if (fallback) { fallback.hidden = true; }
  });
});
