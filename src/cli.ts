// The `picket` executable (package.json "bin"). The build adds the `#!/usr/bin/env node` line.

import { main } from './cli/main.ts';

const controller = new AbortController();
const onSignal = () => {
  // A second Ctrl-C while closing ends at once.
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stop: controller.signal,
});
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
process.exitCode = code;
