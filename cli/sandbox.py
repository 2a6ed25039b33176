"""`marketsync sandbox serve PLATFORM`: run a local platform simulator."""

from __future__ import annotations

import json
import signal
import threading

import click

from sandbox import SIMULATORS, simulator_class


@click.group()
def sandbox() -> None:
    """Local simulators of each platform's API (no real store needed)."""


@sandbox.command("serve")
@click.argument("platform", type=click.Choice(sorted(SIMULATORS)))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 picks a free port.")
@click.option("--seed", type=int, default=None, help="Seed a deterministic catalogue with this seed.")
def sandbox_serve(platform: str, port: int, seed: int | None) -> None:
    """Serve PLATFORM's simulator on loopback; prints one JSON line with its URL and credentials."""
    simulator = simulator_class(platform)(port=port, seed=seed)
    simulator.start()
    click.echo(json.dumps(simulator.info(), sort_keys=True), nl=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


commands = [sandbox]
