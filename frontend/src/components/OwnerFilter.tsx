import { FormSelect, FormSelectOption, ToolbarItem } from "../pf";

/**
 * A toolbar's item: which owner's rows to show (all, the system's, or one user's). Shown only
 * when a root bridge serves users (`users` is not empty); a single-owner panel needs no filter.
 */
export function OwnerFilter({ users, value, onChange, testId }: {
  users: string[]; value: string; onChange: (v: string) => void; testId: string;
}) {
  if (users.length === 0) return null;
  return (
    <ToolbarItem>
      <FormSelect value={value} onChange={(_e, v) => onChange(v)} aria-label="Filter by owner"
                  data-testid={testId} style={{ minWidth: "12em" }}>
        <FormSelectOption value="" label="All owners" />
        <FormSelectOption value="system" label="System" />
        {users.map((u) => <FormSelectOption key={u} value={u} label={`User ${u}`} />)}
      </FormSelect>
    </ToolbarItem>
  );
}
