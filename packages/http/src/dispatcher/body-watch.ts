// A caller's streaming body, watched so that its failure is known to be the caller's own: an
// upload whose source errors says nothing about the instance it was going to, and must be
// neither retried nor charged. A Node Readable tells by its `errored`; any other iterable undici
// reads chunk by chunk (a web ReadableStream, a generator, sync or async, fetch's body) is read
// through a wrapper that notes a throw; a Blob, which undici reads whole, by the error it fails with.

interface BodyOwner {
  bodyThrew(): void;
}

type Readableish = { pipe: unknown; errored?: unknown; readableAborted?: boolean };

function isReadable(body: unknown): body is Readableish {
  return typeof (body as Readableish).pipe === 'function';
}

/**
 * Whether `body` is an iterable that only a wrapper can watch. Arrays and bytes cannot throw as
 * they are read, and undici sends a FormData whole, not as the iterable of its entries.
 */
export function needsWatch(body: unknown): body is AsyncIterable<unknown> | Iterable<unknown> {
  if (body === null || typeof body !== 'object' || isReadable(body)) return false;
  if (typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function') return true;
  return (
    typeof (body as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function' &&
    !Array.isArray(body) &&
    !ArrayBuffer.isView(body) &&
    (body as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] !== 'FormData'
  );
}

/** A Node Readable body that has failed. */
export function readableFailed(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || !isReadable(body)) return false;
  return (body.errored !== null && body.errored !== undefined) || body.readableAborted === true;
}

/**
 * Whether `error` is the caller's Blob body failing to be read: a file-backed Blob
 * (`fs.openAsBlob`) whose file changed or went away rejects with the File API's NotReadableError.
 */
export function blobFailed(body: unknown, error: unknown): boolean {
  return body instanceof Blob && (error as { name?: unknown } | null)?.name === 'NotReadableError';
}

/** `source`, read through a generator that tells `owner` when the source throws. */
export async function* watchBody(
  source: AsyncIterable<unknown> | Iterable<unknown>,
  owner: BodyOwner,
): AsyncGenerator<unknown> {
  try {
    yield* source;
  } catch (error) {
    owner.bodyThrew();
    throw error;
  }
}
