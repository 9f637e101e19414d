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
