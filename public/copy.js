// Progressive enhancement only: Copy buttons, local expiry time and a live countdown. The page works without it.
document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-copy-target]') : null;
  if (!button) return;
  const source = document.getElementById(button.getAttribute('data-copy-target'));
  const status = button.closest('.actions')?.querySelector('.copy-status');
  if (!source) return;
  const token = (source.value ?? source.textContent).trim();
  const template = button.getAttribute('data-copy-template');
  // A shell line comes whole from the server, quoted there: a token is never spliced into shell syntax here.
  const text = button.getAttribute('data-copy-text') ?? (template ? template.replace('{token}', token) : token);
  const before = text.indexOf(token) > 0 ? text.slice(0, text.indexOf(token)).trim() : '';
  try {
    await navigator.clipboard.writeText(text);
    if (status) status.textContent = before ? `Copied: ${before} …` : 'Copied';
  } catch {
    source.focus();
    source.select();
    if (status) status.textContent = 'Copying was blocked: the token is selected, press Ctrl+C (⌘C)';
  }
});

for (const time of document.querySelectorAll('time.local-time')) {
  const date = new Date(time.getAttribute('datetime'));
  if (!Number.isNaN(date.getTime())) time.textContent = date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'long' });
}

const countdowns = document.querySelectorAll('.countdown[data-expires]');
function tick() {
  for (const element of countdowns) {
    const seconds = Math.round((Date.parse(element.getAttribute('data-expires')) - Date.now()) / 1000);
    if (seconds <= 0) {
      element.textContent = '(expired: reload the page to refresh it)';
      element.classList.add('warning');
      continue;
    }
    const minutes = Math.floor(seconds / 60);
    element.textContent = `(in ${minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`})`;
  }
}
if (countdowns.length > 0) {
  tick();
  setInterval(tick, 1000);
}
