/**
 * Racing a library call against the task's AbortSignal, for clients whose calls cannot all be
 * cancelled on the wire: the task stops waiting at once (the call itself is left to settle, its
 * late rejection swallowed), and the listener is removed when the call settles first.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal, abortError: () => Error): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(abortError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the library's own rejection, passed on unchanged
        reject(error);
      },
    );
  });
}
