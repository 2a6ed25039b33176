"""`marketsync serve`: the webhook receiver."""

from __future__ import annotations

import click

from cli.app import App, pass_app


@click.command()
@click.option("--host", help="Address to listen on (default: webhooks.host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port to listen on (default: webhooks.port).")
@pass_app
def serve(app: App, host: str | None, port: int | None) -> None:
    """Receive platform webhooks on POST /webhooks/{platform}/{account} (and GET /healthz)."""
    import uvicorn  # imported when used: it adds a fifth of a second to every CLI command

    from sync.service.httpserver import server_config
    from sync.service.processes import listening_socket

    hub = app.ready_hub()
    settings = hub.settings.webhooks
    sock = listening_socket(host or settings.host, settings.port if port is None else port)  # in use: one line
    uvicorn.Server(server_config(hub, host=host, port=port)).run(sockets=[sock])


commands = [serve]
