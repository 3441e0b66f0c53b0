import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { GraphiQL } from 'graphiql';
import type { GraphiQLProps } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

/** What the API put in the page: the development key's header, for a browser on its own machine only. */
interface OnceqlConfig {
  readonly headers?: Record<string, string>;
}

const config: OnceqlConfig = (window as Window & { __ONCEQL_GRAPHIQL__?: OnceqlConfig }).__ONCEQL_GRAPHIQL__ ?? {};
const endpoint = new URL('../graphql', window.location.href).toString();

/** POSTs each operation to the API beside this page, with the headers of GraphiQL's header pane. */
const fetcher: GraphiQLProps['fetcher'] = async (params, options) => {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(options?.headers as Record<string, string> | undefined) },
    body: JSON.stringify(params),
  });
  return response.json();
};
const root = document.getElementById('graphiql');
if (root === null) throw new Error('index.html has no #graphiql');

createRoot(root).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} initialHeaders={JSON.stringify(config.headers ?? {}, null, 2)} defaultQuery={'query Viewer {\n  viewer {\n    tenant { id name }\n    apiKey { name scopes }\n  }\n}\n'} />
  </StrictMode>,
);
