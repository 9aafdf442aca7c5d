import type { ReactNode } from "react";
import MinusIcon from "@patternfly/react-icons/dist/esm/icons/minus-circle-icon.js";
import PlusIcon from "@patternfly/react-icons/dist/esm/icons/plus-circle-icon.js";
import { Button, Flex, FlexItem, FormGroup, HelperText, HelperTextItem } from "../../pf";

/** A list of rows (ports, variables, volumes) with add and remove buttons, each row's problem under it. */
export function RowsEditor<T>({ label, rows, onChange, blank, render, errors, prefix, addLabel }: {
  label: string; rows: T[]; onChange: (rows: T[]) => void; blank: T; prefix: string; addLabel: string;
  render: (row: T, set: (row: T) => void, i: number) => ReactNode; errors: Record<string, string>;
}) {
  return (
    <FormGroup label={label} role="group" fieldId={`${prefix}-add`}>
      {rows.map((row, i) => (
        <div key={i} style={{ marginBottom: "0.5rem" }} data-testid={`${prefix}-row`}>
          <Flex alignItems={{ default: "alignItemsCenter" }} spaceItems={{ default: "spaceItemsSm" }} flexWrap={{ default: "nowrap" }}>
            {render(row, (r) => onChange(rows.map((x, j) => (j === i ? r : x))), i)}
            <FlexItem>
              <Button variant="plain" aria-label={`Remove ${label.toLowerCase()} row ${i + 1}`}
                      onClick={() => onChange(rows.filter((_, j) => j !== i))} icon={<MinusIcon />} />
            </FlexItem>
          </Flex>
          {errors[`${prefix}-${i}`] && (
            <HelperText><HelperTextItem variant="error">{errors[`${prefix}-${i}`]}</HelperTextItem></HelperText>
          )}
        </div>
      ))}
      <Button variant="link" id={`${prefix}-add`} icon={<PlusIcon />} onClick={() => onChange([...rows, blank])}
              data-testid={`${prefix}-add`}>
        {addLabel}
      </Button>
    </FormGroup>
  );
}
