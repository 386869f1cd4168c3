// The console's browser test: the study notes' console steps end to end in
// Debian's Chromium against a real daemon (started by
// cmd/madang/console_e2e_test.go, which passes CONSOLE_LINK, MADANG_BIN,
// MADANG_HOME, LB_PORT, SCREENSHOT_DIR and CHROMIUM).
import { env, launch, errorsOf, step, shot, madang, signInLink, totp, stepNow, layoutProblems } from './lib.mjs';

const base = new URL(env.CONSOLE_LINK).origin;
const lbPort = env.LB_PORT;
const browser = await launch();
const problems = [];
let exitCode = 0;

/** look takes a screenshot of the page as it is and checks its layout. */
async function look(page, name) {
  await page.waitForLoadState('networkidle').catch(() => {});
  await shot(page, name);
  for (const p of await layoutProblems(page)) problems.push(`${name}: ${p}`);
}

/** text waits until the element's text matches re (live updates: no reload). */
async function text(page, selector, re, timeout = 60000) {
  await page.waitForFunction(([s, src]) => {
    const el = document.querySelector(s);
    return el && new RegExp(src).test(el.textContent);
  }, [selector, re.source], { timeout, polling: 200 });
}

/** targetRow waits until the target's row in the targets table matches re. */
async function targetRow(page, id, re, timeout = 60000) {
  await page.waitForFunction(([id, src]) => {
    for (const tr of document.querySelectorAll('#targets-table tbody tr')) {
      if (tr.textContent.includes(id) && new RegExp(src).test(tr.textContent)) return true;
    }
    return false;
  }, [id, re.source], { timeout, polling: 200 });
}

const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
const page = await ctx.newPage();
const errors = errorsOf(page);
let ids = [];
let secret = '';
let mfaStep = 0;

