// Small enhancements; every page works without them. Pages carry no inline script or
// handler (the Content-Security-Policy refuses them): behaviour hangs off data- attributes.

// `data-select-all="NAME"` ticks or clears every checkbox named NAME.
document.addEventListener('change', (e) => {
  const all = e.target.closest('[data-select-all]');
  if (all) {
    const name = all.getAttribute('data-select-all') || 'credential_ids';
    document.querySelectorAll('input[type="checkbox"]').forEach((b) => {
      if (b.name === name) { b.checked = all.checked; }
    });
  }
  const count = document.querySelector('[data-selected-count]');
  if (count) {
    count.textContent = document.querySelectorAll('input[name="credential_ids"]:checked').length;
  }
});

// `data-confirm` on a form, or on the button that submits it, asks before sending.
document.addEventListener('submit', (e) => {
  const asking = (e.submitter && e.submitter.getAttribute('data-confirm'))
    || e.target.getAttribute('data-confirm');
  if (asking && !window.confirm(asking)) { e.preventDefault(); }
});

// `data-back` links go back in history; their href is where to go without history.
document.addEventListener('click', (e) => {
  const back = e.target.closest('[data-back]');
  if (back && window.history.length > 1) {
    e.preventDefault();
    window.history.back();
  }
});

// Dashboard charts: Frappe Charts draws stacked bars from the data the server embedded; the
// server-drawn bars remain for browsers without scripts. The library writes a tooltip's
// title as HTML, so it gets the server's HTML-escaped copy of each label (`tooltips`), never
// the name itself: a group called `<img onerror=…>` stays text.
document.addEventListener('DOMContentLoaded', () => {
  if (!window.frappe) { return; }
  document.querySelectorAll('[data-chart]').forEach((el) => {
    const data = JSON.parse(el.getAttribute('data-chart'));
    const rows = data.labels.length;
    const tooltips = new Map(data.labels.map((label, i) => [label, data.tooltips[i]]));
    new window.frappe.Chart(el, {
      type: 'bar',
      height: Math.max(180, 60 + rows * 36),
      data: { labels: data.labels, datasets: data.datasets },
      colors: data.colors,
      barOptions: { stacked: 1, spaceRatio: 0.4 },
      axisOptions: { xAxisMode: 'tick', yAxisMode: 'span', xIsSeries: false },
      tooltipOptions: {
        formatTooltipX: (label) => tooltips.get(label) ?? '',
        formatTooltipY: (v) => `${v} credentials`,
      },
    });
    const fallback = el.parentElement.querySelector('.chart-fallback');
    if (fallback) { fallback.hidden = true; }
  });
});
