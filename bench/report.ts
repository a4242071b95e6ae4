// Renders bench results as Markdown tables for bench/RESULTS.md.

interface PickRow {
  strategy: string;
  instances: number;
  nsPerPick: number;
  scavengesPerMillion: number;
}

const targets: Record<string, [number, number]> = {
  'round-robin': [100, 200],
  'least-request': [150, 300],
  'peak-ewma': [150, 300],
  'ring-hash': [300, 600],
};

function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function corePick(result: { picks: PickRow[]; updateMs: Record<string, number> }): string {
  const rows = result.picks.map((r) => {
    const target = targets[r.strategy]?.[r.instances === 100 ? 0 : 1];
    return [
      r.strategy,
      r.instances,
      r.nsPerPick,
      target === undefined ? '—' : `≤ ${target}`,
      r.scavengesPerMillion.toFixed(1),
    ];
  });
  const updates = Object.entries(result.updateMs).map(([s, ms]) => [s, ms.toFixed(1), '< 50']);
  return [
    '## Balancer hot path (`bench/core-pick.ts`)',
    '',
    'ns per `pick()` + `release()`, and young-generation GCs (scavenges) per million picks (target ≤ 2).',
    '',
    table(['strategy', 'instances', 'ns/pick', 'target ns', 'scavenges/M'], rows),
    '',
    'Membership update of 10,000 instances (one instance added), rebuild of tables included, ms:',
    '',
    table(['strategy', 'ms', 'target ms'], updates),
  ].join('\n');
}

function generic(name: string, result: unknown): string {
  return [`## ${name}`, '', '```json', JSON.stringify(result, null, 2), '```'].join('\n');
}

export function renderResults(machine: Record<string, unknown>, results: Record<string, unknown>): string {
  const parts = [
    '# Benchmark results',
    '',
    `Machine: ${machine.cpus}, ${machine.memory}; Node ${machine.node}; ${machine.date}${machine.quick ? ' (quick run)' : ''}.`,
    'Produced by `npm run bench`; raw numbers in `bench/results/latest.json`.',
    '',
  ];
  for (const [name, result] of Object.entries(results)) {
    parts.push(name === 'core-pick' ? corePick(result as never) : generic(name, result), '');
  }
  return `${parts.join('\n')}\n`;
}
