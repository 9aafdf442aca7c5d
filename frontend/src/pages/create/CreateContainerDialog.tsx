import { useState } from "react";
import { notify } from "../../components/notify";
import {
  Checkbox, ExpandableSection, FormGroup, FormSelect, FormSelectOption, TextInput, Title,
} from "../../pf";
import type { ImageRow, PodRow } from "../../generated/contracts";
import { href } from "../../router";
import { useAppState, useResource } from "../../store/hooks";
import { owners } from "../../store/selectors";
import { CallError, getStore } from "../../store/store";
import { FormDialog, Problem, TextField } from "../../components/FormDialog";
import { useSubmit } from "../../components/useSubmit";
import { ImageSearch } from "../images/ImageSearch";
import { emptyForm, HEALTH_ACTIONS, isLocalImage, toCreateParams, validate, type CreateForm, type HealthAction } from "./createOptions";
import { PortsEditor, EnvEditor, VolumesEditor } from "./Editors";
import { LimitsFields } from "./LimitsFields";
import { OwnerChoice } from "../../components/OwnerChoice";

export interface CreateContainerProps {
  onClose: () => void;
  /** the image to create it from (the Images page's "Create container") */
  image?: string;
  /** the pod it joins (the Pods page's "Add container"); the owner is then fixed */
  pod?: string;
  /** any of the form's values, given first (a clone pre-fills the dialog with these) */
  initial?: Partial<CreateForm>;
  /** the dialog's title (Clone: "Clone NAME") */
  title?: string;
}

/**
 * "Create container", as Cockpit's: owner (system or a user's rootless Podman), image,
 * name, command, terminal, memory and CPU limits, ports, variables, volumes, restart
 * policy, health check, pod; and beyond it: run it from a generated systemd unit
 * (installed, enabled, started, in the owner's manager) with Podman auto-update on.
 */
