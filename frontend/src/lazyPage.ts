import { lazy, type ComponentType } from "react";

/**
 * React.lazy for a named export, with retries: a chunk (or the CSS Vite preloads with it)
 * that fails to load once — a busy bridge, a flaky network — is asked for again before the
 * page gives up. React.lazy keeps a rejected import for good, so the retry must be inside.
 */
export function lazyPage<P, K extends string>(load: () => Promise<Record<K, ComponentType<P>>>, name: K,
                                              tries = 3, delayMs = 300) {
  return lazy(async () => {
    for (let i = 1; ; i++) {
      try {
        return { default: (await load())[name] };
      } catch (err) {
        if (i >= tries) throw err;
        await new Promise((r) => setTimeout(r, delayMs * i));
      }
    }
  });
}
