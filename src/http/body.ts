import type http from 'node:http';

/** The client closed the connection before its request was read whole. */
export class ClientAbortedError extends Error {
  override readonly name = 'ClientAbortedError';
  constructor() {
    super('the client closed the connection before sending its whole request');
  }
}

export type BodyRead =
  | { readonly kind: 'read'; readonly text: string }
  /** Over the limit: nothing kept. `drained` when the rest was read and dropped, so the connection can stay open. */
  | { readonly kind: 'tooLarge'; readonly drained: boolean }
  /** Not whole within the deadline: what arrived is dropped, the rest left unread. */
  | { readonly kind: 'timedOut' };

/**
 * Reads a request body of at most `maxBytes`. Past that nothing more is kept, but the rest is read
 * and dropped (up to `discardBytes` more) so that the 413 reaches a client still sending: closing
 * a socket with unread data makes the kernel answer RST, and the client sees a reset instead of
 * the answer. A declared Content-Length over the limit skips straight to dropping. With
 * `deadlineMs`, a body not whole by then is `timedOut`. Rejects with ClientAbortedError when the
 * client goes away first.
 */
export function readBody(req: http.IncomingMessage, maxBytes: number, discardBytes: number, deadlineMs?: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  const overDeclared = Number.isFinite(declared) && declared > maxBytes;
  return consume(req, overDeclared ? 0 : maxBytes, discardBytes, deadlineMs).then((outcome) => {
    if (outcome.kind === 'timedOut') return outcome;
    if (outcome.kind === 'kept') return { kind: 'read', text: Buffer.concat(outcome.chunks).toString('utf8') };
    return { kind: 'tooLarge', drained: outcome.kind === 'drained' };
  });
}

type Consumed = { readonly kind: 'kept'; readonly chunks: Buffer[] } | { readonly kind: 'drained' } | { readonly kind: 'overflow' } | { readonly kind: 'timedOut' };

function consume(req: http.IncomingMessage, keepBytes: number, discardBytes: number, deadlineMs?: number): Promise<Consumed> {
  // Not `req.complete`: that is true once Node has received the whole body, which may still sit
  // unread in the stream (when the door awaited something, e.g. the key check, before reading).
  if (req.readableEnded) return Promise.resolve({ kind: 'kept', chunks: [] });
  // Gone while the door awaited: its 'close' has fired already and would never reach us.
  if (req.destroyed) return Promise.reject(new ClientAbortedError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let dropped = 0;
    let keeping = keepBytes > 0;
    const timer =
      deadlineMs === undefined
        ? undefined
        : setTimeout(() => {
            stop();
            req.pause();
            resolve({ kind: 'timedOut' });
          }, deadlineMs);
    const stop = () => {
      if (timer !== undefined) clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
    };
    const onData = (chunk: Buffer) => {
      if (keeping && kept + chunk.length <= keepBytes) {
        kept += chunk.length;
        chunks.push(chunk);
        return;
      }
      keeping = false;
      chunks.length = 0;
      dropped += chunk.length;
      if (dropped > discardBytes) {
        stop();
        req.pause();
        resolve({ kind: 'overflow' });
      }
    };
    const onEnd = () => {
      stop();
      resolve(keeping || (keepBytes === 0 && dropped === 0) ? { kind: 'kept', chunks } : { kind: 'drained' });
    };
    const onClose = () => {
      stop();
      reject(new ClientAbortedError());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onClose);
  });
}
