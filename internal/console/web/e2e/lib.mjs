// Helpers of the console's browser tests: Chromium from Debian driven by
// playwright-core, TOTP codes (RFC 6238) for the MFA steps, named steps
// that log their time, and screenshots.
import { chromium } from 'playwright-core';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const env = process.env;

/** launch starts Debian's Chromium headless, as this machine allows. */
export async function launch() {
  return chromium.launch({
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** errorsOf collects a page's console errors and uncaught exceptions. */
export function errorsOf(page) {
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

let failed = false;

/** step runs one named step, logs how long it took and, on failure, takes a screenshot. */
export async function step(page, name, fn) {
  const start = Date.now();
  try {
    await fn();
    console.log(`✓ ${name} (${Date.now() - start} ms)`);
  } catch (e) {
    failed = true;
    console.log(`✗ ${name} (${Date.now() - start} ms): ${e.message}`);
    try { await shot(page, `failure-${name.replace(/[^a-z0-9]+/gi, '-')}`); } catch { /* the page may be gone */ }
    throw e;
  }
}

/** shot saves a full-page screenshot under SCREENSHOT_DIR. */
export async function shot(page, name) {
  const dir = env.SCREENSHOT_DIR || 'screenshots';
  mkdirSync(dir, { recursive: true });
  // Sticky bars would be drawn where the page is scrolled to.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** madang runs the madang binary against the test's daemon and returns its output. */
export function madang(...args) {
  return execFileSync(env.MADANG_BIN, args, { env: { ...env }, encoding: 'utf8' });
}

/** signInLink asks the daemon for a one-time sign-in link. */
export function signInLink() {
  return JSON.parse(madang('console', '-o', 'json')).url;
}

/** base32Decode decodes an RFC 4648 base32 secret. */
function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`bad base32 character ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** totp is the 6-digit RFC 6238 code (SHA-1, 30 s) of secret for time step n. */
export function totp(secret, n) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(n));
  const h = createHmac('sha1', base32Decode(secret)).update(msg).digest();
  const o = h[h.length - 1] & 0xf;
  const code = ((h.readUInt32BE(o) & 0x7fffffff) % 1000000).toString();
  return code.padStart(6, '0');
}

/** stepNow is the current TOTP time step. */
export function stepNow() { return Math.floor(Date.now() / 1000 / 30); }

/** finish reports the result. */
export function finish() { return failed ? 1 : 0; }

/** overlaps lists elements of the page that are cut off or overflow the viewport horizontally. */
export async function layoutProblems(page) {
  return page.evaluate(() => {
    const out = [];
    const vw = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > vw + 1) {
      out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${vw}`);
    }
    for (const el of document.querySelectorAll('h1, .page-header .actions, nav.sidenav, .btn, .card')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || getComputedStyle(el).visibility === 'hidden') continue;
      if (el.closest('.table-wrap, details:not([open])')) continue;
      if (r.right > vw + 1) out.push(`${el.tagName.toLowerCase()}.${el.className} overflows to ${Math.round(r.right)} > ${vw}`);
    }
    return out;
  });
}
