import { Component, type ReactNode } from "react";
import { Alert, Button, PageSection } from "../pf";

/** A page that throws shows what broke; the rest of the panel (and the store) lives on. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidUpdate(prev: { resetKey: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <PageSection>
        <Alert variant="danger" title="This page failed to show" data-testid="page-error"
               actionLinks={<Button variant="link" isInline onClick={() => this.setState({ error: null })}>Try again</Button>}>
          <code>{String(this.state.error.message ?? this.state.error)}</code>
        </Alert>
      </PageSection>
    );
  }
}
