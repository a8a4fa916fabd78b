import type { AuditRecord, KeyRecord, RotationRecord } from '@keyward/core';
import { effectiveStatus, rotationProgress } from '@keyward/core';
import { formatTime, html, qs } from '../html.js';
import { layout, type PageContext } from '../layout.js';
import { actionForm, auditTable, graceOptions } from './common.js';

export function clientDetailPage(
  ctx: PageContext,
  clientId: string,
  keys: readonly KeyRecord[],
  rotations: readonly RotationRecord[],
  audit: readonly AuditRecord[],
  now: number,
): string {
  const open = rotations.find((r) => r.state === 'started' || r.state === 'delivered');
  const keyRows = keys.map(
    (k) =>
      html`<tr><td><code>${k.fingerprint}</code></td><td>${effectiveStatus(k, now, open && open.newKeyId === k.id ? open.graceUntil : null)}</td><td>${
        k.scopes.length === 0 ? '—' : k.scopes.join(' ')
      }</td><td>${formatTime(k.createdAt)}</td><td>${formatTime(k.expiresAt)}</td><td>${formatTime(k.lastUsedAt)}</td><td>${
        k.status === 'active' || k.status === 'pending'
          ? actionForm(
              ctx,
              'actions/revoke',
              html`<input type="hidden" name="keyId" value="${k.id}"><label for="reason-${k.id}">Reason</label><input id="reason-${k.id}" name="reason" required maxlength="500" autocomplete="off">`,
              `Revoke ${k.fingerprint}`,
              { danger: true },
            )
          : (k.revokedReason ?? '')
      }</td></tr>`,
  );
  const timeline = rotations.map(
    (r) =>
      html`<li><strong>${rotationProgress(r)}</strong> · started ${formatTime(r.createdAt)} by ${r.actor ?? 'unknown'}${
        r.firstUsedAt === null ? '' : html` · new key first used ${formatTime(r.firstUsedAt)}`
      } · grace until ${formatTime(r.graceUntil)}${r.completedAt === null ? '' : html` · closed ${formatTime(r.completedAt)}`}${
        r.lastError ? html` · error: ${r.lastError}` : ''
      }</li>`,
  );
  const body = html`
<section aria-labelledby="h-keys"><h2 id="h-keys">Keys</h2>
${
  keys.length === 0
    ? html`<p>This client has no keys.</p>`
    : html`<table><caption>Keys of ${clientId}</caption>
<thead><tr><th scope="col">Fingerprint</th><th scope="col">Status</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">Action</th></tr></thead>
<tbody>${keyRows}</tbody></table>`
}
</section>
${
  ctx.canWrite && open === undefined && keys.some((k) => k.status === 'active')
    ? html`<section aria-labelledby="h-rotate"><h2 id="h-rotate">Rotate</h2>
${actionForm(
  ctx,
  'actions/rotate',
  html`<input type="hidden" name="clientId" value="${clientId}"><label for="grace">Grace</label><select id="grace" name="grace">${graceOptions()}</select>
<label for="grace-from">Grace starts</label><select id="grace-from" name="graceFrom"><option value="rotation">now</option><option value="first-use">at the new key's first use</option></select>`,
  'Rotate key',
  { id: 'rotate-form' },
)}</section>`
    : ''
}
${open ? html`<p>A rotation is in progress: <a href="${ctx.base}rotations${qs({ client: clientId })}">see its progress</a>.</p>` : ''}
<section aria-labelledby="h-timeline"><h2 id="h-timeline">Rotation timeline</h2>
${rotations.length === 0 ? html`<p>No rotations.</p>` : html`<ol class="timeline">${timeline}</ol>`}
</section>
<section aria-labelledby="h-audit"><h2 id="h-audit">Audit</h2>
${auditTable(ctx, audit, `Newest audit rows of ${clientId}`)}
<p><a href="${ctx.base}audit${qs({ client: clientId })}">All audit rows of this client</a></p>
</section>`;
  return layout(ctx, `Client ${clientId}`, 'clients', body);
}
