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

// `data-print` buttons print the page (its print stylesheet leaves out navigation and forms).
document.addEventListener('click', (e) => {
  if (e.target.closest('[data-print]')) { window.print(); }
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

// The member picker (`data-picker`, templates/member_picker.html): searches as you type
// through `GET /members/pick`, keeps the chosen across searches, shows how many are chosen.
// Only the chosen list carries `member_ids`; the result rows are views of it. The rows come
// escaped from the server and are adopted whole; everything this script writes is text.
const pickerCount = (all, total, ticked) => {
  const n = (v) => Number(v).toLocaleString('en');
  if (all) { return ticked ? `All ${n(total)} matching, plus ${n(ticked)} ticked` : `All ${n(total)} matching`; }
  return ticked ? `${n(ticked)} chosen` : 'Nobody chosen yet';
};

const setUpPicker = (root) => {
  const q = root.querySelector('[data-pick-q]');
  const group = root.querySelector('[data-pick-group]');
  const all = root.querySelector('[data-pick-all]');
  const totalText = root.querySelector('[data-pick-total]');
  const count = root.querySelector('[data-pick-count]');
  const chosenList = root.querySelector('[data-pick-chosen]');
  const rows = root.querySelector('[data-pick-rows]');
  const none = root.querySelector('[data-pick-none]');
  const moreWrap = root.querySelector('[data-pick-more-wrap]');
  const more = root.querySelector('[data-pick-more]');
  const chosen = new Map();
  root.querySelectorAll('input[name="member_ids"]:checked').forEach((b) => {
    chosen.set(b.value, b.getAttribute('data-name') || b.value);
  });
  let total = Number(root.getAttribute('data-total') || 0);

  const showCount = () => { count.textContent = pickerCount(all.checked, total, chosen.size); };
  const chip = (id, name) => {
    const li = document.createElement('li');
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.name = 'member_ids';
    box.value = id;
    box.checked = true;
    box.setAttribute('data-name', name);
    const text = document.createElement('span');
    text.textContent = name;
    label.append(box, ' ', text);
    li.append(label);
    return li;
  };
  const showChosen = () => {
    chosenList.replaceChildren(...[...chosen].map(([id, name]) => chip(id, name)));
    chosenList.hidden = chosen.size === 0;
    showCount();
  };
  // A result row: no name (the chosen list carries the value), ticked when chosen.
  const asView = (li) => {
    const box = li.querySelector('input[type="checkbox"]');
    if (box) {
      box.removeAttribute('name');
      box.checked = chosen.has(box.value);
    }
    return li;
  };
  rows.querySelectorAll('li').forEach(asView);
  showChosen();

  let asked = 0;
  const search = async (cursor) => {
    const mine = ++asked;
    const params = new URLSearchParams({ q: q.value, group_id: group.value });
    if (cursor) { params.set('cursor', cursor); }
    let page;
    try {
      const res = await fetch(`/members/pick?${params}`, { credentials: 'same-origin' });
      if (!res.ok) { throw new Error(String(res.status)); }
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      page = doc.querySelector('[data-pick-page]');
    } catch (err) {
      if (mine === asked) { count.textContent = 'The search failed; try again.'; }
      return;
    }
    if (mine !== asked || !page) { return; }
    const items = [...page.querySelectorAll('li')].map((li) => asView(document.adoptNode(li)));
    if (cursor) { rows.append(...items); } else { rows.replaceChildren(...items); }
    total = Number(page.getAttribute('data-total') || 0);
    totalText.textContent = page.getAttribute('data-total-text') || String(total);
    const next = page.getAttribute('data-next');
    more.setAttribute('data-pick-more', next || '');
    more.hidden = !next;
    moreWrap.hidden = !next;
    none.hidden = rows.children.length > 0;
    showCount();
  };
  more.hidden = !more.getAttribute('data-pick-more');

  let timer;
  q.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => search(), 250); });
  q.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); clearTimeout(timer); search(); }
  });
  group.addEventListener('change', () => search());
  root.querySelector('[data-pick-search]').addEventListener('click', (e) => { e.preventDefault(); search(); });
  more.addEventListener('click', () => search(more.getAttribute('data-pick-more')));
  all.addEventListener('change', showCount);
  rows.addEventListener('change', (e) => {
    const box = e.target;
    if (box.type !== 'checkbox') { return; }
    if (box.checked) { chosen.set(box.value, box.getAttribute('data-name') || box.value); } else { chosen.delete(box.value); }
    showChosen();
  });
  chosenList.addEventListener('change', (e) => {
    const box = e.target;
    if (box.checked) { return; }
    chosen.delete(box.value);
    rows.querySelectorAll('input[type="checkbox"]').forEach((b) => { if (b.value === box.value) { b.checked = false; } });
    showChosen();
  });
};

document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('[data-picker]').forEach(setUpPicker);
});

// `data-searchable="Search courses"` on a select puts a search box above it that hides the
// options not matching what is typed; the chosen ones and the blank choice stay.
document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('select[data-searchable]').forEach((select) => {
    const box = document.createElement('input');
    box.type = 'search';
    box.className = 'select-search';
    box.placeholder = select.getAttribute('data-searchable') || 'Search';
    box.setAttribute('aria-label', box.placeholder);
    box.addEventListener('input', () => {
      const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      for (const option of select.options) {
        const text = option.textContent.toLowerCase();
        option.hidden = !option.selected && option.value !== ''
          && !words.every((w) => text.includes(w));
      }
    });
    select.parentNode.insertBefore(box, select);
  });
});
