// Runs in its own Node process: graphql-request 7 is ESM only, which jest's CommonJS runtime cannot
// load. Sends each case given on argv and prints, as one JSON line, the code each refusal reached
// the caller with. Also imports @onceql/client as an ES module, as an ESM app would.
import { GraphQLClient, ClientError } from 'graphql-request';
import { createClient } from '@onceql/client';
import { createIdempotencyLink } from '@onceql/client/apollo';

const [url, casesJson] = process.argv.slice(2);
const cases = JSON.parse(casesJson);
const out = { esmExports: [typeof createClient, typeof createIdempotencyLink], codes: [] };
for (const { query, variables, headers } of cases) {
  const client = new GraphQLClient(url, { headers });
  try {
    await client.request(query, variables);
    out.codes.push({ status: 200, code: null });
  } catch (error) {
    if (!(error instanceof ClientError)) {
      out.codes.push({ status: 0, code: `not a ClientError: ${String(error)}` });
      continue;
    }
    out.codes.push({ status: error.response.status, code: error.response.errors?.[0]?.extensions?.code ?? null });
  }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
