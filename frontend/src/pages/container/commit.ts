import { splitCommand } from "../create/createOptions";

const REPO_RE = /^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Field -> problem; empty when the commit can be asked for. */
export function commitProblems(repo: string, tag: string, command: string): Record<string, string> {
  const e: Record<string, string> = {};
  if (!repo) e.repo = "The new image needs a name";
  else if (!REPO_RE.test(repo)) e.repo = "Lower-case letters, digits and . _ - / : (a registry and a path)";
  if (tag && !TAG_RE.test(tag)) e.tag = "Letters, digits, _ . - (not first)";
  try { splitCommand(command); } catch (err) { e.command = (err as Error).message; }
  return e;
}
