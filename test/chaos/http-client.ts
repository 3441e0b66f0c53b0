import http from 'node:http';

/**
 * The chaos run's client: one POST per connection (no keep-alive, so every request meets the
 * fault proxy's draw), bounded in time. A lost connection is `null`: the client cannot know whether
 * the API executed the request, so it must send it again with the same idempotency key.
 */
export interface Answer {
  readonly status: number;
  readonly body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

export function post(url: string, apiKey: string, query: string, variables: Record<string, unknown>, timeoutMs = 10_000): Promise<Answer | null> {
  const payload = JSON.stringify({ query, variables });
  return new Promise((resolve) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        timeout: timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'api-key': apiKey, connection: 'close' },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', () => resolve(null));
        response.on('aborted', () => resolve(null));
        response.on('end', () => {
          try {
            resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'] });
          } catch {
            resolve({ status: response.statusCode ?? 0, body: {} });
          }
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => resolve(null));
    request.end(payload);
  });
}

/** The first error's code, if any. */
export function codeOf(answer: Answer): string | undefined {
  const code = answer.body.errors?.[0]?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Answers after which the same request must be sent again: nothing definitive was said. */
export function isRetryable(answer: Answer | null): boolean {
  if (answer === null) return true;
  if ([429, 502, 503, 504].includes(answer.status)) return true;
  return answer.status === 409 && codeOf(answer) === 'IDEMPOTENCY_REQUEST_IN_PROGRESS';
}

/** How long to wait before the next attempt: the server's retryAfterMs (capped), or backoff. */
export function backoffMs(answer: Answer | null, attempt: number, jitter: number): number {
  const hinted = answer?.body.errors?.[0]?.extensions?.retryAfterMs;
  const base = typeof hinted === 'number' ? Math.min(hinted, 1000) : Math.min(25 * 2 ** Math.min(attempt, 5), 800);
  return Math.round(base * (0.5 + jitter));
}
