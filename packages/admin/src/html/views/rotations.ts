import type { ProgressPage, Verdict } from '../../data/progress.js';
import { formatSpan, formatTime, html, qs } from '../html.js';
import { layout, type PageContext } from '../layout.js';
import { usageChart } from '../svg.js';
import { actionForm } from './common.js';

const VERDICTS: Record<Verdict, string> = {
  switched: 'switched',
  both: 'both in use',
  'not-switched': 'not switched yet',
};

export function rotationsPage(ctx: PageContext, page: ProgressPage, client: string): string {
  const rows = page.rows.map((p) => {
    const r = p.rotation;
    const total = (a: readonly number[]) => a.reduce((s, v) => s + v, 0);
    return html`<article class="rotation" aria-labelledby="rot-${r.id}">
<h2 id="rot-${r.id}"><a href="${ctx.base}client${qs({ id: r.clientId })}">${r.clientId}</a>: <span class="verdict ${p.verdict}">${VERDICTS[p.verdict]}</span></h2>
<dl class="facts">
<div><dt>Started</dt><dd>${formatTime(r.createdAt)}</dd></div>
<div><dt>Old key</dt><dd><code>${p.oldKey?.fingerprint ?? '—'}</code>: ${total(p.oldPerHour)} requests, last used ${formatTime(p.oldLastUsedAt)}</dd></div>
<div><dt>New key</dt><dd><code>${p.newKey?.fingerprint ?? '—'}</code>: ${total(p.newPerHour)} requests${
      r.firstUsedAt === null ? ', not used yet' : html`, first used ${formatTime(r.firstUsedAt)}`
    }</dd></div>
<div><dt>Grace left</dt><dd>${formatSpan(p.graceLeftMs)} (until ${formatTime(r.graceUntil)}${r.graceFrom === 'first-use' && r.firstUsedAt === null ? ', starts at first use' : ''})</dd></div>
</dl>
<figure>${usageChart(p.hours, p.oldPerHour, p.newPerHour, `Requests per hour for ${r.clientId}`)}
<figcaption><span class="legend old">old key</span> <span class="legend new">new key</span>, requests per hour since the rotation started</figcaption></figure>
<div class="actions">
${actionForm(ctx, 'actions/finalize', html`<input type="hidden" name="rotationId" value="${r.id}">`, 'Finalize now')}
${actionForm(
  ctx,
  'actions/extend',
  html`<input type="hidden" name="rotationId" value="${r.id}"><label for="by-${r.id}">Extend by</label><select id="by-${r.id}" name="by"><option value="1h">1 hour</option><option value="24h" selected>24 hours</option><option value="7d">7 days</option></select>`,
  'Extend grace',
)}
${actionForm(
  ctx,
  'actions/abort',
  html`<input type="hidden" name="rotationId" value="${r.id}"><label for="abort-${r.id}">Reason</label><input id="abort-${r.id}" name="reason" maxlength="500" autocomplete="off">`,
  'Abort',
  { danger: true },
)}
</div>
</article>`;
  });
  const body = html`
<p>Open rotations, oldest first. <em>Switched</em>: the new key is in use and the old key has been silent since; <em>both in use</em>: the old key was used after the switch; <em>not switched yet</em>: only the old key is in use.</p>
${page.rows.length === 0 ? html`<p>No rotation is open${client ? html` for ${client}` : ''}.</p>` : rows}
${page.next === null ? '' : html`<p><a rel="next" href="${ctx.base}rotations${qs({ after: page.next })}">Next page</a></p>`}`;
  return layout(ctx, client ? `Rotations of ${client}` : 'Rotations', 'rotations', body);
}
