import { html } from '../html.js';
import { layout, type PageContext } from '../layout.js';

export interface ShownKey {
  readonly key: string | null;
  readonly clientId: string;
  readonly fingerprint: string;
  readonly what: 'issued' | 'rotated';
  readonly graceUntil?: string;
}

/**
 * The one page that ever shows a plaintext key: sent `Cache-Control: no-store`, so
 * going back does not show it again, and reached only by the POST that created the
 * key; a resubmitted form carries the same one-time token and gets "already shown".
 */
export function shownKeyPage(ctx: PageContext, shown: ShownKey): string {
  const heading = shown.what === 'issued' ? `Key issued for ${shown.clientId}` : `Key rotated for ${shown.clientId}`;
  const body =
    shown.key === null
      ? html`<p class="flash error" role="alert" id="already-shown">This key (<code>${shown.fingerprint}</code>) was already shown once and cannot be shown again. Issue or rotate again if it was lost.</p>
<p><a href="${ctx.base}client?id=${encodeURIComponent(shown.clientId)}">Back to ${shown.clientId}</a></p>`
      : html`<p>Copy the key now: it is shown <strong>once</strong> and cannot be recovered. Its fingerprint is <code>${shown.fingerprint}</code>.</p>
${shown.graceUntil ? html`<p>The old key keeps working until ${shown.graceUntil}.</p>` : ''}
<div class="secret"><label for="new-key">New key</label>
<input id="new-key" class="key" readonly value="${shown.key}" autocomplete="off" spellcheck="false">
<button type="button" class="copy" data-copy="new-key" hidden>Copy</button></div>
<p><a href="${ctx.base}client?id=${encodeURIComponent(shown.clientId)}">Done: back to ${shown.clientId}</a></p>`;
  return layout(ctx, heading, 'clients', body);
}

export function messagePage(ctx: PageContext, heading: string, text: string, status: 'ok' | 'error'): string {
  return layout(
    ctx,
    heading,
    '',
    html`<p class="flash ${status}" role="${status === 'error' ? 'alert' : 'status'}">${text}</p><p><a href="${ctx.base}">Overview</a></p>`,
  );
}

export function loginPage(ctx: PageContext, error?: string): string {
  const body = html`
${error ? html`<p class="flash error" role="alert">${error}</p>` : ''}
<form method="post" action="${ctx.base}login" class="login">
<label for="admin-key">Admin key</label>
<input id="admin-key" name="key" type="password" required autocomplete="off" spellcheck="false" maxlength="200">
<button type="submit">Log in</button>
</form>
<p>Paste an admin key (scope <code>keyward:read</code> or <code>keyward:write</code>). The session cookie holds no key.</p>`;
  return layout(ctx, 'Log in', '', body);
}
