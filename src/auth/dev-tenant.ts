import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ALL_SCOPES } from './api-key';
import type { AuthStore } from './store';

export interface DevCredentials {
  readonly tenantId: string;
  readonly apiKey: string;
}

/**
 * Development convenience: the first start creates tenant "dev" with an all-scope key and keeps
 * it in DATA_DIR/dev-api-key.json (mode 0600), so later starts print and reuse the same key.
 * If the stored key no longer works (the data was wiped), a new tenant and key are made.
 */
export async function ensureDevTenant(auth: AuthStore, dataDir: string): Promise<DevCredentials> {
  const file = path.join(dataDir, 'dev-api-key.json');
  if (existsSync(file)) {
    try {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevCredentials>;
      if (typeof stored.apiKey === 'string' && typeof stored.tenantId === 'string' && (await auth.authenticate(stored.apiKey)) !== null) {
        return { tenantId: stored.tenantId, apiKey: stored.apiKey };
      }
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
  }
  const { tenant, apiKey: created } = await auth.createTenantWithKey('dev', { name: 'development key', scopes: ALL_SCOPES });
  const apiKey = created?.secret ?? null;
  if (apiKey === null) throw new Error('a new api key came back without its secret');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify({ tenantId: tenant.id, apiKey }, null, 2)}\n`, { mode: 0o600 });
  return { tenantId: tenant.id, apiKey };
}
