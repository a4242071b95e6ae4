// What a consumer does with the installed packages, run once from esm.mjs (everything loaded with
// `import`) and once from cjs.cjs (with `require`): the entry hands over the modules it loaded, so
// each format's build does the work. Prints one ✓/✗ line per check; never calls process.exit(),
// so a handle that outlives close() shows as a process that does not end.

const assert = require('node:assert/strict');
const { request: httpRequest } = require('node:http');
const { mkdtemp, writeFile } = require('node:fs/promises');
const { join } = require('node:path');
const entries = require('./exports.cjs');

const FLOW_TIMEOUT_MS = 20_000;

/**
 * @param {object} use
 * @param {'esm' | 'cjs'} use.format
 * @param {(specifier: string) => Promise<Record<string, unknown>>} use.load how this format loads a module
 * @param {() => Promise<any>} use.loadOther the umbrella through the other format, for the cross-copy check
 * @param {any} use.picket
 * @param {any} use.axiosAdapter
 * @param {any} use.axios
 * @param {any} use.dashboard picket/dashboard's `dashboard`
 */
async function run({ format, load, loadOther, picket, axiosAdapter, axios, dashboard }) {
  const servers = JSON.parse(process.env.PICKET_CONSUMER_SERVERS ?? '{}');
  const how = format === 'esm' ? 'import' : 'require';
  let failures = 0;
  const pass = (label) => console.log(`✓ ${format}: ${label}`);
  const fail = (label, error) => {
    failures++;
    console.log(`✗ ${format}: ${label}: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  };

  /** Runs one flow under a deadline: a hang is a failure, not a stuck CI job. */
  async function check(label, flow) {
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result after ${FLOW_TIMEOUT_MS} ms`)), FLOW_TIMEOUT_MS);
    });
    try {
      const note = await Promise.race([flow(), deadline]);
      pass(note === undefined ? label : `${label} (${note})`);
    } catch (error) {
      fail(label, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A client used by one flow and closed after it, whatever happened. */
  async function withClient(options, flow) {
    const client = picket.createClient(options);
    try {
      return await flow(client);
    } finally {
      await client.close();
    }
  }

  const { absent, ...required } = entries;
  for (const [specifier, names] of Object.entries(required)) {
    try {
      const mod = await load(specifier);
      const keys = Object.keys(mod).filter((k) => k !== 'default' && k !== 'module.exports');
      const missing = names.filter((n) => !(n in mod));
      if (missing.length > 0) throw new Error(`missing ${missing.join(', ')} (has ${keys.join(', ')})`);
      const leaked = (absent[specifier] ?? []).filter((n) => n in mod);
      if (leaked.length > 0) throw new Error(`exports internals ${leaked.join(', ')}`);
      pass(`${how} ${specifier} (${keys.length} exports)`);
    } catch (error) {
      fail(`${how} ${specifier}`, error);
    }
  }

  await check('retries across refused instances: 6 sequential GETs over :1, :2 and a live one', () =>
    withClient(
      {
        service: 'retrying',
        strategy: 'round-robin',
        discovery: ['http://127.0.0.1:1', 'http://127.0.0.1:2', servers.live],
      },
      async (client) => {
        for (let i = 0; i < 6; i++) {
          const { statusCode, body } = await client.request(`/items/${i}`);
          assert.equal(statusCode, 200);
          assert.deepEqual(await body.json(), { server: 'live', method: 'GET', path: `/items/${i}` });
        }
      },
    ),
  );

  await check('a health-checked client stops sending to the instance whose /health fails', () =>
    withClient(
      {
        service: 'checked',
        strategy: 'round-robin',
        discovery: [servers.a, servers.b],
        health: {
          check: picket.httpCheck({ path: '/health' }),
          interval: 50,
          healthyThreshold: 1,
          unhealthyThreshold: 2,
          jitter: 0,
        },
      },
      async (client) => {
        const stateOf = (url) =>
          client.snapshot().instances.find((i) => new URL(i.url).port === new URL(url).port)?.state;
        const servedBy = async (n) => {
          const names = [];
          for (let i = 0; i < n; i++) {
            const res = await client.fetch('/who');
            assert.equal(res.status, 200);
            names.push((await res.json()).server);
          }
          return names;
        };
        await client.ready();
        await until(
          () => stateOf(servers.a) === 'healthy' && stateOf(servers.b) === 'healthy',
          'both healthy',
        );
        assert.deepEqual(new Set(await servedBy(4)), new Set(['a', 'b']));
        await post(`${servers.b}/control/fail-health`);
        await until(() => stateOf(servers.b) === 'unhealthy', 'b unhealthy after its /health fails');
        assert.deepEqual(await servedBy(6), ['a', 'a', 'a', 'a', 'a', 'a']);
      },
    ),
  );

  const dir = await mkdtemp(join(process.cwd(), `files-${format}-`));
  for (const [name, text, weight] of [
    ['instances.json', JSON.stringify([servers.live]), 1],
    // YAML goes through the optional peer `yaml`, loaded by a dynamic import inside the build.
    ['instances.yaml', `instances:\n  - url: ${servers.live}\n    weight: 3\n`, 3],
  ]) {
    await check(`fileList reads ${name}`, async () => {
      const path = join(dir, name);
      await writeFile(path, text);
      await withClient({ service: 'filed', discovery: picket.fileList(path) }, async (client) => {
        await client.ready();
        assert.deepEqual(
          client.snapshot().instances.map((i) => i.weight),
          [weight],
        );
        const res = await client.fetch('/from-file');
        assert.deepEqual(await res.json(), { server: 'live', method: 'GET', path: '/from-file' });
      });
    });
  }

  await check('axios with axiosAdapter(client) from picket/axios', () =>
    withClient({ service: 'axiosed', discovery: [servers.live] }, async (client) => {
      const api = axios.create({ adapter: axiosAdapter(client) });
      const res = await api.get('/items/42', { params: { q: 'x' } });
      assert.equal(res.status, 200);
      assert.deepEqual(res.data, { server: 'live', method: 'GET', path: '/items/42?q=x' });
      await assert.rejects(api.get('/missing'), (error) => {
        assert.ok(axios.isAxiosError(error), `expected an AxiosError, got ${error}`);
        assert.equal(error.response?.status, 404);
        return true;
      });
    }),
  );

  await check('picket/dashboard serves its page and an SSE snapshot from the installed package', () =>
    withClient({ service: 'watched', discovery: [servers.live] }, async (client) => {
      const board = await dashboard({ clients: [client], token: 't0ken', intervalMs: 200 });
      try {
        assert.match(board.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=t0ken$/);
        const page = await get(board.url);
        assert.equal(page.status, 200);
        assert.match(page.body, /<title>Picket dashboard<\/title>/);
        for (const file of ['dashboard.css', 'dashboard.js']) {
          assert.equal((await get(new URL(file, board.url).href)).status, 200, file);
        }
        const message = await firstSnapshot(new URL('events?token=t0ken', board.url).href);
        assert.deepEqual(
          message.services.map((s) => [s.service, s.instances.map((i) => i.url)]),
          [['watched', [servers.live]]],
        );
        assert.equal((await get(new URL('events', board.url).href)).status, 401);
        return `${page.body.length} bytes of page`;
      } finally {
        await board.close();
      }
    }),
  );

  await check('a typed error when every instance refuses', () =>
    withClient(
      {
        service: 'down',
        discovery: ['http://127.0.0.1:1', 'http://127.0.0.1:2'],
        retry: { backoff: { baseMs: 1, maxMs: 5 } },
      },
      async (client) => {
        const error = await client.request('/').then(
          () => assert.fail('a request to refused instances succeeded'),
          (e) => e,
        );
        assert.ok(picket.isPicketError(error), `expected a PicketError, got ${error}`);
        assert.ok(error instanceof picket.PicketError);
        assert.match(error.code, /^PICKET_[A-Z_]+$/);
        assert.ok(Object.values(picket.ErrorCode).includes(error.code), `${error.code} is not in ErrorCode`);
        // The marker is a global symbol: the other format's copy recognises this error too.
        const other = await loadOther();
        assert.ok(other.isPicketError(error, error.code), `the ${format === 'esm' ? 'cjs' : 'esm'} copy`);
        assert.throws(
          () => picket.createClient({ service: 'x', discovery: [], strategy: 'no-such-strategy' }),
          (e) => picket.isPicketError(e, 'PICKET_INVALID_OPTIONS') && /strategy/.test(e.message),
        );
        return error.code;
      },
    ),
  );

  console.log(
    failures === 0
      ? `✓ ${format}: every check passed, every client closed`
      : `✗ ${format}: ${failures} checks failed`,
  );
  if (failures > 0) process.exitCode = 1;
  // Nothing of ours may keep the process alive now; this timer does not either (unref), it only
  // names what does when something is left.
  setTimeout(() => {
    console.log(
      `✗ ${format}: the process is still running 5 s after every client closed; active: ${process.getActiveResourcesInfo().join(', ')}`,
    );
    process.exit(1);
  }, 5_000).unref();
}

/** Polls `condition` until it holds, or throws after `ms`. */
async function until(condition, what, ms = 5_000) {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`waited ${ms} ms for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** GET on a connection of its own: status and body. */
function get(url) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The first `snapshot` message of a dashboard's SSE stream, parsed; the stream is then dropped. */
function firstSnapshot(url) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`${url}: ${res.statusCode}`));
        res.resume();
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        const match = /event: snapshot\ndata: (.*)\n\n/.exec(buffer);
        if (match === null) return;
        req.destroy();
        resolve(JSON.parse(match[1]));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A control request to one of the test servers, on a connection of its own that closes after. */
function post(url) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 204 ? resolve() : reject(new Error(`${url}: ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

module.exports = { run };
