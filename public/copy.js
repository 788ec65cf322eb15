// Copy buttons: copies the text of the element named by data-copy-target and says so.
document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-copy-target]') : null;
  if (!button) return;
  const source = document.getElementById(button.getAttribute('data-copy-target'));
  const status = button.parentElement.querySelector('.copy-status');
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.value ?? source.textContent);
    if (status) status.textContent = 'Copied';
  } catch {
    source.select();
    if (status) status.textContent = 'Press Ctrl+C (⌘C) to copy the selected token';
  }
});
