import { useEffect, useRef, useState } from "react";
import {
  Alert, EmptyState, EmptyStateBody, Flex, FlexItem, FormGroup, FormSelect, FormSelectOption, Label, Spinner, Table, Tbody,
  Td, Th, Thead, Tr,
} from "../../pf";
import { TextField } from "../../components/FormDialog";
import { useResource } from "../../store/hooks";
import { CallError, getStore } from "../../store/store";
import {
  defaultTag, pullRef, registriesOf, registryChoices, searchAnswer, searchParams, type SearchAnswer,
} from "./search";

const DEBOUNCE_MS = 300;

function failureText(err: unknown): string {
  const e = err as CallError;
  return e.code ? `${e.code}: ${e.message}` : String(err);
}

/**
 * Registry search, Cockpit's "Search for … in …": type a name, pick where; the results
 * (name, description, stars, official) as a list to choose from; the chosen one's tags.
 * `onPick` gets the reference to pull (NAME:TAG). `owner`: whose Podman searches (its
 * registries.conf), the bridge's own when empty.
 */
export function ImageSearch({ onPick, disabled, tlsVerify, owner = "" }: {
  onPick: (ref: string) => void; disabled: boolean; tlsVerify: boolean; owner?: string;
}) {
  const registries = useResource<unknown>("images.registries", owner ? { owner } : {}, []);
  const [term, setTerm] = useState("");
  const [registry, setRegistry] = useState("");
  const [answer, setAnswer] = useState<SearchAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [chosen, setChosen] = useState<string | null>(null);
  const [tags, setTags] = useState<string[] | null>(null);
  const [tag, setTag] = useState<string | null>(null);
  const asked = useRef(0);
  const picked = useRef<string | null>(null); // the row's click and its radio's both choose

  useEffect(() => {
    const params = searchParams(term, registry);
    const n = ++asked.current;
    setChosen(null);
    setTags(null);
    picked.current = null;
    if (!params) { setAnswer(null); setError(null); setBusy(false); return; }
    setBusy(true);
    const timer = setTimeout(() => {
      getStore().call("images.search", { ...params, ...(tlsVerify ? {} : { tls_verify: false }), ...(owner ? { owner } : {}) }).then(
        (d) => { if (n === asked.current) { setAnswer(searchAnswer(d)); setError(null); setBusy(false); } },
        (err) => { if (n === asked.current) { setAnswer(null); setError(failureText(err)); setBusy(false); } });
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [term, registry, tlsVerify, owner]);

  async function choose(name: string) {
    if (picked.current === name) return;
    picked.current = name;
    setChosen(name);
    setTags(null);
    setTag(null);
    onPick(pullRef(name, null));
    try {
      const d = searchAnswer(await getStore().call("images.search", {
        term: name, list_tags: true, limit: 100, ...(tlsVerify ? {} : { tls_verify: false }), ...(owner ? { owner } : {}) }));
      if (picked.current !== name) return;
      const list = d.results.map((r) => r.tag).filter((t): t is string => !!t);
      const first = defaultTag(list);
      setTags(list);
      setTag(first);
      onPick(pullRef(name, first));
    } catch {
      setTags([]); // no tag list (a registry that does not give one): latest is assumed
    }
  }

  const choices = registryChoices(registriesOf(registries.data));
  let results;
  if (busy) {
    results = <EmptyState variant="xs" titleText="Searching…" headingLevel="h3" icon={Spinner} data-testid="search-busy" />;
  } else if (error) {
    results = <Alert variant="danger" isInline title="The search failed" data-testid="search-error">{error}</Alert>;
  } else if (answer && answer.registries.length === 0) {
    results = (
      <EmptyState variant="xs" titleText="Nowhere to search" headingLevel="h3" data-testid="search-nowhere">
        <EmptyStateBody>This host searches no registry for a short name (unqualified-search-registries in
          registries.conf is empty): choose a registry, or type one, as in registry.example.com/name.</EmptyStateBody>
      </EmptyState>);
  } else if (answer && answer.results.length === 0) {
    results = (
      <EmptyState variant="xs" titleText={`No results for ${answer.term}`} headingLevel="h3" data-testid="search-empty">
        <EmptyStateBody>Searched {answer.registries.join(", ")}. A registry without a search API (as Docker's
          distribution registry) matches part of a repository's name, case-sensitively.</EmptyStateBody>
      </EmptyState>);
  } else if (answer) {
    results = (
      <div style={{ maxHeight: "14rem", overflowY: "auto" }} tabIndex={0} role="region" aria-label="Search results">
        <Table aria-label="Images found" variant="compact" data-testid="search-results">
          <Thead><Tr><Th screenReaderText="Choose" /><Th>Name</Th><Th>Description</Th><Th>Stars</Th><Th screenReaderText="Official" /></Tr></Thead>
          <Tbody>
            {answer.results.map((r, i) => (
              <Tr key={r.name} data-testid="search-result" data-name={r.name} isClickable={!disabled}
                  onRowClick={() => !disabled && void choose(r.name)} isRowSelected={chosen === r.name}>
                <Td select={{ rowIndex: i, variant: "radio", isSelected: chosen === r.name, isDisabled: disabled,
                              onSelect: () => void choose(r.name), props: { "aria-label": `Choose ${r.name}` } }} />
                <Td dataLabel="Name" modifier="breakWord">{r.name}</Td>
                <Td dataLabel="Description">{r.description || <span className="pb-muted">—</span>}</Td>
                <Td dataLabel="Stars">{r.stars}</Td>
                <Td dataLabel="Official">{r.official && <Label isCompact color="green">official</Label>}</Td>
              </Tr>))}
          </Tbody>
        </Table>
      </div>);
  }

  return (
    <div data-testid="image-search">
      <Flex spaceItems={{ default: "spaceItemsSm" }} alignItems={{ default: "alignItemsFlexEnd" }}>
        <FlexItem grow={{ default: "grow" }}>
          <TextField id="search-term" label="Search for" type="search" value={term} onChange={setTerm} isDisabled={disabled}
                     placeholder="a name, or registry/name" />
        </FlexItem>
        <FlexItem>
          <FormGroup label="in" fieldId="search-registry">
            <FormSelect id="search-registry" value={registry} onChange={(_e, v) => setRegistry(v)} isDisabled={disabled}
                        data-testid="search-registry">
              {choices.map((c) => <FormSelectOption key={c.value} value={c.value} label={c.label} />)}
            </FormSelect>
          </FormGroup>
        </FlexItem>
      </Flex>
      <div style={{ marginTop: "0.5rem" }} aria-live="polite">{results}</div>
      {chosen && tags && tags.length > 0 && (
        <FormGroup label="Tag" fieldId="search-tag" style={{ marginTop: "0.5rem" }}>
          <FormSelect id="search-tag" value={tag ?? ""} isDisabled={disabled} data-testid="search-tag"
                      onChange={(_e, v) => { setTag(v); onPick(pullRef(chosen, v)); }}>
            {tags.map((t) => <FormSelectOption key={t} value={t} label={t} />)}
          </FormSelect>
        </FormGroup>
      )}
    </div>
  );
}
