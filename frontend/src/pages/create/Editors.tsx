import { Checkbox, FlexItem, FormSelect, FormSelectOption, HelperText, HelperTextItem, TextInput } from "../../pf";
import type { EnvRow, PortRow, VolumeRow } from "./createOptions";
import { RowsEditor } from "./RowsEditor";

type Props<T> = { rows: T[]; onChange: (rows: T[]) => void; errors: Record<string, string> };

export function PortsEditor({ rows, onChange, errors }: Props<PortRow>) {
  return (
    <>
      <RowsEditor label="Ports" prefix="port" addLabel="Add a port" rows={rows} onChange={onChange} errors={errors}
                  blank={{ host: "", container: "", protocol: "tcp" }}
                  render={(r, set, i) => (<>
                    <FlexItem><TextInput aria-label={`Host port ${i + 1}`} placeholder="Host port" value={r.host}
                                         data-testid="port-host" onChange={(_e, v) => set({ ...r, host: v })} /></FlexItem>
                    <FlexItem><TextInput aria-label={`Container port ${i + 1}`} placeholder="Container port" value={r.container}
                                         data-testid="port-container" onChange={(_e, v) => set({ ...r, container: v })} /></FlexItem>
                    <FlexItem><FormSelect aria-label={`Protocol ${i + 1}`} value={r.protocol}
                                          onChange={(_e, v) => set({ ...r, protocol: v as PortRow["protocol"] })}>
                      <FormSelectOption value="tcp" label="TCP" /><FormSelectOption value="udp" label="UDP" />
                    </FormSelect></FlexItem>
                  </>)} />
      {errors.ports && <HelperText><HelperTextItem variant="error">{errors.ports}</HelperTextItem></HelperText>}
    </>
  );
}

/** Rows of a name (the field `field`) and a value: variables, labels. Test ids `${prefix}-${field}`, `${prefix}-value`. */
export function PairsEditor<K extends string>({ field, label, prefix, addLabel, noun, placeholder, rows, onChange, errors }: {
  field: K; label: string; prefix: string; addLabel: string; noun: string; placeholder: string;
} & Props<Record<K, string> & { value: string }>) {
  type Pair = Record<K, string> & { value: string };
  return (
    <RowsEditor label={label} prefix={prefix} addLabel={addLabel} rows={rows} onChange={onChange} errors={errors}
                blank={{ [field]: "", value: "" } as Pair}
                render={(r, set, i) => (<>
                  <FlexItem><TextInput aria-label={`${noun} name ${i + 1}`} placeholder={placeholder} value={r[field]}
                                       data-testid={`${prefix}-${field}`} onChange={(_e, v) => set({ ...r, [field]: v })} /></FlexItem>
                  <FlexItem><TextInput aria-label={`${noun} value ${i + 1}`} placeholder="value" value={r.value}
                                       data-testid={`${prefix}-value`} onChange={(_e, v) => set({ ...r, value: v })} /></FlexItem>
                </>)} />
  );
}

export function EnvEditor({ rows, onChange, errors }: Props<EnvRow>) {
  return <PairsEditor field="name" label="Environment" prefix="env" addLabel="Add a variable" noun="Variable" placeholder="NAME"
                      rows={rows} onChange={onChange} errors={errors} />;
}

export function VolumesEditor({ rows, onChange, errors }: Props<VolumeRow>) {
  return (
    <RowsEditor label="Volumes" prefix="volume" addLabel="Add a volume" rows={rows} onChange={onChange} errors={errors}
                blank={{ source: "", destination: "", readOnly: false }}
                render={(r, set, i) => (<>
                  <FlexItem><TextInput aria-label={`Host path or volume ${i + 1}`} placeholder="Host path or volume name"
                                       value={r.source} data-testid="volume-source" onChange={(_e, v) => set({ ...r, source: v })} /></FlexItem>
                  <FlexItem><TextInput aria-label={`Path in the container ${i + 1}`} placeholder="/path/in/container"
                                       value={r.destination} data-testid="volume-destination" onChange={(_e, v) => set({ ...r, destination: v })} /></FlexItem>
                  <FlexItem><Checkbox id={`volume-ro-${i}`} label="Read-only" isChecked={r.readOnly}
                                      onChange={(_e, v) => set({ ...r, readOnly: v })} /></FlexItem>
                </>)} />
  );
}
