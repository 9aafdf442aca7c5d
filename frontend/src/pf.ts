/**
 * PatternFly, imported component by component (as Cockpit does) so the bundle holds only
 * what the panel uses. Every page imports PatternFly from here.
 */
export { Alert, AlertActionCloseButton, AlertGroup } from "@patternfly/react-core/dist/esm/components/Alert/index.js";
export { Banner } from "@patternfly/react-core/dist/esm/components/Banner/index.js";
export { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
export { Card, CardBody, CardTitle } from "@patternfly/react-core/dist/esm/components/Card/index.js";
export { Checkbox } from "@patternfly/react-core/dist/esm/components/Checkbox/index.js";
export { CodeBlock, CodeBlockCode } from "@patternfly/react-core/dist/esm/components/CodeBlock/index.js";
export { Content } from "@patternfly/react-core/dist/esm/components/Content/index.js";
export {
  DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm,
} from "@patternfly/react-core/dist/esm/components/DescriptionList/index.js";
export {
  Dropdown, DropdownItem, DropdownList,
} from "@patternfly/react-core/dist/esm/components/Dropdown/index.js";
export { MenuToggle } from "@patternfly/react-core/dist/esm/components/MenuToggle/index.js";
export { EmptyState, EmptyStateBody } from "@patternfly/react-core/dist/esm/components/EmptyState/index.js";
export {
  ActionGroup, Form, FormGroup, FormHelperText,
} from "@patternfly/react-core/dist/esm/components/Form/index.js";
export { FormSelect, FormSelectOption } from "@patternfly/react-core/dist/esm/components/FormSelect/index.js";
export { HelperText, HelperTextItem } from "@patternfly/react-core/dist/esm/components/HelperText/index.js";
export { Label } from "@patternfly/react-core/dist/esm/components/Label/index.js";
export { Divider } from "@patternfly/react-core/dist/esm/components/Divider/index.js";
export {
  Masthead, MastheadBrand, MastheadContent, MastheadLogo, MastheadMain, MastheadToggle,
} from "@patternfly/react-core/dist/esm/components/Masthead/index.js";
export { Modal, ModalBody, ModalFooter, ModalHeader } from "@patternfly/react-core/dist/esm/components/Modal/index.js";
export { Nav, NavItem, NavList } from "@patternfly/react-core/dist/esm/components/Nav/index.js";
export {
  Page, PageSection, PageSidebar, PageSidebarBody, PageToggleButton,
} from "@patternfly/react-core/dist/esm/components/Page/index.js";
export { Switch } from "@patternfly/react-core/dist/esm/components/Switch/index.js";
export { Spinner } from "@patternfly/react-core/dist/esm/components/Spinner/index.js";
export { Tab, Tabs, TabTitleText } from "@patternfly/react-core/dist/esm/components/Tabs/index.js";
export { TextInput } from "@patternfly/react-core/dist/esm/components/TextInput/index.js";
export { TextArea } from "@patternfly/react-core/dist/esm/components/TextArea/index.js";
export { Title } from "@patternfly/react-core/dist/esm/components/Title/index.js";
export {
  Toolbar, ToolbarContent, ToolbarItem,
} from "@patternfly/react-core/dist/esm/components/Toolbar/index.js";
export { Bullseye } from "@patternfly/react-core/dist/esm/layouts/Bullseye/index.js";
export { Flex, FlexItem } from "@patternfly/react-core/dist/esm/layouts/Flex/index.js";
export { ExpandableRowContent, Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table/dist/esm/components/Table/index.js";
export { ExpandableSection } from "@patternfly/react-core/dist/esm/components/ExpandableSection/index.js";
export { Progress, ProgressMeasureLocation } from "@patternfly/react-core/dist/esm/components/Progress/index.js";
export { Grid, GridItem } from "@patternfly/react-core/dist/esm/layouts/Grid/index.js";
export { Radio } from "@patternfly/react-core/dist/esm/components/Radio/index.js";
