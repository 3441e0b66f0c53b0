import type DataLoader from 'dataloader';
import type { Page } from '../ledger/types';
import { toConnection } from './connection';
import type { ConnectionShape } from './connection';

/** Resolves a page of ids through the request's DataLoader into a connection (one batched load). */
export async function loadConnection<T>(page: Page<string>, loader: DataLoader<string, T | null>): Promise<ConnectionShape<T>> {
  const nodes = await loader.loadMany(page.items.map((item) => item.node));
  const found = nodes.map((node, i) => {
    if (node instanceof Error) throw node;
    if (node === null) throw new Error(`index names ${page.items[i]?.node}, which does not exist`);
    return node;
  });
  return toConnection(page.items, found, page.hasNextPage);
}
