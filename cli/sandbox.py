"""`marketsync sandbox serve PLATFORM`: run a local platform simulator."""

from __future__ import annotations

import json
import signal
import threading

import click


@click.group()
def sandbox() -> None:
    """Local simulators of each platform's API (no real store needed)."""


@sandbox.command("serve")
@click.argument("platform")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 picks a free port.")
@click.option("--seed", type=int, default=None, help="Seed the deterministic catalogue with this seed (default 1).")
def sandbox_serve(platform: str, port: int, seed: int | None) -> None:
    """Serve PLATFORM's simulator on loopback; prints one JSON line with its URL and credentials.

    PLATFORM is any registered simulator (entry-point group `marketsync.simulators`).
    """
    from sandbox.interface import UnknownSimulator, start_simulator  # not loaded by every other command

    try:
        simulator = start_simulator(platform, seed=seed, port=port)
    except UnknownSimulator as exc:
        raise click.BadParameter(str(exc), param_hint="PLATFORM") from None
    setup = simulator.account_setup()
    line = {**simulator.info(), "account": {"platform": setup.platform, "options": setup.options,
                                            "secrets": setup.secrets}}
    click.echo(json.dumps(line, sort_keys=True, ensure_ascii=False), nl=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


commands = [sandbox]
