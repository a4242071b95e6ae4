// The names each entry point must export, through `import` and through `require` alike.

const core = ['createBalancer', 'PicketError', 'isPicketError', 'ErrorCode', 'NEUTRAL', 'createSubset'];
const strategies = [
  'peakEwma',
  'leastRequest',
  'roundRobin',
  'random',
  'weightedResponseTime',
  'weightedRoundRobin',
  'ringHash',
  'maglev',
];
const health = [
  'createHealthChecker',
  'httpCheck',
  'tcpCheck',
  'icmpCheck',
  'loadCheck',
  'loadReporter',
  'customCheck',
  'allChecks',
];
const discovery = [
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
];
const http = ['createClient', 'createAgent'];
// Channel names for tracers (in @picket/http; the umbrella documents them by name).
const httpChannels = ['ATTEMPT_START_CHANNEL', 'ATTEMPT_END_CHANNEL'];

// The plumbing the sibling packages share: behind @picket/core/internal, never in a public index.
const internal = ['parseWith', 'describeIssues', 'describeValue', 'Emitter', 'tlsSchema', 'durationSchema'];

module.exports = {
  '@picket/core': [...core, ...strategies],
  '@picket/core/internal': internal,
  '@picket/health': health,
  '@picket/discovery': discovery,
  '@picket/http': [...http, ...httpChannels],
  '@picket/http/axios': ['axiosAdapter'],
  // The umbrella re-exports every factory the README documents.
  picket: [...core, ...strategies, ...health, ...discovery, ...http],
  'picket/axios': ['axiosAdapter'],
  'picket/dashboard': ['dashboard'],
};
/** Names an entry point must not export. */
module.exports.absent = { '@picket/core': internal, picket: internal };
