import { useState } from "react";
import { FormDialog, TextField } from "../../components/FormDialog";
import { notify } from "../../components/notify";
import { useSubmit } from "../../components/useSubmit";
import {
  Checkbox, FormGroup, FormHelperText, FormSelect, FormSelectOption, HelperText, HelperTextItem, TextArea,
} from "../../pf";
import { getStore } from "../../store/store";
import type { Container } from "../../store/types";
import { splitCommand } from "../create/createOptions";
import { commitProblems } from "./commit";
import { target } from "./target";

/**
 * "Commit", as Cockpit's: an image made of the container (its writable layer on its image),
 * with a name and tag, author, message, command, pause while committing and format.
 */
export function CommitDialog({ c, onClose }: { c: Container; onClose: () => void }) {
  const [repo, setRepo] = useState("");
  const [tag, setTag] = useState("");
  const [author, setAuthor] = useState("");
  const [message, setMessage] = useState("");
  const [command, setCommand] = useState("");
  const [pause, setPause] = useState(false);
  const [format, setFormat] = useState<"oci" | "docker">("oci");
  const { busy, tried, failure, run } = useSubmit();
  const errors = tried ? commitProblems(repo.trim(), tag.trim(), command) : {};

  async function submit() {
    await run(!Object.keys(commitProblems(repo.trim(), tag.trim(), command)).length, async () => {
      const cmd = splitCommand(command);
      const made = await getStore().call<{ id: string; image: string }>("containers.commit", {
        ...target(c), repo: repo.trim(), ...(tag.trim() ? { tag: tag.trim() } : {}),
        ...(author.trim() ? { author: author.trim() } : {}), ...(message && format === "docker" ? { message } : {}),
        ...(cmd.length ? { command: cmd } : {}), pause, format,
      });
      notify(`Committed ${c.name} as ${made.image}`, "success");
      onClose();
    });
  }

  return (
    <FormDialog title={`Commit container ${c.name}`} testId="commit" variant="medium" isHorizontal busy={busy} failure={failure}
                failureTitle="The image was not made" submitLabel="Commit" onClose={onClose} onSubmit={() => void submit()}
                description="An image of the container as it is now: its image and everything written in it since.">
      <TextField id="commit-repo" label="New image name" value={repo} onChange={setRepo} isRequired="mark"
                 placeholder="e.g. myapp (localhost/myapp)" problem={errors.repo} />
      <TextField id="commit-tag" label="Tag" value={tag} onChange={setTag} placeholder="latest" problem={errors.tag} />
      <TextField id="commit-author" label="Author" value={author} onChange={setAuthor} placeholder="Name <email>" />
      <FormGroup label="Format" fieldId="commit-format">
        <FormSelect id="commit-format" value={format} onChange={(_e, v) => setFormat(v as "oci" | "docker")} data-testid="commit-format">
          <FormSelectOption value="oci" label="OCI" />
          <FormSelectOption value="docker" label="Docker (keeps a health check and a shell)" />
        </FormSelect>
      </FormGroup>
      <FormGroup label="Message" fieldId="commit-message">
        <TextArea id="commit-message" value={message} onChange={(_e, v) => setMessage(v)} data-testid="commit-message"
                  resizeOrientation="vertical" rows={2} isDisabled={format !== "docker"} />
        {format !== "docker" && (
          <FormHelperText><HelperText><HelperTextItem>An OCI image keeps no message: choose the Docker format for one</HelperTextItem></HelperText></FormHelperText>
        )}
      </FormGroup>
      <TextField id="commit-command" label="Command" value={command} onChange={setCommand}
                 placeholder="The container's own when empty" problem={errors.command} />
      <FormGroup label="Options" fieldId="commit-pause" role="group">
        <Checkbox id="commit-pause" label="Pause the container while committing" isChecked={pause}
                  onChange={(_e, v) => setPause(v)} data-testid="commit-pause" />
      </FormGroup>
    </FormDialog>
  );
}
