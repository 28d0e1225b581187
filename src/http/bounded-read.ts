/**
 * Reads a stream to its end, handing each chunk to `onChunk`, unless it holds more than `maxBytes`: then it is
 * cancelled as soon as that is known and the answer is false (nothing past the bound is handed over).
 */
export async function readWithin(stream: ReadableStream<Uint8Array>, maxBytes: number, onChunk: (chunk: Uint8Array) => unknown): Promise<boolean> {
  const reader = stream.getReader();
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return true;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return false;
    }
    await onChunk(value);
  }
}
