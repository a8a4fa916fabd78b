import type { AdminPrincipal } from '../auth/principal.js';
import { html, type SafeHtml } from './html.js';

export interface PageContext {
  /** The relative way back to the mount point (`./`, `../`): every URL starts with it. */
  readonly base: string;
  readonly title: string;
  readonly principal: AdminPrincipal | null;
  readonly canWrite: boolean;
  /** A one-time token for this page's forms (their `Idempotency-Key`). */
  readonly nonce: string;
  /** Shown at the top (after an action). */
  readonly flash?: { kind: 'ok' | 'error'; text: string } | undefined;
}

const NAV = [
  ['', 'Overview'],
  ['clients', 'Clients'],
  ['rotations', 'Rotations'],
  ['audit', 'Audit'],
] as const;

/** The page shell: no inline script or style (the CSP forbids both), assets from the mount point. */
export function layout(ctx: PageContext, heading: string, current: string, body: SafeHtml): string {
  const nav = NAV.map(
    ([path, label]) =>
      html`<li><a href="${ctx.base}${path === '' ? '' : path}"${current === path ? html` aria-current="page"` : ''}>${label}</a></li>`,
  );
  const who = ctx.principal
    ? html`<p class="who">Signed in as <strong>${ctx.principal.actor}</strong>${ctx.canWrite ? '' : ' (read-only)'}</p>
      ${
        ctx.principal.actor === 'loopback'
          ? ''
          : html`<form method="post" action="${ctx.base}logout" class="inline"><button type="submit" class="link">Log out</button></form>`
      }`
    : '';
  const flash = ctx.flash
    ? html`<p class="flash ${ctx.flash.kind}" role="${ctx.flash.kind === 'error' ? 'alert' : 'status'}">${ctx.flash.text}</p>`
    : '';
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${heading} · ${ctx.title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ctx.base}assets/admin.css">
<script src="${ctx.base}assets/admin.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<p class="brand">${ctx.title} <span>operator console</span></p>
<nav aria-label="Main"><ul>${nav}</ul></nav>
<div class="session">${who}</div>
</header>
<main id="main">
<h1>${heading}</h1>
${flash}
${body}
</main>
</body>
</html>`}`;
}