try {
  await step(page, 'sign in with the one-time link from madang console', async () => {
    await page.goto(env.CONSOLE_LINK);
    await page.waitForURL(`${base}/`);
    await text(page, 'h1', /Architecture/);
    await page.waitForSelector('#live[data-state=live]', { timeout: 10000 });
    const load = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource');
      const bytes = [nav, ...res].reduce((n, e) => n + (e.transferSize || 0), 0);
      return { dcl: Math.round(nav.domContentLoadedEventEnd), load: Math.round(nav.loadEventEnd), bytes };
    });
    console.log(`  first load on loopback: DOMContentLoaded ${load.dcl} ms, load ${load.load} ms, ${(load.bytes / 1024).toFixed(1)} KiB transferred`);
  });

  await step(page, 'launch two instances with the launch wizard', async () => {
    await page.goto(`${base}/ec2/launch`);
    await page.fill('#launch-name', 'web');
    await page.check('input[name=source][value=image]');
    await page.selectOption('#launch-image', 'hello');
    await page.fill('#launch-count', '2');
    await look(page, 'ec2-launch');
    await page.click('#step-summary ~ .form-actions button.primary, form[action="/ec2/launch"] button.primary');
    await page.waitForURL(`${base}/ec2/instances`);
    const flash = await page.textContent('.flash');
    ids = [...new Set(flash.match(/i-[0-9a-f]+/g) || [])];
    if (ids.length !== 2) throw new Error(`the flash names ${ids.length} instances: ${flash}`);
    // The table turns both running by itself (events over SSE).
    await page.waitForFunction((ids) => ids.every((id) => [...document.querySelectorAll('#frag-instances tr, table tr')]
      .some((tr) => tr.textContent.includes(id) && /running/.test(tr.textContent))), ids, { timeout: 60000, polling: 200 });
    await look(page, 'ec2-instances');
  });

  await step(page, 'create a target group and register both instances (include as pending)', async () => {
    await page.goto(`${base}/elb/target-groups/new`);
    await page.fill('#tg-name', 'web');
    await page.fill('#tg-port', '3000');
    await page.fill('#hc-path', '/health');
    await page.fill('#hc-interval', '5');
    await page.fill('#hc-timeout', '2');
    await page.fill('#hc-healthy', '2');
    await page.fill('#hc-unhealthy', '2');
    await look(page, 'elb-create-target-group');
    await page.click('button[name=op][value=next]');
    for (const id of ids) await page.check(`input[name=pick][value="${id}"]`);
    await page.click('button[name=op][value=pending]');
    await page.waitForSelector(`input[name=pending][value^="${ids[1]}"]`, { state: "attached" });
    await look(page, 'elb-register-targets');
    await page.click('button[name=op][value=create]');
    await page.waitForURL(/\/elb\/target-groups\/web/);
  });

  await step(page, 'create a load balancer forwarding to the target group', async () => {
    await page.goto(`${base}/elb/load-balancers/new`);
    await page.fill('#lb-name', 'web');
    await page.fill('#lis-port-0', lbPort);
    await page.selectOption('#lis-tg-0', 'web');
    await look(page, 'elb-create-load-balancer');
    await page.click('button[name=op][value=create]');
    await page.waitForURL(/\/elb\/load-balancers/);
  });

  await step(page, 'watch both targets turn healthy', async () => {
    await page.goto(`${base}/elb/target-groups/web`);
    for (const id of ids) await targetRow(page, id, /healthy/);
    await page.waitForFunction(() => document.querySelectorAll('#targets-table .badge.state-healthy').length === 2, null, { timeout: 60000 });
    await look(page, 'elb-target-group-healthy');
  });

  await step(page, 'a hung app turns its target unhealthy with the reason, live', async () => {
    const ps = JSON.parse(madang('ps', '-o', 'json'));
    const pid = ps.find((i) => i.id === ids[0]).pid;
    // A box ticked before the live refresh stays ticked after it. (A click
    // that lands on the table as a refresh replaces it ticks the old copy,
    // which is gone: tick again once no refresh is under way.)
    const box = `#targets-table input[name=id][value="${ids[1]}"]`;
    await page.check(box);
    await page.waitForFunction(() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping'));
    if (!await page.isChecked(box)) await page.check(box);
    process.kill(pid, 'SIGSTOP');
    console.log(`  stopped (SIGSTOP) the app of ${ids[0]}, pid ${pid}`);
    try {
      try {
        await targetRow(page, ids[0], /unhealthy[\s\S]*Target\.(Timeout|FailedHealthChecks)/);
      } catch (e) {
        console.log(madang('tg', 'health', 'web'));

        throw e;
      }
      if (!await page.isChecked(`#targets-table input[name=id][value="${ids[1]}"]`)) {
        throw new Error('the live refresh unticked the target picked to deregister');
      }
      await page.uncheck(`#targets-table input[name=id][value="${ids[1]}"]`);
      await look(page, 'elb-target-unhealthy');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });

  await step(page, 'the traffic check answers from the healthy instance', async () => {
    await page.goto(`${base}/elb/load-balancers/web`);
    await page.click(`form[action$="check?port=${lbPort}"] button`);
    await text(page, `#check-${lbPort}`, /200/, 10000);
    await look(page, 'elb-load-balancer');
  });

  await step(page, 'stop an instance in the console: its target is unused (Target.InvalidState)', async () => {
    await page.goto(`${base}/ec2/instances/${ids[0]}`);
    page.once('dialog', (d) => d.accept());
    await page.click(`form[action="/ec2/instances/${ids[0]}/stop"] button`);
    await text(page, '#frag-instance-state', /stopped/);
    await look(page, 'ec2-instance-stopped');
    await page.goto(`${base}/elb/target-groups/web`);
    await targetRow(page, ids[0], /Target\.InvalidState/);
    await look(page, 'elb-target-stopped');
    await page.goto(`${base}/elb/load-balancers/web`);
    await page.click(`form[action$="check?port=${lbPort}"] button`);
    await text(page, `#check-${lbPort}`, new RegExp(`200[\\s\\S]*${ids[1]}`), 10000);
  });

  await step(page, 'create an alarm and see it fire', async () => {
    await page.goto(`${base}/cloudwatch/alarms/new`);
    await page.fill('#a-ns', 'AWS/EC2');
    await page.fill('#a-metric', 'CPUUtilization');
    await page.fill('#a-dims', `InstanceId=${ids[1]}`);
    await page.selectOption('#a-stat', 'Average');
    await page.selectOption('#a-period', '10');
    await page.selectOption('#a-op', 'GreaterThanOrEqualToThreshold');
    await page.fill('#a-th', '0');
    await page.fill('#a-m', '1');
    await page.fill('#a-n', '1');
    await page.fill('#a-name', 'cpu-web');
    await look(page, 'cloudwatch-create-alarm');
    await page.click('form[action="/cloudwatch/alarms"] button.primary');
    await page.waitForURL(/\/cloudwatch\/alarms/);
    await page.goto(`${base}/cloudwatch/alarms/cpu-web`);
    await page.waitForFunction(() => document.querySelector('.badge.state-alarm'), null, { timeout: 90000, polling: 500 });
    await look(page, 'cloudwatch-alarm');
    await page.goto(`${base}/cloudwatch/alarms`);
    await look(page, 'cloudwatch-alarms');
  });

  await step(page, 'metrics, dashboards, logs and Auto Scaling pages render', async () => {
    await page.goto(`${base}/cloudwatch/metrics?namespace=AWS/EC2`);
    await look(page, 'cloudwatch-metrics');
    await page.goto(`${base}/cloudwatch/dashboards`);
    await page.fill('input[name=name]', 'web');
    await page.click('form[action="/cloudwatch/dashboards"] button');
    await page.waitForURL(/\/cloudwatch\/dashboards\/web/);
    await look(page, 'cloudwatch-dashboard');
    await page.goto(`${base}/cloudwatch/logs`);
    await look(page, 'cloudwatch-logs');
    await page.goto(`${base}/ec2/instances/${ids[1]}?tab=logs`);
    await page.waitForFunction(() => document.querySelector('pre.log')?.textContent.length > 0, null, { timeout: 15000 });
    await look(page, 'ec2-instance-logs');
    await page.goto(`${base}/autoscaling/groups`);
    await look(page, 'autoscaling-groups');
    await page.goto(`${base}/autoscaling/groups/workers?tab=activity`);
    await look(page, 'autoscaling-group-activity');
    await page.goto(`${base}/`);
    await look(page, 'home');
  });

  await step(page, 'assign MFA with two consecutive codes', async () => {
    await page.goto(`${base}/settings/security`);
    await page.click('form[action="/settings/security/mfa"] button');
    secret = (await page.textContent('#mfa-secret')).trim();
    await look(page, 'security-assign-mfa');
    mfaStep = stepNow();
    await page.fill('#code1', totp(secret, mfaStep - 1));
    await page.fill('#code2', totp(secret, mfaStep));
    await page.click('form[action="/settings/security/mfa/confirm"] button');
    await text(page, '.flash', /MFA device assigned/);
    await page.click('form[action="/sign-out"] button');
    await page.waitForURL(/\/sign-in/);
  });

  await step(page, 'sign in again: a wrong code is refused, the right one signs in', async () => {
    await page.goto(signInLink());
    await page.waitForSelector('#code');
    await page.fill('#code', totp(secret, mfaStep + 5));
    await page.click('form[action="/sign-in/mfa"] button');
    await text(page, '.flash.error', /code/i);
    await look(page, 'signin-mfa-wrong-code');
    await page.fill('#code', totp(secret, Math.max(mfaStep + 1, stepNow())));
    await page.click('form[action="/sign-in/mfa"] button');
    await page.waitForURL(`${base}/`);
  });

  await step(page, 'Korean, dark and phone layouts', async () => {
    await page.click('form[action="/lang"] button');
    await text(page, 'h1', /아키텍처/);
    await look(page, 'home-ko');
    await page.goto(`${base}/elb/target-groups/web`);
    await look(page, 'elb-target-group-ko');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${base}/ec2/instances`);
    await look(page, 'ec2-instances-ko-dark');
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [p, name] of [['/', 'home-phone'], ['/elb/target-groups/web', 'elb-target-group-phone'], ['/ec2/instances', 'ec2-instances-phone']]) {
      await page.goto(base + p);
      await look(page, name);
    }
    // On a phone the menu starts folded and opens from its button.
    if (await page.isVisible('nav.sidenav')) throw new Error('the menu is not folded on a phone');
    await page.click('details.navtoggle > summary');
    await page.waitForSelector('nav.sidenav', { state: 'visible' });
    await look(page, 'menu-phone');
  });

  const real = errors.filter((e) => !/status of 40[13]|status of 429/.test(e));
  if (real.length) throw new Error(`the pages logged errors: ${real.join(' | ')}`);
  if (problems.length) throw new Error(`layout problems:\n  ${problems.join('\n  ')}`);
} catch (e) {
  exitCode = 1;
  if (problems.length) console.log(`layout problems:\n  ${problems.join('\n  ')}`);
  console.log(e.stack);
} finally {
  await browser.close();
}
process.exit(exitCode);
