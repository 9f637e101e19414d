// The API reference page (/api/docs): lists the operations of /api/openapi.json by tag. Every
// value from the document is escaped before it becomes HTML.
(async () => {
  const spec = await (await fetch('/api/openapi.json')).json();
  const root = document.getElementById('root');
  root.textContent = '';
  const esc = s => String(s ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
  const resolve = ref => ref && ref.$ref ? spec.components.schemas[ref.$ref.split('/').pop()] : ref;
  const byTag = {};
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      (byTag[tag] = byTag[tag] || []).push({ path, method, op });
    }
  }
  for (const [tag, ops] of Object.entries(byTag)) {
    const section = document.createElement('section');
    section.className = 'tag';
    section.innerHTML = `<h2>${esc(tag)}</h2>`;
    for (const { path, method, op } of ops) {
      const params = (op.parameters || []).map(p => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${esc(p.description)}</td></tr>`).join('');
      const body = op.requestBody && Object.values(op.requestBody.content)[0].schema;
      const responses = Object.entries(op.responses || {}).map(([code, r]) => `<tr><td>${esc(code)}</td><td>${esc(r.description)}</td></tr>`).join('');
      const d = document.createElement('details');
      d.innerHTML = `<summary><span class="m ${esc(method)}">${esc(method)}</span>${esc(path)} — ${esc(op.summary || op.description || '')}</summary>
        <div class="body">${op.description ? `<p>${esc(op.description)}</p>` : ''}
        ${params ? `<h4>Parameters</h4><table>${params}</table>` : ''}
        ${body ? `<h4>Body</h4><pre>${esc(JSON.stringify(resolve(body), null, 2))}</pre>` : ''}
        <h4>Responses</h4><table>${responses}</table></div>`;
      section.appendChild(d);
    }
    root.appendChild(section);
  }
})();
