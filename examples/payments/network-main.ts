import { startPaymentNetwork } from './network';

/**
 * The fake payment network as a process of its own, so that a test can SIGKILL it mid-call:
 * `node dist/examples/payments/network-main.js` with
 *
 *   PORT (required: a restarted network keeps its address) · NETWORK_JOURNAL (required: the file
 *   that keeps its idempotency across kills) · NETWORK_ANSWER_DELAY_MS (0)
 *
 * Prints `network listening on <url>`, then `applied <idempotency key>` for each new charge, before
 * its answer is sent.
 */
async function main(): Promise<void> {
  const port = Number(process.env.PORT);
  const journalPath = process.env.NETWORK_JOURNAL;
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) throw new Error('PORT must be a port number');
  if (journalPath === undefined || journalPath === '') throw new Error('NETWORK_JOURNAL is required');
  const network = await startPaymentNetwork({
    port,
    journalPath,
    answerDelayMs: Number(process.env.NETWORK_ANSWER_DELAY_MS ?? 0),
    onApplied: (charge) => process.stdout.write(`applied ${charge.idempotencyKey}\n`),
  });
  process.stdout.write(`network listening on ${network.url}\n`);
  process.on('SIGTERM', () => void network.close().then(() => process.exit(0)));
}

main().catch((error: unknown) => {
  process.stderr.write(`network: ${String(error)}\n`);
  process.exit(1);
});
