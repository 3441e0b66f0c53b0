/** One scrape of a Prometheus text endpoint: the value of a metric summed over the series whose labels include `labels`. */
export interface Scrape {
  readonly text: string;
  value(name: string, labels?: Record<string, string>): number;
}

export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status}`);
  const text = await response.text();
  const series = text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match === null) throw new Error(`unparsable metrics line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] as string] = pair[2] as string;
      return { name: match[1] as string, labels, value: Number(match[3]) };
    });
  return {
    text,
    value(name, wanted = {}) {
      return series
        .filter((entry) => entry.name === name && Object.entries(wanted).every(([label, value]) => entry.labels[label] === value))
        .reduce((sum, entry) => sum + entry.value, 0);
    },
  };
}

/** Scrapes until `done` holds (bounded): for a state the server reaches on its own, such as a request in flight. */
export async function scrapeUntil(url: string, done: (metrics: Scrape) => boolean, timeoutMs = 10_000): Promise<Scrape> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const metrics = await scrape(url);
    if (done(metrics)) return metrics;
    if (Date.now() > deadline) throw new Error('the metrics never reached the expected state');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
