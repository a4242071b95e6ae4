// Loads every built package with both `import` and `require`, through its exports map, and checks
// that each exported entry point yields the names its sources promise.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const core = ['createBalancer', 'PicketError', 'isPicketError'];
const strategies = [
  'peakEwma',
  'leastRequest',
  'roundRobin',
  'random',
  'weightedResponseTime',
  'ringHash',
  'maglev',
];
const entries = {
  '@picket/core': [...core, ...strategies],
  '@picket/health': [
    'createHealthChecker',
    'httpCheck',
    'tcpCheck',
    'icmpCheck',
    'loadCheck',
    'loadReporter',
    'customCheck',
    'allChecks',
  ],
  '@picket/discovery': [
    'staticList',
    'fileList',
    'dns',
    'etcd',
    'consul',
    'kubernetes',
    'eureka',
    'registerEtcd',
    'registerConsul',
    'registerEureka',
    'merge',
    'filter',
    'where',
  ],
  '@picket/http': ['createClient', 'createAgent'],
  '@picket/http/axios': ['axiosAdapter'],
  'picket/axios': ['axiosAdapter'],
};
// The umbrella re-exports every factory the README documents.
entries.picket = [
  ...core,
  ...strategies,
  ...entries['@picket/health'],
  ...entries['@picket/discovery'],
  ...entries['@picket/http'],
];

let failed = false;
for (const [specifier, names] of Object.entries(entries)) {
  for (const [how, load] of [
    ['import', (s) => import(s)],
    ['require', async (s) => require(s)],
  ]) {
    try {
      const mod = await load(specifier);
      const keys = Object.keys(mod).filter((k) => k !== 'default' && k !== 'module.exports');
      const missing = names.filter((n) => !(n in mod));
      if (keys.length === 0 || missing.length > 0) {
        failed = true;
        console.error(`✗ ${how} ${specifier}: ${keys.length} exports; missing ${missing.join(', ')}`);
      } else {
        console.log(`✓ ${how} ${specifier} (${keys.length} exports)`);
      }
    } catch (error) {
      failed = true;
      console.error(`✗ ${how} ${specifier}: ${error.message}`);
    }
  }
}
// The CLI as installed: the built bin, run by the same Node.
try {
  const help = execFileSync(process.execPath, ['dist/cli.js', '--help'], { encoding: 'utf8' });
  if (!help.includes('check <url>')) throw new Error(`unexpected --help output: ${help.slice(0, 200)}`);
  console.log('✓ bin picket --help');
} catch (error) {
  failed = true;
  console.error(`✗ bin picket --help: ${error.message}`);
}
process.exit(failed ? 1 : 0);
