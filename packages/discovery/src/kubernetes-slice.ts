// EndpointSlice (discovery.k8s.io/v1) to instance records: conditions to health and draining, the
// port chosen by name or number, zone and pod metadata. Kept apart from the list/watch loop so
// that the mapping reads (and is tested) on its own.

export interface EndpointRecord {
  readonly record: Record<string, unknown>;
  /** Ready endpoints win over draining duplicates of the same address in another slice. */
  readonly ready: boolean;
}

export interface SliceRecords {
  readonly records: readonly EndpointRecord[];
  /** Parts of the slice that could not become instances, with the reason. */
  readonly invalid: readonly { record: unknown; reason: string }[];
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The slice's name, or undefined when the object is not a slice at all. */
export function sliceName(slice: unknown): string | undefined {
  const name = asObject(asObject(slice)?.metadata)?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

type Port = { number: number; secure: boolean; name: string } | { reason: string };

function pickPort(slice: Record<string, unknown>, wanted: number | string | undefined): Port {
  const ports = (Array.isArray(slice.ports) ? slice.ports : []).map((p) => asObject(p) ?? {});
  const label = (p: Record<string, unknown>) =>
    typeof p.name === 'string' && p.name !== '' ? p.name : '(unnamed)';
  const isHttps = (p: Record<string, unknown> | undefined) =>
    p?.appProtocol === 'https' || p?.name === 'https';
  if (typeof wanted === 'number') {
    const listed = ports.find((p) => p.port === wanted);
    return { number: wanted, secure: isHttps(listed), name: listed === undefined ? '' : label(listed) };
  }
  let port: Record<string, unknown> | undefined;
  if (wanted !== undefined) {
    port = ports.find((p) => (p.name ?? '') === wanted);
    if (port === undefined) {
      return {
        reason: `has no port named ${JSON.stringify(wanted)} (it has ${ports.map(label).join(', ') || 'none'})`,
      };
    }
  } else if (ports.length === 1) {
    port = ports[0];
  } else {
    return {
      reason:
        ports.length === 0
          ? 'lists no ports; set `port` to a number'
          : `has ports ${ports.map(label).join(', ')}; set \`port\` to one of their names`,
    };
  }
  if (port === undefined) return { reason: 'has no usable port' };
  // A port without a number means "all ports" in EndpointSlice terms: nothing to dial.
  if (typeof port.port !== 'number') return { reason: `port ${label(port)} has no number ("all ports")` };
  if (port.protocol !== undefined && port.protocol !== 'TCP') {
    return { reason: `port ${label(port)} is ${String(port.protocol)}, not TCP` };
  }
  return { number: port.port, secure: isHttps(port), name: label(port) };
}

/**
 * Conditions, as the API documents them: `ready` nil means ready; `serving` nil defers to `ready`;
 * `terminating` nil means not terminating. Ready endpoints are healthy; serving-but-terminating
 * ones stay with `metadata.terminating = true` so that the client drains them; the rest are left out.
 */
export function sliceRecords(
  slice: unknown,
  namespace: string,
  wanted: number | string | undefined,
): SliceRecords {
  const object = asObject(slice) ?? {};
  const name = sliceName(slice) ?? '(unnamed)';
  // The API serialises a slice without endpoints as `"endpoints": null`.
  if (object.endpoints !== null && object.endpoints !== undefined && !Array.isArray(object.endpoints)) {
    return {
      records: [],
      invalid: [{ record: slice, reason: `EndpointSlice ${name}: \`endpoints\` is not a list` }],
    };
  }
  const endpoints = (object.endpoints ?? []) as unknown[];
  if (endpoints.length === 0) return { records: [], invalid: [] };
  const port = pickPort(object, wanted);
  if ('reason' in port)
    return { records: [], invalid: [{ record: slice, reason: `EndpointSlice ${name} ${port.reason}` }] };
  const records: EndpointRecord[] = [];
  const invalid: { record: unknown; reason: string }[] = [];
  for (const raw of endpoints) {
    const endpoint = asObject(raw);
    const addresses = endpoint?.addresses;
    if (endpoint === undefined || !Array.isArray(addresses) || addresses.length === 0) {
      invalid.push({ record: raw, reason: `EndpointSlice ${name}: an endpoint needs at least one address` });
      continue;
    }
    const conditions = asObject(endpoint.conditions) ?? {};
    const ready = conditions.ready !== false;
    const serving = typeof conditions.serving === 'boolean' ? conditions.serving : ready;
    const terminating = conditions.terminating === true;
    if (!ready && !(serving && terminating)) continue;
    const targetRef = asObject(endpoint.targetRef);
    records.push({
      ready: ready && !terminating,
      record: {
        // The API calls an endpoint's addresses fungible; the first is the one to use.
        host: addresses[0],
        port: port.number,
        secure: port.secure,
        ...(typeof endpoint.zone === 'string' && endpoint.zone !== '' ? { zone: endpoint.zone } : {}),
        metadata: {
          namespace,
          slice: name,
          port: port.name,
          ready,
          serving,
          terminating,
          ...(typeof endpoint.nodeName === 'string' ? { nodeName: endpoint.nodeName } : {}),
          ...(typeof endpoint.hostname === 'string' ? { hostname: endpoint.hostname } : {}),
          ...(typeof targetRef?.name === 'string' ? { pod: targetRef.name } : {}),
        },
      },
    });
  }
  return { records, invalid };
}

/** Joins slices; an address:port in two slices (possible while the controller moves it) counts once. */
export function joinSlices(slices: Iterable<readonly EndpointRecord[]>): unknown[] {
  const byAddress = new Map<string, EndpointRecord>();
  const loose: unknown[] = [];
  for (const records of slices) {
    for (const entry of records) {
      const { host, port } = entry.record;
      if (typeof host !== 'string') {
        loose.push(entry.record);
        continue;
      }
      const key = `${host}|${String(port)}`;
      const seen = byAddress.get(key);
      if (seen === undefined || (!seen.ready && entry.ready)) byAddress.set(key, entry);
    }
  }
  return [...[...byAddress.values()].map((e) => e.record), ...loose];
}
