import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { buildLedgerSchema } from './schema';

/**
 * The text of `schema.graphql`, as the code defines it, with the cost directives (`@cost`,
 * `@listSize`) on the fields that carry them. graphql-js's own printSchema drops applied
 * directives; this one keeps them, in the schema's own order, so the output is stable.
 */
export function printLedgerSchema(): string {
  return `${printSchemaWithDirectives(buildLedgerSchema()).trimEnd()}\n`;
}

if (require.main === module) {
  process.stdout.write(printLedgerSchema());
}
