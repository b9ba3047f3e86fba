/**
 * Process-wide prerequisites, imported first by every entry point and by
 * jest's setupFiles:
 * - Node 20 lacks Promise.withResolvers (Node 22 has it); the PostGraphile
 *   V5 packages (which declare node >= 22) use it on every request.
 * - Grafast reads GRAPHILE_ENV when first loaded; derive it from NODE_ENV.
 */
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

process.env.GRAPHILE_ENV ??= process.env.NODE_ENV === "production" ? "production" : "development";

export {};
