// The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core. Three
// clients over five instance processes; killing one turns its row unhealthy on the page, a client
// with subsetting shows the instance it grows by, and the page never asks anything of another
// origin. PICKET_DASHBOARD_SCREENSHOT=path saves the page.

import { type Client, createClient, httpCheck, rendezvousOrder } from 'picket';
import { type Dashboard, dashboard } from 'picket/dashboard';
import { type Browser, chromium as playwright } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InstanceProcess, spawnInstance } from '../fixtures/instances.ts';
import { requireTool } from '../servers/require-tool.ts';

const chromium = requireTool('chromium', 'chromium');

type Five = [InstanceProcess, InstanceProcess, InstanceProcess, InstanceProcess, InstanceProcess];

/** A caller id whose rendezvous subset of two, among `ids`, holds `id`. */
function callerWith(id: string, ids: readonly string[]): string {
  for (let n = 0; ; n++) {
    if (rendezvousOrder(`dash-${n}`, ids).slice(0, 2).includes(id)) return `dash-${n}`;
  }
}

describe.skipIf(!chromium.available)('dashboard in a browser', () => {
  let browser: Browser;
  let instances: InstanceProcess[] = [];
  let clients: Client[] = [];
  let board: Dashboard;
  let traffic: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    instances = await Promise.all([
      spawnInstance({ id: 'inv-a' }),
      spawnInstance({ id: 'inv-b', delayMs: 8 }),
      spawnInstance({ id: 'pay-a', delayMs: 3 }),
      spawnInstance({ id: 'pay-b' }),
      spawnInstance({ id: 'inv-c', delayMs: 2 }),
    ]);
    const [a, b, c, d, e] = instances as Five;
    const health = {
      check: httpCheck({ path: '/health', timeout: 1000 }),
      interval: 250,
      healthyThreshold: 1,
      unhealthyThreshold: 2,
    };
    clients = [
      createClient({
        service: 'inventory',
        discovery: [
          { url: a.url, zone: 'eu-west-1a' },
          { url: b.url, zone: 'eu-west-1b' },
          { url: e.url, zone: 'eu-west-1c' },
        ],
        health,
      }),
      createClient({
        service: 'payments',
        discovery: [
          { url: c.url, zone: 'eu-west-1a' },
          { url: d.url, zone: 'eu-west-1b', priority: 1 },
        ],
        health,
      }),
      // Two of four instances, b among them: when b dies, one available member is below 60% of
      // two, so the subset grows by the next in its order.
      createClient({
        service: 'catalog',
        discovery: [a.url, b.url, e.url, d.url],
        subset: { size: 2, callerId: callerWith(b.url, [a.url, b.url, e.url, d.url]) },
        panicThreshold: 60,
        health,
      }),
    ];
    // Some traffic, so that rates, percentiles and sparklines have something to show.
    traffic = setInterval(() => {
      for (const client of clients) {
        client.request('/work').then(
          (res) => res.body.dump(),
          () => {},
        );
      }
    }, 20);
    board = await dashboard({ clients, intervalMs: 500 });
    browser = await playwright.launch({
      executablePath: chromium.path,
      headless: true,
      // The container runs as root, where Chromium's sandbox cannot start.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
  }, 90_000);

  afterAll(async () => {
    clearInterval(traffic);
    await browser?.close();
    await board?.close();
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(instances.map((i) => i.close()));
  });

  it('shows every instance of every client, a killed instance turning unhealthy within seconds and the subset that held it growing', async () => {
    const page = await browser.newPage({ viewport: { width: 1500, height: 760 } });
    const requested: string[] = [];
    page.on('request', (request) => {
      requested.push(request.url());
    });
    const origin = new URL(board.url).origin;
    await page.goto(board.url);
    const [a, b, c, d, e] = instances as Five;
    const row = (service: string, instance: InstanceProcess, state = 'healthy') =>
      `section[data-service="${service}"] tr.instance[data-url="${instance.url}"][data-state="${state}"]`;
    // Health checks run every 250 ms; a loaded 2-core machine gets generous deadlines.
    for (const [service, instance] of [
      ['inventory', a],
      ['inventory', b],
      ['inventory', e],
      ['payments', c],
      ['payments', d],
    ] as const) {
      await page.waitForSelector(row(service, instance), { timeout: 30_000 });
    }
    expect(await page.locator('section[data-service="inventory"] tr.instance').count()).toBe(3);
    expect(await page.locator('section[data-service="payments"] tr.instance').count()).toBe(2);
    // With subsetting: only the two members are listed (marked so), the other two counted outside.
    const catalog = 'section[data-service="catalog"]';
    await page.waitForSelector(`${catalog} .badge.subset[data-standby="2"]`, { timeout: 30_000 });
    expect(await page.locator(`${catalog} tr.instance[data-subset="member"]`).count()).toBe(2);
    expect(await page.locator(`${catalog} tr.instance`).count()).toBe(2);
    expect(await page.locator(`${catalog} tr.instance[data-url="${b.url}"] .role`).textContent()).toBe(
      'member',
    );
    expect(await page.locator(`${catalog} .badge.subset`).textContent()).toBe(
      'subset 2 of 4 (random) · 2 outside',
    );
    await expect.poll(() => page.locator('#connection').getAttribute('data-status')).toBe('live');

    b.signal('SIGKILL');
    const killedAt = performance.now();
    await page.waitForSelector(row('inventory', b, 'unhealthy'), { timeout: 30_000 });
    const seconds = (performance.now() - killedAt) / 1000;
    expect(seconds).toBeLessThan(30);
    // The event list says so too, and the other rows stay healthy.
    await page.waitForSelector('section[data-service="inventory"] .events li[data-kind="instance-state"]');
    expect(await page.locator(row('inventory', a)).count()).toBe(1);
    expect(await page.locator(row('payments', c)).count()).toBe(1);
    // The subset that held b grows by one: a third row, marked grown, and one instance left outside.
    await page.waitForSelector(`${catalog} tr.instance[data-subset="grown"]`, { timeout: 30_000 });
    await page.waitForSelector(`${catalog} .badge.subset.grown[data-grown="1"][data-standby="1"]`);
    expect(await page.locator(`${catalog} .badge.subset`).textContent()).toBe(
      'subset 3 of 4 (random) · 1 grown · 1 outside',
    );
    await page.waitForSelector(`${catalog} .events li[data-kind="subset"]`);

    const screenshot = process.env.PICKET_DASHBOARD_SCREENSHOT;
    if (screenshot !== undefined) {
      // For the picture: payments' first instance answers 500 for a while (its breaker opens and
      // outlier detection ejects it), and the sparklines get some history.
      await c.set({ status: 500 });
      await page.waitForSelector(row('payments', c, 'ejected'), { timeout: 30_000 });
      await page.waitForTimeout(2000);
      await c.set({ status: 200 });
      await page.waitForTimeout(14_000);
      await page.screenshot({ path: screenshot, fullPage: true });
    }
    const elsewhere = requested.filter((url) => new URL(url).origin !== origin);
    expect(elsewhere).toEqual([]);
    expect(requested.some((url) => url.startsWith(`${origin}/events`))).toBe(true);
    await page.close();
  });
});
