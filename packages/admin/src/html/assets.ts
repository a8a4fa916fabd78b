/**
 * The console's only static files, shipped inside the package (no CDN, nothing fetched
 * at run time). Served from `<mount>/assets/`, so the CSP's `'self'` covers them.
 */
export const ADMIN_CSS = `
:root { --fg: #1b1f24; --muted: #4b5563; --bg: #ffffff; --line: #d0d7de; --accent: #0b5cad; --ok: #116329; --bad: #a40e26; --old: #9a6700; --new: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 16px; padding: 8px 24px; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; margin: 0; }
.brand span { font-weight: 400; color: var(--muted); }
nav ul { display: flex; gap: 16px; list-style: none; margin: 0; padding: 0; }
nav a[aria-current="page"] { font-weight: 700; color: var(--fg); }
.session { margin-left: auto; display: flex; gap: 8px; align-items: center; }
.session p { margin: 0; }
main { padding: 8px 24px 48px; max-width: 1200px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
caption { text-align: left; color: var(--muted); padding: 4px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
code { font-family: ui-monospace, monospace; }
form.filters, form.action, form.login { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0; }
form.inline { display: inline; }
input, select, button { font: inherit; padding: 4px 8px; border: 1px solid var(--muted); border-radius: 4px; background: var(--bg); color: var(--fg); }
button { background: var(--accent); color: #ffffff; border-color: var(--accent); cursor: pointer; }
button.danger { background: var(--bad); border-color: var(--bad); }
button.link { background: none; border: none; color: var(--accent); text-decoration: underline; padding: 0; }
:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
.flash { padding: 8px 12px; border-radius: 4px; border: 1px solid var(--line); }
.flash.ok { border-color: var(--ok); color: var(--ok); }
.flash.error { border-color: var(--bad); color: var(--bad); }
.state.ok { color: var(--ok); font-weight: 700; }
.state.failing { color: var(--bad); font-weight: 700; }
.state.off { color: var(--muted); }
.verdict.switched { color: var(--ok); }
.verdict.both { color: var(--old); }
.verdict.not-switched { color: var(--bad); }
dl.counts, dl.facts { display: flex; flex-wrap: wrap; gap: 16px; }
dl.facts { flex-direction: column; gap: 2px; }
dl div { display: flex; gap: 8px; }
dt { font-weight: 600; }
dd { margin: 0; }
article.rotation { border-top: 1px solid var(--line); padding-top: 8px; }
article.rotation h2 { font-size: 1.1em; }
.actions { display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart rect.old, .legend.old::before { fill: var(--old); background: var(--old); }
svg.chart rect.new, .legend.new::before { fill: var(--new); background: var(--new); }
svg.chart line.axis { stroke: var(--muted); stroke-width: 1; }
svg.chart rect.s-active { fill: var(--ok); }
svg.chart rect.s-pending { fill: var(--new); }
svg.chart rect.s-inactive { fill: var(--muted); }
svg.chart rect.s-revoked { fill: var(--bad); }
.legend::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.secret { display: flex; gap: 8px; align-items: center; }
input.key { width: 100%; max-width: 640px; font-family: ui-monospace, monospace; }
`;

/** Progressive enhancement only: every page works with JavaScript off. */
export const ADMIN_JS = `'use strict';
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('button.copy[data-copy]').forEach(function (button) {
    var input = document.getElementById(button.getAttribute('data-copy'));
    if (!input || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(input.value).then(function () { button.textContent = 'Copied'; }, function () { input.select(); });
    });
  });
});
`;
