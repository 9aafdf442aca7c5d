import { FormGroup, Radio } from "../pf";

/**
 * Whose Podman it goes to, as Cockpit offers a root user: the system's (""), or a user's
 * own rootless Podman. Shown only when the bridge serves users. Test ids
 * `${prefix}-owner-system`, `${prefix}-owner-NAME`.
 */
export function OwnerChoice({ value, onChange, users, locked, prefix }: {
  value: string; onChange: (owner: string) => void; users: string[]; locked: boolean; prefix: string;
}) {
  if (users.length === 0) return null;
  return (
    <FormGroup label="Owner" role="radiogroup" isInline fieldId={`${prefix}-owner-system`} data-testid={`${prefix}-owner`}>
      <Radio id={`${prefix}-owner-system`} name={`${prefix}-owner`} label="System" isChecked={value === ""} isDisabled={locked}
             onChange={() => onChange("")} data-testid={`${prefix}-owner-system`} />
      {users.map((u) => (
        <Radio key={u} id={`${prefix}-owner-${u}`} name={`${prefix}-owner`} label={`User: ${u}`} isChecked={value === u}
               isDisabled={locked} onChange={() => onChange(u)} data-testid={`${prefix}-owner-${u}`} />))}
    </FormGroup>
  );
}
