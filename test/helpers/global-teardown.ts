export default async function globalTeardown(): Promise<void> {
  await globalThis.__ONCEQL_REDIS__?.stop();
}
