/** What the admit step reads from a GraphQL request: its query, operation name, variables and extensions. */
export interface GraphQLParams {
  readonly query: unknown;
  readonly operationName: string | undefined;
  readonly variables: Record<string, unknown>;
  /** The request's `extensions` (e.g. `persistedQuery`), or {}. */
  readonly extensions?: Record<string, unknown>;
}

function objectOr(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * The GraphQL parameters of a GET (query string) or POST (parsed JSON body), or null for a GET
 * without a query (the Sandbox landing page, or Apollo's own 400).
 */
export function graphQLParams(method: string | undefined, body: unknown, url: URL): GraphQLParams | null {
  if (method === 'GET') {
    if (!url.searchParams.has('query') && !url.searchParams.has('extensions')) return null;
    let variables: unknown = {};
    let extensions: unknown = {};
    try {
      variables = JSON.parse(url.searchParams.get('variables') ?? '{}');
      extensions = JSON.parse(url.searchParams.get('extensions') ?? '{}');
    } catch {
      // Apollo answers the malformed variables after the admit step
    }
    return { query: url.searchParams.get('query') ?? undefined, operationName: url.searchParams.get('operationName') ?? undefined, variables: objectOr(variables), extensions: objectOr(extensions) };
  }
  const fields = objectOr(body);
  return { query: fields.query, operationName: typeof fields.operationName === 'string' ? fields.operationName : undefined, variables: objectOr(fields.variables), extensions: objectOr(fields.extensions) };
}
