// Picket dashboard page: reads the Server-Sent Events stream at /events (same origin, nothing
// else) and draws one section per client. Every text from the server goes in through textContent.

const SEVERITY = { unhealthy: 0, ejected: 1, draining: 2, unknown: 3, warming: 4, healthy: 5, closed: 6 };
const BAD = new Set(['unhealthy', 'ejected']);
const EVENTS_SHOWN = 40;
const SVG = 'http://www.w3.org/2000/svg';

const servicesEl = document.getElementById('services');
const connectionEl = document.getElementById('connection');
const updatedEl = document.getElementById('updated');
/** index → { section, tbody, events, header } */
const sections = new Map();
let lastAt = 0;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') el.className = value;
    else el.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function ms(value) {
  if (value === null || value === undefined) return '–';
  return value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
}

function clock(at) {
  return new Date(at).toTimeString().slice(0, 8);
}

function sparkline(spark) {
  const width = 120;
  const height = 28;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const n = spark.rps.length;
  if (n < 2) return svg;
  const x = (i) => ((i / (n - 1)) * (width - 2) + 1).toFixed(1);
  const maxRps = Math.max(1, ...spark.rps);
  const area = document.createElementNS(SVG, 'path');
  let d = `M${x(0)},${height - 1}`;
  spark.rps.forEach((v, i) => {
    d += ` L${x(i)},${(height - 1 - (v / maxRps) * (height - 4)).toFixed(1)}`;
  });
  d += ` L${x(n - 1)},${height - 1} Z`;
  area.setAttribute('d', d);
  area.setAttribute('class', 'rps');
  svg.append(area);
  const known = spark.latencyMs.filter((v) => v !== null);
  if (known.length > 0) {
    const maxLatency = Math.max(0.001, ...known);
    const line = document.createElementNS(SVG, 'path');
    let p = '';
    let pen = 'M';
    spark.latencyMs.forEach((v, i) => {
      if (v === null) {
        pen = 'M';
        return;
      }
      p += `${pen}${x(i)},${(height - 2 - (v / maxLatency) * (height - 5)).toFixed(1)} `;
      pen = 'L';
    });
    line.setAttribute('d', p.trim());
    line.setAttribute('class', 'latency');
    svg.append(line);
  }
  const title = document.createElementNS(SVG, 'title');
  const lastLatency = known.length > 0 ? known[known.length - 1] : null;
  title.textContent = `last ${n} ticks — requests/s now ${spark.rps[n - 1]}, peak ${maxRps}; mean latency now ${ms(lastLatency)}`;
  svg.append(title);
  return svg;
}

function healthCell(health) {
  if (health.length === 0) return h('span', { class: 'dim' }, '–');
  const box = h('span', { class: 'layers' });
  for (const layer of health) {
    const mark = layer.state === 'healthy' ? '✓' : layer.state === 'unhealthy' ? '✗' : '?';
    const latency = layer.latencyMs === null ? '' : ` in ${ms(layer.latencyMs)}`;
    box.append(
      h(
        'span',
        { class: 'layer', 'data-state': layer.state, title: `${layer.layer}: ${layer.reason}${latency}` },
        `${layer.layer} ${mark}`,
      ),
    );
  }
  return box;
}

function ejectionCell(instance) {
  if (instance.ejectedUntil !== null) {
    const left = Math.max(0, Math.ceil((instance.ejectedUntil - Date.now()) / 1000));
    return h(
      'span',
      { class: 'ejection', 'data-until': instance.ejectedUntil },
      `ejected ${left} s · ${instance.ejections}×`,
    );
  }
  return h(
    'span',
    { class: instance.ejections > 0 ? '' : 'dim' },
    instance.ejections > 0 ? `${instance.ejections}×` : '–',
  );
}

// With subsetting, which instances this caller uses and why: a member of its subset, or grown
// into it while members fail.
const ROLE_TITLE = {
  member: 'in this caller’s subset',
  grown: 'taken into the subset while too few members are available; let go when they recover',
};

function roleTag(role) {
  if (role === null || role === undefined) return null;
  return h('span', { class: 'role', 'data-role': role, title: ROLE_TITLE[role] }, role);
}

