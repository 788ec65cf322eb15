// Development only: HTML escaping and the page shell of the local identity provider's pages.

/** Escapes text for use in HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; background: #f2f2f2; color: #1b1b1b; margin: 0; }
  main { max-width: 34rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem 2rem; box-shadow: 0 2px 6px rgba(0,0,0,.2); }
  .dev { background: #fff4ce; border: 1px solid #c19c00; padding: .5rem .75rem; font-size: .9rem; }
  .error { background: #fde7e9; border: 1px solid #a80000; padding: .5rem .75rem; white-space: pre-wrap; overflow-wrap: anywhere; }
  label { display: block; margin-top: .75rem; font-weight: 600; }
  input { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; border: 1px solid #8a8886; }
  .actions { display: flex; gap: .5rem; margin-top: 1rem; }
  button { padding: .5rem 1.25rem; font-size: 1rem; border: 1px solid #8a8886; background: #fff; cursor: pointer; }
  button.primary { background: #0067b8; border-color: #0067b8; color: #fff; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; }
  th, td { text-align: left; padding: .25rem .5rem .25rem 0; border-bottom: 1px solid #e1dfdd; }
  code { overflow-wrap: anywhere; }
  dt { font-weight: 600; }
`;

/** A complete HTML document; `body` must already be escaped markup. */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="dev">Local Microsoft identity provider — <strong>development only</strong>. This is not Microsoft; never enter real credentials here.</p>
${body}
</main>
</body>
</html>
`;
}
