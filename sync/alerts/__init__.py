"""Early warning: conditions that need attention become alerts that open and close themselves,
keep a history, and are delivered to outbound webhooks (`connectors.notify`)."""
