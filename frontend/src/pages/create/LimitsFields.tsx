import type { ReactNode } from "react";
import { Checkbox, Flex, FlexItem, FormGroup, FormSelect, FormSelectOption, Switch, TextInput } from "../../pf";
import { Problem, TextField } from "../../components/FormDialog";
import { MEMORY_UNITS, type CreateForm, type MemoryUnit } from "./createOptions";

/** A limit that applies only when its box is ticked (Cockpit's memory and CPU shares rows). */
function ToggledLimit({ id, label, on, onToggle, value, onValue, error, children }: {
  id: string; label: string; on: boolean; onToggle: (v: boolean) => void; value: string; onValue: (v: string) => void;
  error?: string; children?: ReactNode;
}) {
  return (
    <FormGroup label={label} fieldId={id} role="group">
      <Flex alignItems={{ default: "alignItemsCenter" }} spaceItems={{ default: "spaceItemsSm" }} flexWrap={{ default: "nowrap" }}>
        <FlexItem><Checkbox id={`${id}-on`} aria-label={`Set ${label.toLowerCase()}`} isChecked={on}
                            onChange={(_e, v) => onToggle(v)} data-testid={`${id}-on`} /></FlexItem>
        <FlexItem><TextInput id={id} aria-label={label} value={value} isDisabled={!on} onChange={(_e, v) => onValue(v)}
                             data-testid={id} style={{ width: "8em" }} validated={error ? "error" : "default"} /></FlexItem>
        {children}
      </Flex>
      <Problem text={error} />
    </FormGroup>
  );
}

type Props = { f: CreateForm; set: (patch: Partial<CreateForm>) => void; errors: Record<string, string> };

/**
 * Cockpit's "With terminal" and resource limits: memory (with its unit), and for the
 * system's containers CPU shares and CPUs (a user's rootless Podman gets no CPU
 * controller here, as in Cockpit, which offers CPU shares to the system only).
 */
export function LimitsFields({ f, set, errors }: Props) {
  const system = f.owner === "";
  return (
    <>
      <FormGroup fieldId="create-tty" label="Terminal">
        <Switch id="create-tty" label="With terminal" isChecked={f.tty} onChange={(_e, v) => set({ tty: v })}
                data-testid="create-tty" />
      </FormGroup>
      <ToggledLimit id="create-memory" label="Memory limit" on={f.memoryOn} onToggle={(v) => set({ memoryOn: v })}
                    value={f.memory} onValue={(v) => set({ memory: v })} error={errors.memory}>
        <FlexItem><FormSelect aria-label="Memory unit" value={f.memoryUnit} isDisabled={!f.memoryOn}
                              onChange={(_e, v) => set({ memoryUnit: v as MemoryUnit })} data-testid="create-memory-unit">
          {Object.keys(MEMORY_UNITS).map((u) => <FormSelectOption key={u} value={u} label={u} />)}
        </FormSelect></FlexItem>
      </ToggledLimit>
      {system && (
        <>
          <ToggledLimit id="create-cpu-shares" label="CPU shares" on={f.cpuSharesOn} onToggle={(v) => set({ cpuSharesOn: v })}
                        value={f.cpuShares} onValue={(v) => set({ cpuShares: v })} error={errors.cpuShares}>
            <FlexItem className="pb-muted">the default weight is 1024; more is a higher priority</FlexItem>
          </ToggledLimit>
          <TextField id="create-cpus" label="CPUs" value={f.cpus} onChange={(cpus) => set({ cpus })} problem={errors.cpus}
                     placeholder="No limit when empty, e.g. 0.5" style={{ width: "16em" }} />
        </>
      )}
    </>
  );
}
