import { ALERT_TYPES, type Overview } from '../../data/overview.js';
import { formatTime, html, qs } from '../html.js';
import { layout, type PageContext } from '../layout.js';
import { statusBar } from '../svg.js';
import { actionForm } from './common.js';

export function overviewPage(ctx: PageContext, o: Overview): string {
  const healthRow = (name: string, part: { state: string; detail: string }) =>
    html`<tr><th scope="row">${name}</th><td><span class="state ${part.state}">${part.state}</span></td><td>${part.detail}</td></tr>`;
  const counts = o.keysByStatus;
  const body = html`
<section aria-labelledby="h-health"><h2 id="h-health">Health</h2>
<table><caption>Store, shared cache and change log, as this process sees them</caption>
<thead><tr><th scope="col">Part</th><th scope="col">State</th><th scope="col">Detail</th></tr></thead>
<tbody>${healthRow('Store', o.health.store)}${healthRow('Shared cache (Redis)', o.health.cache)}${healthRow('Change log', o.health.changeLog)}</tbody></table>
</section>
<section aria-labelledby="h-keys"><h2 id="h-keys">Keys by status</h2>
${
  counts === null
    ? html`<p class="flash error">The store did not answer.</p>`
    : html`${statusBar(counts)}
<dl class="counts">${Object.entries(counts).map(
        ([status, n]) => html`<div><dt>${status}</dt><dd><a href="${ctx.base}clients${qs({ status })}">${n}</a></dd></div>`,
      )}</dl>`
}
</section>
<section aria-labelledby="h-rot"><h2 id="h-rot">Rotations in flight</h2>
<p><a href="${ctx.base}rotations">${o.openRotations.count}${o.openRotations.more ? '+' : ''} open rotation${o.openRotations.count === 1 ? '' : 's'}</a></p>
</section>
<section aria-labelledby="h-exp"><h2 id="h-exp">Expiring soon</h2>
${
  o.expiring.length === 0
    ? html`<p>No client has a key expiring soon.</p>`
    : html`<ul>${o.expiring.map(
        (c) => html`<li><a href="${ctx.base}client${qs({ id: c.clientId })}">${c.clientId}</a>: expires ${formatTime(c.nextExpiry)}</li>`,
      )}</ul>${o.expiringMore ? html`<p><a href="${ctx.base}clients?expiring=1">All expiring clients</a></p>` : ''}`
}
</section>
<section aria-labelledby="h-alerts"><h2 id="h-alerts">Alerts, last 24 hours</h2>
<table><caption>From the audit trail</caption>
<thead><tr><th scope="col">Alert</th><th scope="col">Count</th><th scope="col">Latest</th></tr></thead>
<tbody>${o.alerts.map(
    (a) =>
      html`<tr><th scope="row"><a href="${ctx.base}audit${qs({ type: a.type })}">${ALERT_TYPES[a.type]}</a></th><td>${a.count}${a.more ? '+' : ''}</td><td>${
        a.latest ? html`${formatTime(a.latest.at)} · ${a.latest.clientId ?? ''} <code>${a.latest.fingerprint ?? ''}</code>` : '—'
      }</td></tr>`,
  )}</tbody></table>
</section>
<section aria-labelledby="h-audit"><h2 id="h-audit">Audit chain</h2>
<p>The newest ${o.auditTail.rows} rows link up: <span class="state ${o.auditTail.ok ? 'ok' : 'failing'}">${o.auditTail.ok ? 'intact' : 'BROKEN'}</span>${
    o.auditTail.head ? html` (head #${o.auditTail.head.seq}, <code>${o.auditTail.head.hash.slice(0, 16)}</code>…)` : ''
  }. <a href="${ctx.base}audit/verify">Verify the whole chain</a></p>
</section>
${
  ctx.canWrite
    ? html`<section aria-labelledby="h-purge"><h2 id="h-purge">Retention</h2>
<p>Revoked and inactive keys past their retention can be deleted now (their audit rows stay).</p>
${actionForm(ctx, 'actions/purge', html``, 'Purge retired keys', { danger: true })}</section>`
    : ''
}`;
  return layout(ctx, 'Overview', '', body);
}