function subsetBadge(subset) {
  if (subset === null || subset === undefined) return null;
  const used = subset.member + subset.grown;
  const total = used + subset.standby;
  const grown = subset.grown > 0 ? ` · ${subset.grown} grown` : '';
  return h(
    'span',
    {
      class: `badge subset${subset.grown > 0 ? ' grown' : ''}`,
      'data-member': subset.member,
      'data-grown': subset.grown,
      'data-standby': subset.standby,
      title: `${subset.mode} subsetting, size ${subset.size}: instances outside the subset get no pool, no health checks and no traffic from this caller`,
    },
    `subset ${used} of ${total} (${subset.mode})${grown} · ${subset.standby} outside`,
  );
}

function row(instance, closed) {
  const state = closed ? 'closed' : instance.state;
  const errorRate = instance.errorRate;
  const tr = h(
    'tr',
    {
      class: `instance${BAD.has(state) ? ' bad' : ''}`,
      'data-instance': instance.id,
      'data-url': instance.url,
      'data-state': state,
      'data-subset': instance.subset,
    },
    h('td', null, h('span', { class: 'pill', 'data-state': state }, state)),
    h(
      'td',
      null,
      h('div', { class: 'id' }, instance.id, roleTag(instance.subset)),
      instance.url === instance.id ? null : h('div', { class: 'url' }, instance.url),
    ),
    h('td', null, instance.zone ?? h('span', { class: 'dim' }, '–')),
    h('td', { class: 'num' }, instance.priority),
    h(
      'td',
      { class: 'num' },
      instance.effectiveWeight === instance.weight
        ? instance.weight
        : `${instance.effectiveWeight} / ${instance.weight}`,
    ),
    h('td', { class: 'num rps' }, instance.requestsPerSecond.toFixed(1)),
    h('td', { class: 'num' }, ms(instance.p50Ms)),
    h('td', { class: 'num' }, ms(instance.p99Ms)),
    h(
      'td',
      { class: `num error-rate${errorRate !== null && errorRate >= 0.05 ? ' high' : ''}` },
      errorRate === null ? '–' : `${(errorRate * 100).toFixed(errorRate > 0 && errorRate < 0.1 ? 1 : 0)}%`,
    ),
    h('td', { class: 'num' }, instance.inFlight),
    h(
      'td',
      null,
      h('span', { class: 'breaker', 'data-breaker': instance.breaker ?? 'none' }, instance.breaker ?? '–'),
    ),
    h('td', null, ejectionCell(instance)),
    h('td', null, healthCell(instance.health)),
    h('td', null, sparkline(instance.spark)),
  );
  return tr;
}

const COLUMNS = [
  ['state', ''],
  ['instance', ''],
  ['zone', ''],
  ['prio', 'num'],
  ['weight', 'num'],
  ['req/s', 'num'],
  ['p50', 'num'],
  ['p99', 'num'],
  ['errors', 'num'],
  ['in-flight', 'num'],
  ['breaker', ''],
  ['ejection', ''],
  ['health', ''],
  ['req/s · latency', ''],
];

function sectionFor(index) {
  let s = sections.get(index);
  if (s !== undefined) return s;
  const header = h('header');
  const tbody = h('tbody');
  const events = h('ol');
  events.append(h('li', { class: 'none' }, 'No events yet.'));
  const section = h(
    'section',
    { class: 'service', 'data-index': index },
    header,
    h(
      'div',
      { class: 'body' },
      h(
        'div',
        { class: 'table' },
        h(
          'table',
          null,
          h('thead', null, h('tr', null, ...COLUMNS.map(([t, c]) => h('th', { class: c }, t)))),
          tbody,
        ),
      ),
      h('aside', { class: 'events' }, h('h3', null, 'Recent events'), events),
    ),
  );
  s = { section, header, tbody, events };
  sections.set(index, s);
  // In the order of `clients`, whichever arrives first (an event can come before a snapshot).
  const after = [...sections.entries()].filter(([i]) => i > index).sort(([a], [b]) => a - b)[0];
  servicesEl.insertBefore(section, after === undefined ? null : after[1].section);
  return s;
}

