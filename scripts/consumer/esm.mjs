// The consumer as an ES module: every package through `import`, the CommonJS umbrella only for the
// cross-copy error check.
import { createRequire } from 'node:module';
import axios from 'axios';
import * as picket from 'picket';
import { axiosAdapter } from 'picket/axios';
import { dashboard } from 'picket/dashboard';
import flows from './flows.cjs';

await flows.run({
  format: 'esm',
  load: (specifier) => import(specifier),
  loadOther: async () => createRequire(import.meta.url)('picket'),
  picket,
  axiosAdapter,
  axios,
  dashboard,
});
