/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API, e.g. http://localhost:4000/graphql. */
  readonly VITE_ONCEQL_URL?: string;
  /** A publishable key: it runs only the documents registered for its tenant. */
  readonly VITE_ONCEQL_KEY?: string;
}
