import { useState, type FormEvent } from "react";
import {
  ActionGroup, Alert, Bullseye, Button, Card, CardBody, CardTitle, Form, FormGroup,
  FormHelperText, HelperText, HelperTextItem, TextInput, Title,
} from "../pf";
import { TOKEN_REFUSED } from "../store/store";

/** The token form, for a browser without a session cookie: POST /login sets the cookie. */
/** `direct` (inside Cockpit, where there is no /login): the token goes in the auth message. */
export function LoginForm({ message, onLoggedIn, direct = false }: {
  message: string | null; onLoggedIn: (token: string) => void; direct?: boolean;
}) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    if (direct) {
      onLoggedIn(token.trim());
      setToken("");
      setBusy(false);
      return;
    }
    try {
      const res = await fetch("/login", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token: token.trim() }),
      });
      if (res.ok) {
        setToken("");
        onLoggedIn(token.trim());
      } else if (res.status === 401) {
        setError("That token is not valid.");
      } else {
        setError(`Login failed: HTTP ${res.status}`);
      }
    } catch (err) {
      setError(`Login failed: ${String(err)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Bullseye style={{ minHeight: "100vh", padding: "1rem" }}>
      <Card style={{ width: "100%", maxWidth: "28rem" }} data-testid="login">
        <CardTitle><Title headingLevel="h1" size="xl">Log in to podbridge</Title></CardTitle>
        <CardBody>
          {(error || (direct && message === TOKEN_REFUSED)) &&
            <Alert variant="danger" isInline title={error ?? "That token is not valid."} data-testid="login-error" />}
          <Form onSubmit={submit}>
            <FormGroup label="Access token" isRequired fieldId="login-token">
              <TextInput id="login-token" type="password" value={token} isRequired
                         onChange={(_e, v) => setToken(v)} autoComplete="current-password"
                         data-testid="login-token" />
              <FormHelperText>
                <HelperText>
                  <HelperTextItem>
                    {message && message !== "invalid token" ? `${message}. ` : ""}
                    The token is printed by <code>podbridge serve</code> and kept in its token file.
                  </HelperTextItem>
                </HelperText>
              </FormHelperText>
            </FormGroup>
            <ActionGroup>
              <Button type="submit" variant="primary" isLoading={busy} isDisabled={busy || !token.trim()}
                      data-testid="login-submit">
                Log in
              </Button>
            </ActionGroup>
          </Form>
        </CardBody>
      </Card>
    </Bullseye>
  );
}
