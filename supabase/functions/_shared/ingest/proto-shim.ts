/**
 * Makes `__proto__` work again where the runtime has disabled it. Supabase's edge runtime (Deno) turns
 * `Object.prototype.__proto__` into an accessor that returns undefined, and mammoth's promise library relies on it
 * (it fails with "ExternalPromise.resolve is not a function"). Call before importing mammoth; it changes nothing
 * where `__proto__` already works (Node, or Deno with `--unstable-unsafe-proto`).
 */
export function restoreProtoAccessor(): void {
  const probe = {} as { __proto__?: unknown };
  if (probe.__proto__ === Object.prototype) return;
  Object.defineProperty(Object.prototype, '__proto__', {
    get(this: object) {
      return Object.getPrototypeOf(this);
    },
    set(this: object, proto: object | null) {
      Object.setPrototypeOf(this, proto);
    },
    configurable: true,
  });
}
