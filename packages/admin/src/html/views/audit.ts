import type { AuditRecord } from '@keyward/core';
import { html, qs } from '../html.js';
import { layout, type PageContext } from '../layout.js';
import { auditTable } from './common.js';

export interface AuditFilter {
  readonly client: string;
  readonly type: string;
  readonly actor: string;
}

export function auditPage(
  ctx: PageContext,
  rows: readonly AuditRecord[],
  next: number | null,
  filter: AuditFilter,
  verify?: { ok: boolean; text: string },
): string {
  const body = html`
${verify ? html`<p class="flash ${verify.ok ? 'ok' : 'error'}" role="status" id="verify-result">${verify.text}</p>` : ''}
<p><a href="${ctx.base}audit/verify">Verify the whole chain</a></p>
<form method="get" action="${ctx.base}audit" class="filters">
<label for="f-client">Client</label><input id="f-client" name="client" value="${filter.client}" maxlength="200" autocomplete="off">
<label for="f-type">Type</label><input id="f-type" name="type" value="${filter.type}" maxlength="100" autocomplete="off">
<label for="f-actor">Actor</label><input id="f-actor" name="actor" value="${filter.actor}" maxlength="500" autocomplete="off">
<button type="submit">Filter</button>
</form>
${auditTable(ctx, rows, 'Audit rows, newest first')}
${next === null ? '' : html`<p><a rel="next" href="${ctx.base}audit${qs({ ...filter, before: next })}">Older rows</a></p>`}`;
  return layout(ctx, 'Audit', 'audit', body);
}
