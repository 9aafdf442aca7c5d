/**
 * Dark mode follows the system: PatternFly 6's dark theme is the class pf-v6-theme-dark on
 * <html>, set while `prefers-color-scheme: dark` matches, and changed live when it changes.
 */
export const DARK_CLASS = "pf-v6-theme-dark";

export function followSystemTheme(root: HTMLElement = document.documentElement,
                                  media: Pick<MediaQueryList, "matches" | "addEventListener"> | null =
                                    typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null): void {
  if (!media) return;
  const apply = (dark: boolean) => root.classList.toggle(DARK_CLASS, dark);
  apply(media.matches);
  media.addEventListener("change", (e) => apply((e as MediaQueryListEvent).matches));
}