export function CreateContainerDialog({ onClose, image = "", pod = "", initial, title = "Create container" }: CreateContainerProps) {
  const [f, setF] = useState<CreateForm>(() => ({ ...emptyForm(image), pod, ...initial }));
  const users = owners(useAppState().model);
  // The owner's Podman lists the pods and images to pick from.
  const mine = f.owner ? { owner: f.owner } : {};
  const { busy, step, tried, failure, run } = useSubmit();
  const pods = useResource<PodRow[]>("pods.list", mine, ["pod.*"]);
  const images = useResource<ImageRow[]>("images.list", mine, ["image.*"]);
  const errors = tried ? validate(f) : {};
  const set = (patch: Partial<CreateForm>) => setF({ ...f, ...patch });
  const names = (Array.isArray(images.data) ? images.data : []).flatMap((i) => i.names ?? []);
  // Cockpit's dialog searches registries as the image is typed; here the pull dialog's search, folded.
  const [searching, setSearching] = useState(false);
  const [found, setFound] = useState<string | null>(null); // the reference a registry search gave

  async function submit() {
    const store = getStore();
    await run(!Object.keys(validate(f)).length, async (stepTo) => {
      // An image picked from a registry and not in the owner's storage is pulled first, as Cockpit's dialog does.
      const image = f.image.trim();
      if (found === image && !isLocalImage(image, names)) {
        stepTo(`Pulling ${image}…`);
        await store.call("images.pull", { reference: image, ...mine });
      }
      stepTo("Creating the container…");
      // A unit runs the container (podman run --replace): create it stopped, the unit starts it.
      const params = toCreateParams({ ...f, start: f.installUnit ? false : f.start });
      const made = await store.call<{ id: string; name: string; warnings?: string[] }>("containers.create", params);
      if (made.warnings?.length) notify(`Podman's warnings for ${made.name}`, "info", made.warnings.join("\n"));
      if (f.installUnit) {
        stepTo("Installing its systemd unit…");
        const install = (fresh: boolean) => store.call<{ installed?: { unit?: string }[] }>("units.install",
          { name: made.name, format: "systemd", new: fresh, enable: true, start: true, force: false, ...mine });
        // A unit that creates the container afresh at each start (--new) is what Podman
        // auto-update replaces; it needs the container's create command, which
        // containers.create records unless the CLI cannot say a param (a path with ':' and
        // ','). Then the unit starts this very container.
        let fresh = true;
        const r = await install(true).catch((err: CallError) => {
          if (err.code !== "not-supported" || !/create command/.test(err.message)) throw err;
          fresh = false;
          return install(false);
        });
        notify(`Created ${made.name}, run by ${r?.installed?.[0]?.unit ?? "its unit"}${fresh ? " (created afresh at each start)" : ""}` +
               `${f.autoUpdate ? `, auto-update ${f.autoUpdate}` : ""}`, "success");
        if (!fresh && f.autoUpdate) {
          notify("Auto-update will not replace this container", "info",
                 "Its unit starts this very container (Podman kept no create command for it), so " +
                 "`podman auto-update` finds nothing to recreate. The label is set for when the unit is regenerated with --new.");
        }
      } else {
        notify(`Created ${made.name}`, "success");
      }
      onClose();
      location.hash = href("containers", made.name);
    });
  }

  return (
    <FormDialog title={title} testId="create" variant="medium" isHorizontal busy={busy} failure={failure}
                failureTitle="The container was not created" onClose={onClose} onSubmit={() => void submit()}
                submitLabel={step ?? (f.installUnit ? "Create and install the unit" : "Create")}>
      <OwnerChoice prefix="create" value={f.owner} users={users} locked={!!pod}
                   onChange={(owner) => set({ owner, pod: "", cpuSharesOn: owner ? false : f.cpuSharesOn, cpus: owner ? "" : f.cpus })} />
      <FormGroup label="Image" isRequired fieldId="create-image">
        <TextInput id="create-image" value={f.image} onChange={(_e, v) => set({ image: v })} isRequired
                   list="create-image-list" data-testid="create-image" validated={errors.image ? "error" : "default"}
                   placeholder="registry/name:tag" />
        <datalist id="create-image-list">{names.map((n) => <option key={n} value={n} />)}</datalist>
        <Problem text={errors.image} />
        <ExpandableSection toggleText={searching ? "Hide the registry search" : "Search registries for an image"}
                           isExpanded={searching} onToggle={(_e, v) => setSearching(v)} data-testid="create-search">
          {/* Enter in the search is a search, not the form's submit. */}
          {searching && <div onKeyDown={(e) => { if (e.key === "Enter") e.preventDefault(); }}>
            <ImageSearch disabled={busy} tlsVerify owner={f.owner}
                         onPick={(ref) => { setFound(ref); setF((old) => ({ ...old, image: ref })); }} />
          </div>}
        </ExpandableSection>
      </FormGroup>
      <TextField id="create-name" label="Name" value={f.name} onChange={(name) => set({ name })} problem={errors.name}
                 placeholder="Podman picks one when empty" />
      <TextField id="create-command" label="Command" value={f.command} onChange={(command) => set({ command })}
                 problem={errors.command} placeholder="The image's own when empty" />
      <LimitsFields f={f} set={set} errors={errors} />
      <FormGroup label="Pod" fieldId="create-pod">
        <FormSelect id="create-pod" value={f.pod} onChange={(_e, v) => set({ pod: v })} data-testid="create-pod">
          <FormSelectOption value="" label="No pod" />
          {(Array.isArray(pods.data) ? pods.data : []).map((p) => <FormSelectOption key={p.name} value={p.name} label={p.name} />)}
        </FormSelect>
      </FormGroup>
      <PortsEditor rows={f.ports} onChange={(ports) => set({ ports })} errors={errors} />
      <EnvEditor rows={f.env} onChange={(env) => set({ env })} errors={errors} />
      <VolumesEditor rows={f.volumes} onChange={(volumes) => set({ volumes })} errors={errors} />
      <FormGroup label="Restart policy" fieldId="create-restart">
        <FormSelect id="create-restart" value={f.restartPolicy} data-testid="create-restart"
                    onChange={(_e, v) => set({ restartPolicy: v as CreateForm["restartPolicy"] })}>
          <FormSelectOption value="no" label="No" />
          <FormSelectOption value="on-failure" label="On failure" />
          <FormSelectOption value="always" label="Always" />
          <FormSelectOption value="unless-stopped" label="Unless stopped" />
        </FormSelect>
        {f.restartPolicy === "on-failure" && (
          <TextInput aria-label="Retries" value={f.restartRetries} placeholder="Retries (unlimited when empty)"
                     onChange={(_e, v) => set({ restartRetries: v })} style={{ marginTop: "0.5rem" }} />
        )}
        <Problem text={errors.restartRetries} />
      </FormGroup>
      <Title headingLevel="h2" size="md">Health check</Title>
      <TextField id="create-health" label="Command" value={f.healthCmd} onChange={(healthCmd) => set({ healthCmd })}
                 placeholder="None when empty, e.g. /bin/healthcheck" />
      {f.healthCmd.trim() && (
        <>
          <TextField id="create-health-interval" label="Interval (s)" value={f.healthInterval}
                     onChange={(healthInterval) => set({ healthInterval })} problem={errors.healthInterval} />
          <TextField id="create-health-retries" label="Retries" value={f.healthRetries}
                     onChange={(healthRetries) => set({ healthRetries })} problem={errors.healthRetries} />
          <FormGroup label="When unhealthy" fieldId="create-health-action">
            <FormSelect id="create-health-action" value={f.healthAction} data-testid="create-health-action"
                        onChange={(_e, v) => set({ healthAction: v as HealthAction })}>
              {HEALTH_ACTIONS.map(([a, label]) => <FormSelectOption key={a} value={a} label={label} />)}
            </FormSelect>
          </FormGroup>
        </>
      )}
      <Title headingLevel="h2" size="md">Running it</Title>
      <FormGroup fieldId="create-start" label="Start">
        <Checkbox id="create-start" label="Start it now" isChecked={f.installUnit || f.start}
                  isDisabled={f.installUnit} onChange={(_e, v) => set({ start: v })} data-testid="create-start" />
      </FormGroup>
      <FormGroup fieldId="create-unit" label="systemd">
        <Checkbox id="create-unit" isChecked={f.installUnit} data-testid="create-unit"
                  label="Run it from a systemd unit (generated, installed, enabled and started)"
                  onChange={(_e, v) => set({ installUnit: v, autoUpdate: v ? f.autoUpdate : "" })} />
      </FormGroup>
      <FormGroup label="Auto-update" fieldId="create-autoupdate">
        <FormSelect id="create-autoupdate" value={f.autoUpdate} data-testid="create-autoupdate"
                    isDisabled={!f.installUnit} onChange={(_e, v) => set({ autoUpdate: v as CreateForm["autoUpdate"] })}>
          <FormSelectOption value="" label="Off" />
          <FormSelectOption value="registry" label="From the registry (a newer image of its tag)" />
          <FormSelectOption value="local" label="From local images (a newer local image of its tag)" />
        </FormSelect>
        <Problem text={errors.autoUpdate} />
      </FormGroup>
    </FormDialog>
  );
}