function renderService(service) {
  const s = sectionFor(service.index);
  s.section.setAttribute('data-service', service.service);
  s.section.setAttribute('data-closed', String(service.closed));
  const healthy = service.instances.filter((i) => i.state === 'healthy').length;
  const parts = [
    h('h2', null, service.service),
    h('span', { class: 'count' }, `${healthy} of ${service.instances.length} healthy`),
    h(
      'span',
      { class: 'meta' },
      `${service.strategy} · ${service.discovery.provider} · retry budget ${service.retryBudget}`,
    ),
    subsetBadge(service.subset),
    service.closed ? h('span', { class: 'badge closed' }, 'client closed') : null,
    ...service.panic.map((p) => h('span', { class: 'badge panic' }, `panic: priority ${p}`)),
    !service.closed && !service.discovery.ready
      ? h('span', { class: 'badge waiting' }, 'waiting for discovery')
      : null,
    service.discovery.lastError === null
      ? null
      : h('span', { class: 'badge discovery', title: service.discovery.lastError }, 'discovery error'),
  ];
  s.header.replaceChildren(...parts.filter((part) => part !== null));
  const instances = [...service.instances].sort(
    (a, b) =>
      a.priority - b.priority ||
      (SEVERITY[a.state] ?? 3) - (SEVERITY[b.state] ?? 3) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  s.tbody.replaceChildren(...instances.map((i) => row(i, service.closed)));
}

const TONE = {
  healthy: 'good',
  closed: 'good',
  normal: 'good',
  unhealthy: 'bad',
  open: 'bad',
  panic: 'bad',
  ejected: 'warn',
  'half-open': 'warn',
  draining: 'warn',
};

function addEvent(event) {
  const s = sectionFor(event.index);
  s.events.querySelector('.none')?.remove();
  const tone = event.kind === 'discovery-error' ? 'bad' : (TONE[event.state] ?? '');
  s.events.prepend(
    h('li', { 'data-kind': event.kind, 'data-tone': tone }, h('time', null, clock(event.at)), event.text),
  );
  while (s.events.children.length > EVENTS_SHOWN) s.events.lastElementChild.remove();
  // A state change shows at once, before the next snapshot.
  if (event.kind === 'instance-state' && event.instance !== null) {
    for (const tr of s.tbody.querySelectorAll('tr.instance')) {
      if (tr.getAttribute('data-instance') !== event.instance) continue;
      tr.setAttribute('data-state', event.state);
      tr.classList.toggle('bad', BAD.has(event.state));
      const pill = tr.querySelector('.pill');
      pill.setAttribute('data-state', event.state);
      pill.textContent = event.state;
    }
  }
}

function connect() {
  const token = new URLSearchParams(location.search).get('token');
  const source = new EventSource(token === null ? 'events' : `events?token=${encodeURIComponent(token)}`);
  source.addEventListener('open', () => {
    connectionEl.dataset.status = 'live';
    connectionEl.textContent = 'live';
  });
  source.addEventListener('error', () => {
    const closed = source.readyState === EventSource.CLOSED;
    connectionEl.dataset.status = closed ? 'closed' : 'reconnecting';
    connectionEl.textContent = closed ? 'disconnected' : 'reconnecting…';
  });
  source.addEventListener('backlog', (message) => {
    for (const s of sections.values()) s.events.replaceChildren(h('li', { class: 'none' }, 'No events yet.'));
    for (const event of JSON.parse(message.data)) addEvent(event);
  });
  source.addEventListener('snapshot', (message) => {
    const snapshot = JSON.parse(message.data);
    document.getElementById('waiting')?.remove();
    document.getElementById('window').textContent = String(snapshot.windowSeconds);
    for (const service of snapshot.services) renderService(service);
    lastAt = snapshot.at;
    updatedEl.textContent = `updated ${clock(snapshot.at)}`;
  });
  source.addEventListener('event', (message) => addEvent(JSON.parse(message.data)));
}

// Ejection countdowns and a stale-data warning between snapshots.
setInterval(() => {
  for (const el of document.querySelectorAll('.ejection[data-until]')) {
    const left = Math.max(0, Math.ceil((Number(el.dataset.until) - Date.now()) / 1000));
    el.textContent = el.textContent.replace(/ejected \d+ s/, `ejected ${left} s`);
  }
  if (lastAt > 0 && Date.now() - lastAt > 5000) updatedEl.textContent = `no data since ${clock(lastAt)}`;
}, 1000);

connect();
