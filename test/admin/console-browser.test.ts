// An operator's session in a real browser (Debian's chromium, driven by playwright-core)
// against the Express example, with real traffic at its API: log in with an admin key,
// issue a key (shown once), rotate it, watch the rotation switch as the client moves to
// the new key, revoke, and find every step in the audit view with the chain verified.
// Run twice: JavaScript on at /keyward, and JavaScript off at /ops/keyward behind a
// path-rewriting proxy. Any CSP violation, request to another origin or console error
// fails the run; axe-core finds no serious or critical violation on any view.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, root, startExpressExample, startPrefixProxy, traffic } from './support.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const ARTIFACTS = join(root, 'test-artifacts', 'admin');

interface Watch {
  readonly problems: string[];
}

/** Fails the session on a console error, a page error or a request to another origin. */
function watch(page: Page, origin: string): Watch {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) problems.push(`request to another origin: ${url}`);
  });
  return { problems };
}

async function axeCheck(page: Page, view: string): Promise<void> {
  const result = (await page.evaluate(`${AXE}
;axe.run(document).then((r) => ({ passes: r.passes.length, violations: r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')) }))`)) as {
    passes: number;
    violations: string[];
  };
  expect(result.passes, `axe ran on ${view}`).toBeGreaterThan(10);
  expect(result.violations, `axe on ${view}`).toEqual([]);
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('the operator console in a real browser', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
    dir = mkdtempSync(join(tmpdir(), 'keyward-console-'));
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sessions = [
    { name: 'js', javaScript: true, mount: '/keyward', prefix: '' },
    { name: 'nojs-prefix', javaScript: false, mount: '/ops/keyward', prefix: '/edge' },
  ] as const;

  for (const session of sessions) {
    it(`runs an operator's session (JavaScript ${session.javaScript ? 'on' : 'off'}, console at ${session.prefix}${session.mount})`, async () => {
      const example = await startExpressExample(join(dir, `${session.name}.db`), session.mount);
      const proxy = session.prefix ? await startPrefixProxy(session.prefix, example.port) : undefined;
      const origin = `http://127.0.0.1:${proxy?.port ?? example.port}`;
      const consoleUrl = `${origin}${session.prefix}${session.mount}/`;
      let context: BrowserContext | undefined;
      try {
        context = await browser.newContext({ javaScriptEnabled: session.javaScript });
        const page = await context.newPage();
        const watched = watch(page, origin);
        if (session.javaScript) {
          await page.addInitScript(() => {
            (window as unknown as { cspViolations: string[] }).cspViolations = [];
            document.addEventListener('securitypolicyviolation', (e) => {
              (window as unknown as { cspViolations: string[] }).cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
            });
          });
        }
        const shot = async (view: string) => {
          await page.screenshot({ path: join(ARTIFACTS, `${session.name}-${view}.png`), fullPage: true });
          if (session.javaScript) {
            await axeCheck(page, view);
            expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
          }
        };

        // Log in.
        await page.goto(consoleUrl);
        expect(page.url()).toBe(`${consoleUrl}login`);
        await shot('login');
        await page.fill('#admin-key', example.adminKey);
        await page.click('form.login button[type=submit]');
        await page.waitForURL(consoleUrl);
        expect(await page.textContent('.who')).toContain('admin:demo');
        await shot('overview');

        // Issue a key: shown once, gone after a reload and after going back.
        await page.click('nav >> text=Clients');
        await page.fill('#issue-client', 'browser-client');
        await page.fill('#issue-scopes', 'orders:read orders:write');
        await page.click('#issue-form button[type=submit]');
        const key = await page.inputValue('#new-key');
        expect(key).toMatch(/^sk_live_\w{49}$/);
        if (session.javaScript) expect(await page.isVisible('button.copy')).toBe(true);
        await shot('issued-key');
        await page.reload();
        expect(await page.content()).not.toContain(key);
        await page.goto(`${consoleUrl}clients`);
        // Back to the POST's page: it was no-store, so the browser has nothing to show
        // from its cache and asks to resubmit instead (an error page, not the key).
        await page.goBack({ waitUntil: 'load' }).catch(() => undefined);
        await page.waitForLoadState('load');
        await page.waitForTimeout(200);
        expect(await page.content()).not.toContain(key);

        // Real traffic with the key, then rotate it with a 1 h grace.
        await traffic(example.port, key, 5);
        await page.goto(`${consoleUrl}client?id=browser-client`);
        await shot('client');
        await page.selectOption('#grace', '1h');
        await page.click('#rotate-form button[type=submit]');
        const newKey = await page.inputValue('#new-key');
        expect(newKey).toMatch(/^sk_live_\w{49}$/);
        expect(newKey).not.toBe(key);
        await shot('rotated-key');

        // The old key only: not switched yet, with counts from real requests.
        await traffic(example.port, key, 3);
        await page.goto(`${consoleUrl}rotations`);
        await until('the old key counted', async () => {
          await page.reload();
          const text = (await page.textContent('article.rotation')) ?? '';
          const count = /Old key[^:]*: (\d+) requests/.exec(text.replace(/\s+/g, ' '))?.[1];
          return count !== undefined && count !== '0' ? text : undefined;
        });
        expect(await page.textContent('article.rotation .verdict')).toBe('not switched yet');
        await shot('rotation-not-switched');

        // The client moves to the new key: switched.
        await traffic(example.port, newKey, 4);
        await until('the verdict switched, with the new key counted', async () => {
          await page.reload();
          const article = ((await page.textContent('article.rotation')) ?? '').replace(/\s+/g, ' ');
          const switched = (await page.textContent('article.rotation .verdict')) === 'switched';
          return switched && /New key\s*[0-9a-f]{8}: [1-9]\d* requests, first used/.test(article) ? true : undefined;
        });
        await shot('rotation-switched');

        // Revoke the old key (it completes the rotation early), with a reason.
        await page.goto(`${consoleUrl}client?id=browser-client`);
        const oldFingerprint = (await page.textContent('tbody tr:has-text("active") code')) ?? '';
        const revokeRow = page.locator('tbody tr').filter({ hasText: 'Revoke' }).first();
        await revokeRow.locator('input[name=reason]').fill('leaked in a screenshot');
        await revokeRow.locator('button[type=submit]').click();
        await page.waitForURL(/client\?id=browser-client/);
        expect(await page.textContent('table')).toContain('revoked');
        expect(oldFingerprint).toMatch(/^[0-9a-f]{8}$/);
        const refused = await fetch(`http://127.0.0.1:${example.port}/orders`, { headers: { authorization: `Bearer ${key}` } });
        expect(refused.status).toBe(401);

        // Every step in the audit view, by this operator, and the chain verified.
        await page.goto(`${consoleUrl}audit?actor=admin%3Ademo&client=browser-client`);
        const audit = (await page.textContent('table.audit')) ?? '';
        for (const type of ['key.issued', 'key.rotated', 'key.revoked']) expect(audit).toContain(type);
        await shot('audit');
        await page.click('text=Verify the whole chain');
        expect(await page.textContent('#verify-result')).toMatch(/audit chain intact: \d+ rows verified/);
        await shot('audit-verified');
        await page.goto(consoleUrl);
        await shot('overview-after');

        // No page ever showed either plaintext again.
        for (const path of ['', 'clients', 'client?id=browser-client', 'rotations', 'audit']) {
          await page.goto(`${consoleUrl}${path}`);
          const html = await page.content();
          expect(html).not.toContain(key);
          expect(html).not.toContain(newKey);
        }
        expect(example.out()).not.toContain(key);
        expect(watched.problems).toEqual([]);
      } finally {
        await context?.close();
        await proxy?.close();
        await example.stop();
      }
    }, 180_000);
  }

  it('answers a real cross-site form post with 403', async () => {
    const example = await startExpressExample(join(dir, 'csrf.db'), '/keyward');
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // The attacker's page: another site (127.0.0.2 is another host, so another site).
      const attacker = `<form method="post" action="http://127.0.0.1:${example.port}/keyward/actions/issue"><input name="clientId" value="evil"><button>go</button></form>`;
      await page.route('http://127.0.0.2:9/attack', (route) => route.fulfill({ contentType: 'text/html', body: attacker }));
      await page.goto('http://127.0.0.2:9/attack');
      const [response] = await Promise.all([page.waitForResponse(/actions\/issue/), page.click('button')]);
      expect(response.status()).toBe(403);
      // Refused by the Sec-Fetch-Site check (the browser sent no cookie either: SameSite=Strict).
      expect(await response.text()).toContain('cross_site_request');
      const clients = await fetch(`http://127.0.0.1:${example.port}/keyward/api/v1/clients`, {
        headers: { authorization: `Bearer ${example.adminKey}` },
      });
      expect(JSON.stringify(await clients.json())).not.toContain('evil');
    } finally {
      await context.close();
      await example.stop();
    }
  }, 60_000);
});
