import { ApolloProvider } from '@apollo/client/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { apiConfig, createApolloClient } from './client';

const config = apiConfig();
const retries = { count: 0 };
const client = createApolloClient(config.url, config.apiKey, () => void (retries.count += 1));

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <ApolloProvider client={client}>
      <App retries={retries} />
    </ApolloProvider>
  </StrictMode>,
);
