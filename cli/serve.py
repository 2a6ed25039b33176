"""`marketsync serve`: the webhook receiver."""

from __future__ import annotations

import click

from cli.app import App, pass_app
from sync.webserver import build_app


@click.command()
@click.option("--host", help="Address to listen on (default: webhooks.host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port to listen on (default: webhooks.port).")
@pass_app
def serve(app: App, host: str | None, port: int | None) -> None:
    """Receive platform webhooks on POST /webhooks/{platform}/{account} (and GET /healthz)."""
    import uvicorn  # imported when used: it adds a fifth of a second to every CLI command

    hub = app.ready_hub()
    settings = hub.settings.webhooks
    uvicorn.run(build_app(hub), host=host or settings.host, port=settings.port if port is None else port,
                log_level="warning", access_log=False)  # access logs off: URLs name accounts, bodies never logged


commands = [serve]
