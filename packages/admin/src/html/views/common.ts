import type { AuditRecord } from '@keyward/core';
import { formatTime, html, qs, type SafeHtml } from '../html.js';
import type { PageContext } from '../layout.js';

/** A form that acts: POST to the mount point's action URL, with the page's one-time token. */
export function actionForm(
  ctx: PageContext,
  action: string,
  fields: SafeHtml,
  button: string,
  options: { danger?: boolean; id?: string } = {},
): SafeHtml {
  if (!ctx.canWrite) return html``;
  return html`<form method="post" action="${ctx.base}${action}" class="action"${options.id ? html` id="${options.id}"` : ''}>
<input type="hidden" name="nonce" value="${ctx.nonce}">
${fields}
<button type="submit"${options.danger ? html` class="danger"` : ''}>${button}</button>
</form>`;
}

export function auditTable(ctx: PageContext, rows: readonly AuditRecord[], caption: string): SafeHtml {
  if (rows.length === 0) return html`<p>No audit rows.</p>`;
  return html`<table class="audit">
<caption>${caption}</caption>
<thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Type</th><th scope="col">Client</th><th scope="col">Key</th><th scope="col">Actor</th><th scope="col">Reason</th></tr></thead>
<tbody>${rows.map(
    (r) =>
      html`<tr><td>${r.seq}</td><td>${formatTime(r.at)}</td><td>${r.type}</td><td>${
        r.clientId === null ? '—' : html`<a href="${ctx.base}client${qs({ id: r.clientId })}">${r.clientId}</a>`
      }</td><td><code>${r.fingerprint ?? '—'}</code></td><td>${r.actor ?? '—'}</td><td>${r.reason ?? ''}</td></tr>`,
  )}</tbody>
</table>`;
}

export function graceOptions(): SafeHtml {
  return html`<option value="1h">1 hour</option><option value="24h">24 hours</option><option value="48h" selected>48 hours</option><option value="7d">7 days</option>`;
}
