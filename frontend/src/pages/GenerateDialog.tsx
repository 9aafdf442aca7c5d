import { useRef, useState } from "react";
import { run } from "../components/notify";
import { isUnavailable, Unavailable } from "../components/Unavailable";
import {
  Alert, Button, Checkbox, CodeBlock, CodeBlockCode, Flex, FlexItem, FormSelect, FormSelectOption,
  Modal, ModalBody, ModalFooter, ModalHeader, Tab, Tabs, TabTitleText, Title,
} from "../pf";
import { CallError, getStore } from "../store/store";
import type { RpcError } from "../store/types";
import { GenerateForm } from "./GenerateForm";
import { defaultOptions, toParams, type GenOptions } from "./generateOptions";

const FORMATS = [["systemd", "systemd unit"], ["quadlet", "Quadlet file"]] as const;
type Format = (typeof FORMATS)[number][0];
interface Preview { units?: Record<string, string>; error?: RpcError }

async function generate(o: GenOptions, format: Format): Promise<Preview> {
  try {
    return { units: (await getStore().call<{ units: Record<string, string> }>("units.generate", toParams(o, format))).units };
  } catch (err) {
    const e = err as CallError;
    return { error: { code: e.code ?? "failed", message: e.message } };
  }
}

function PreviewPane({ preview, format }: { preview: Preview | undefined; format: Format }) {
  if (!preview) return <p className="pb-muted">Choose the options, then Preview.</p>;
  if (preview.error) {
    return isUnavailable(preview.error)
      ? <Unavailable what="The unit generator" testId={`preview-unavailable-${format}`} />
      : <Alert variant="danger" isInline title={preview.error.message} data-testid={`preview-error-${format}`} />;
  }
  return (
    <>
      {Object.entries(preview.units ?? {}).map(([name, text]) => (
        <div key={name} style={{ marginBottom: "1rem" }}>
          <Title headingLevel="h4" data-testid={`preview-name-${format}`}>{name}</Title>
          <CodeBlock data-testid={`preview-${format}`}>
            <CodeBlockCode>{text}</CodeBlockCode>
          </CodeBlock>
        </div>
      ))}
    </>
  );
}

interface InstallResult { unit?: string; path?: string; job_result?: string | null }

/** Generate a unit (and its Quadlet file) for a container, preview both, install one. */
export function GenerateDialog({ container, containers, onClose }:
    { container: string; containers: string[]; onClose: () => void }) {
  const [opts, setOpts] = useState<GenOptions>(() => defaultOptions(container || containers[0] || ""));
  const [previews, setPreviews] = useState<Partial<Record<Format, Preview>>>({});
  const [tab, setTab] = useState<Format>("systemd");
  const [busy, setBusy] = useState<"preview" | "install" | null>(null);
  const [install, setInstall] = useState({ format: "systemd" as Format, enable: true, start: true, force: false });
  const [installed, setInstalled] = useState<InstallResult | null>(null);
  const previewRef = useRef<HTMLDivElement>(null);

  async function preview() {
    setBusy("preview");
    const [systemd, quadlet] = await Promise.all([generate(opts, "systemd"), generate(opts, "quadlet")]);
    setPreviews({ systemd, quadlet });
    setBusy(null);
    requestAnimationFrame(() => previewRef.current?.scrollIntoView({ block: "start", behavior: "smooth" }));
  }

  async function doInstall() {
    setBusy("install");
    setInstalled(null);
    // units.install answers {installed: [{unit, path, enabled, job_result}], warnings}.
    const r = await run<{ installed?: InstallResult[] } & InstallResult>(`Install the unit of ${opts.container}`, "units.install",
      { ...toParams(opts, install.format), enable: install.enable, start: install.start, force: install.force },
      `Installed the unit of ${opts.container}`);
    if (r) setInstalled(r.installed?.[0] ?? r);
    setBusy(null);
  }

  return (
    <Modal isOpen onClose={onClose} variant="large" aria-labelledby="generate-title" data-testid="generate-dialog">
      <ModalHeader title="Generate a systemd unit" labelId="generate-title"
                   description="Podman’s unit generator, with a preview of the unit and of the Quadlet file." />
      <ModalBody>
        <GenerateForm value={opts} onChange={(o) => { setOpts(o); setInstalled(null); }} containers={containers} />
        <Flex style={{ margin: "1rem 0" }}>
          <FlexItem>
            <Button variant="secondary" onClick={() => void preview()} isLoading={busy === "preview"}
                    isDisabled={!opts.container || busy !== null} data-testid="generate-preview">
              Preview
            </Button>
          </FlexItem>
        </Flex>
        <div ref={previewRef} />
        <Tabs activeKey={tab} onSelect={(_e, k) => setTab(k as Format)} aria-label="Generated files">
          {FORMATS.map(([format, what]) => (
            <Tab key={format} eventKey={format} title={<TabTitleText>{what}</TabTitleText>} data-testid={`tab-${format}`}>
              <div style={{ paddingTop: "1rem" }}><PreviewPane preview={previews[format]} format={format} /></div>
            </Tab>
          ))}
        </Tabs>
        {installed && (
          <Alert variant="success" isInline title={`Installed ${installed.unit ?? ""}`} data-testid="install-result">
            {installed.path && <div>Written to <code>{installed.path}</code></div>}
            {installed.job_result && <div>Start job: {installed.job_result}</div>}
          </Alert>
        )}
      </ModalBody>
      <ModalFooter>
        <Flex alignItems={{ default: "alignItemsCenter" }} spaceItems={{ default: "spaceItemsMd" }}>
          <FlexItem>
            <FormSelect value={install.format} aria-label="Install as" data-testid="install-format"
                        onChange={(_e, v) => setInstall({ ...install, format: v as Format })}>
              {FORMATS.map(([format, what]) => <FormSelectOption key={format} value={format} label={`Install as a ${what}`} />)}
            </FormSelect>
          </FlexItem>
          {([["enable", "Enable"], ["start", "Start"], ["force", "Overwrite"]] as const).map(([k, label]) => (
            <FlexItem key={k}>
              <Checkbox id={`install-${k}`} label={label} isChecked={install[k]} data-testid={`install-${k}`}
                        onChange={(_e, v) => setInstall({ ...install, [k]: v })} />
            </FlexItem>
          ))}
          <FlexItem>
            <Button variant="primary" onClick={() => void doInstall()} isLoading={busy === "install"}
                    isDisabled={!opts.container || busy !== null} data-testid="generate-install">
              Install
            </Button>
          </FlexItem>
          <FlexItem>
            <Button variant="link" onClick={onClose} data-testid="generate-close">Close</Button>
          </FlexItem>
        </Flex>
      </ModalFooter>
    </Modal>
  );
}
