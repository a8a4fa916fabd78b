import type { ClientPage } from '@keyward/core';
import { formatTime, html, qs } from '../html.js';
import { layout, type PageContext } from '../layout.js';
import { actionForm } from './common.js';

export interface ClientsFilter {
  readonly search: string;
  readonly status: string;
  readonly expiring: boolean;
}

const STATUSES = ['', 'active', 'pending', 'inactive', 'revoked'];

export function clientsPage(ctx: PageContext, page: ClientPage, filter: ClientsFilter): string {
  const body = html`
<form method="get" action="${ctx.base}clients" class="filters" role="search">
<label for="q">Client id or fingerprint</label>
<input id="q" name="q" type="search" value="${filter.search}" maxlength="200" autocomplete="off">
<label for="status">Status</label>
<select id="status" name="status">${STATUSES.map(
    (s) => html`<option value="${s}"${s === filter.status ? html` selected` : ''}>${s === '' ? 'any' : s}</option>`,
  )}</select>
<input id="expiring" name="expiring" type="checkbox" value="1"${filter.expiring ? html` checked` : ''}>
<label for="expiring">Expiring soon</label>
<button type="submit">Search</button>
</form>
${
  page.clients.length === 0
    ? html`<p>No client matches.</p>`
    : html`<table>
<caption>Clients, by id</caption>
<thead><tr><th scope="col">Client</th><th scope="col">Active</th><th scope="col">Pending</th><th scope="col">Inactive</th><th scope="col">Revoked</th><th scope="col">Next expiry</th><th scope="col">Last used</th></tr></thead>
<tbody>${page.clients.map(
        (c) =>
          html`<tr><th scope="row"><a href="${ctx.base}client${qs({ id: c.clientId })}">${c.clientId}</a></th><td>${c.counts.active}</td><td>${c.counts.pending}</td><td>${c.counts.inactive}</td><td>${c.counts.revoked}</td><td>${formatTime(c.nextExpiry)}</td><td>${formatTime(c.lastUsedAt)}</td></tr>`,
      )}</tbody></table>`
}
${
  page.next === null
    ? ''
    : html`<p><a rel="next" href="${ctx.base}clients${qs({ q: filter.search, status: filter.status, expiring: filter.expiring ? '1' : '', after: page.next })}">Next page</a></p>`
}
${
  ctx.canWrite
    ? html`<section aria-labelledby="h-issue"><h2 id="h-issue">Issue a key</h2>
${actionForm(
  ctx,
  'actions/issue',
  html`<label for="issue-client">Client id</label><input id="issue-client" name="clientId" required maxlength="200" autocomplete="off">
<label for="issue-scopes">Scopes (space-separated)</label><input id="issue-scopes" name="scopes" maxlength="2000" autocomplete="off">
<label for="issue-ttl">Lifetime</label><select id="issue-ttl" name="ttl"><option value="">default</option><option value="30d">30 days</option><option value="90d">90 days</option><option value="365d">1 year</option><option value="never">never expires</option></select>`,
  'Issue key',
  { id: 'issue-form' },
)}</section>`
    : ''
}`;
  return layout(ctx, 'Clients', 'clients', body);
}
