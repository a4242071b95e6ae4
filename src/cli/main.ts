// The `picket` command: dispatches to `check` and `watch`, prints help, and turns bad arguments
// into exit code 2 with a message naming the argument.

import type { Writable } from 'node:stream';
import { messageOf } from '@picket/core/internal';
import { CHECK_USAGE, checkCommand } from './check.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './usage.ts';
import { WATCH_USAGE, watchCommand } from './watch.ts';

export const USAGE = `Usage: picket <command> [options]

Client-side load balancing for Node.js, from the command line.

Commands:
  check <url>    check one address at L3 (ICMP echo), L4 (TCP connect) and L7 (HTTP),
                 and print what each layer proves
  watch          the live table of a service's instances as Picket's balancer sees them

Run \`picket <command> --help\` for a command's options.`;

export interface Io {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
  /** Aborted on Ctrl-C: long-running commands finish and return their exit code. */
  stop: AbortSignal;
}

const COMMANDS: Record<string, { usage: string; run(args: readonly string[], io: Io): Promise<number> }> = {
  check: { usage: CHECK_USAGE, run: (args, io) => checkCommand(args, io.stdout) },
  watch: { usage: WATCH_USAGE, run: (args, io) => watchCommand(args, io.stdout, io.stop) },
};

/** Runs the CLI with `argv` (without `node` and the script) and resolves with the exit code. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? args[0] : undefined;
    const command = topic === undefined ? undefined : COMMANDS[topic];
    // No command at all, or help on one that does not exist, is a usage error.
    const wrong = name === undefined || (topic !== undefined && command === undefined);
    (wrong ? io.stderr : io.stdout).write(`${command?.usage ?? USAGE}\n`);
    return wrong ? EXIT_USAGE : EXIT_OK;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr.write(`picket: unknown command ${JSON.stringify(name)}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${command.usage}\n`);
    return EXIT_OK;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(
        `picket ${name}: ${error.message}\n\n${command.usage.split('\n')[0]}\nRun \`picket ${name} --help\` for more.\n`,
      );
      return EXIT_USAGE;
    }
    const message = messageOf(error);
    io.stderr.write(`picket ${name}: ${message}\n`);
    return EXIT_FAILED;
  }
}
