/** A field of an answer the panel reads without a declared type: its string, else "". */
export function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}
