/**
 * Stores a resolver's return value as JSON and gives it back with its types: bigints and Dates
 * survive the trip (tagged `{"$bigint": "…"}` / `{"$date": ms}`); everything else is plain JSON.
 */
export function encodeResult(value: unknown): string {
  return JSON.stringify(value, function replace(this: Record<string, unknown>, name: string, item: unknown) {
    const raw = this[name];
    if (typeof raw === 'bigint') return { $bigint: raw.toString() };
    if (raw instanceof Date) return { $date: raw.getTime() };
    return item;
  });
}

export function decodeResult(text: string): unknown {
  return JSON.parse(text, (_name, item: unknown) => {
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      const tagged = item as Record<string, unknown>;
      const keys = Object.keys(tagged);
      if (keys.length === 1 && typeof tagged.$bigint === 'string') return BigInt(tagged.$bigint);
      if (keys.length === 1 && typeof tagged.$date === 'number') return new Date(tagged.$date);
    }
    return item;
  });
}
