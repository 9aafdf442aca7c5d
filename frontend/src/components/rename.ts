/** Podman's rule for the name of a container, a pod or a volume (libpod's NameRegex). */
export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** What is wrong with a container's new name, or null. */
export function renameProblem(name: string, old: string): string | null {
  if (!name) return "A name is needed";
  if (name === old) return "That is its name already";
  if (!NAME_RE.test(name)) return "Letters, digits, _ . - (not first)";
  return null;
}
