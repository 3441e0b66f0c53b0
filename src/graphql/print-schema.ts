import { printSchema } from 'graphql';
import { buildLedgerSchema } from './schema';

/** The text of `schema.graphql`, as the code defines it. */
export function printLedgerSchema(): string {
  return `${printSchema(buildLedgerSchema())}\n`;
}

if (require.main === module) {
  process.stdout.write(printLedgerSchema());
}
