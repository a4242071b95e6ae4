// The consumer as CommonJS: every package through `require`, the ES module umbrella only for the
// cross-copy error check.
const axios = require('axios');
const picket = require('picket');
const { axiosAdapter } = require('picket/axios');
const { dashboard } = require('picket/dashboard');
const { run } = require('./flows.cjs');

run({
  format: 'cjs',
  load: async (specifier) => require(specifier),
  loadOther: () => import('picket'),
  picket,
  axiosAdapter,
  axios,
  dashboard,
}).catch((error) => {
  console.log(`✗ cjs: ${error.stack}`);
  process.exitCode = 1;
});
