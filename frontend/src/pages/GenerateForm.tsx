import { TextField } from "../components/FormDialog";
import { Checkbox, Form, FormGroup, FormSelect, FormSelectOption } from "../pf";
import { RESTART_POLICIES, type GenOptions } from "./generateOptions";

/** The generator's options (those of `podman generate systemd`). */
export function GenerateForm({ value, onChange, containers }:
    { value: GenOptions; onChange: (o: GenOptions) => void; containers: string[] }) {
  const set = <K extends keyof GenOptions>(k: K, v: GenOptions[K]) => onChange({ ...value, [k]: v });
  const text = (k: "container_prefix" | "separator" | "after" | "wants" | "requires" | "stop_timeout",
                label: string, placeholder = "") => (
    <TextField id={`gen-${k}`} label={label} value={value[k]} placeholder={placeholder} onChange={(v) => set(k, v)} />
  );
  return (
    <Form isHorizontal onSubmit={(e) => e.preventDefault()} data-testid="generate-form">
      <FormGroup label="Container" isRequired fieldId="gen-container">
        <FormSelect id="gen-container" value={value.container} onChange={(_e, v) => set("container", v)}
                    data-testid="gen-container">
          {containers.length === 0 && <FormSelectOption value="" label="(no containers)" isDisabled />}
          {containers.map((n) => <FormSelectOption key={n} value={n} label={n} />)}
        </FormSelect>
      </FormGroup>
      <FormGroup fieldId="gen-new" label="Container">
        <Checkbox id="gen-new" isChecked={value.new} onChange={(_e, v) => set("new", v)} data-testid="gen-new"
                  label="Create a new container when the unit starts (--new)" />
      </FormGroup>
      <FormGroup label="Restart policy" fieldId="gen-restart_policy">
        <FormSelect id="gen-restart_policy" value={value.restart_policy}
                    onChange={(_e, v) => set("restart_policy", v)} data-testid="gen-restart_policy">
          <FormSelectOption value="" label="From the container (or on-failure)" />
          {RESTART_POLICIES.map((p) => <FormSelectOption key={p} value={p} label={p} />)}
        </FormSelect>
      </FormGroup>
      {text("stop_timeout", "Stop timeout (s)", "10")}
      {text("container_prefix", "Unit name prefix")}
      {text("separator", "Separator")}
      {text("after", "After=", "network-online.target …")}
      {text("wants", "Wants=")}
      {text("requires", "Requires=")}
      <FormGroup fieldId="gen-no_header" label="Header">
        <Checkbox id="gen-no_header" isChecked={value.no_header} onChange={(_e, v) => set("no_header", v)}
                  data-testid="gen-no_header" label="Leave out the header comment" />
      </FormGroup>
    </Form>
  );
}
