import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectTestRedis } from './redis';

/**
 * Records the commands clients send to Redis that name a tenant's hash tag (MONITOR; commands that
 * scripts run inside Redis are left out), to count round trips. `take()` returns what came in
 * since the last take, once a marker command proves that everything before it has arrived.
 */
export async function watchTenantCommands(tenantId: string): Promise<{ take(): Promise<string[][]>; stop(): void }> {
  const client = (await connectTestRedis()) as Redis;
  const monitor = await client.monitor();
  const tag = `{t:${tenantId}}`;
  let commands: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua' && args.some((arg) => arg.includes(tag))) commands.push(args);
  });
  return {
    async take() {
      const marker = `oq:${tag}:monitor-marker-${randomUUID()}`;
      const probe = await connectTestRedis();
      await probe.get(marker);
      probe.disconnect();
      const deadline = Date.now() + 5000;
      while (!commands.some((args) => args.includes(marker)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      const seen = commands.filter((args) => !args.includes(marker));
      commands = [];
      return seen;
    },
    stop() {
      monitor.disconnect();
      client.disconnect();
    },
  };
}

/** The command names, lower-case, EVAL counted as EVALSHA (the first run of a script per connection). */
export function commandNames(commands: string[][]): string[] {
  return commands.map((args) => String(args[0]).toLowerCase().replace(/^eval$/, 'evalsha'));
}
