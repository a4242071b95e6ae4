// Loads every built package with both `import` and `require`, through its exports map, and checks
// that each exported entry point yields the names its sources promise.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const entries = {
  '@picket/core': ['createBalancer', 'peakEwma', 'PicketError', 'isPicketError'],
  '@picket/health': [],
  '@picket/discovery': [],
  '@picket/http': [],
  '@picket/http/axios': [],
  picket: ['createBalancer'],
  'picket/axios': [],
};

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
process.exit(failed ? 1 : 0);
