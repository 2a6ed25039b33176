"""What `marketsync report …` calls: each report, its CSV, its page and its charts, from one hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from canonical.errors import MarketsyncError
from sync.hub.context import Hub
from sync.reports import export, page
from sync.reports.inventory import inventory_report
from sync.reports.period import Period
from sync.reports.sales import sales_report


class ReportOutputError(MarketsyncError):
    """A report file could not be written; the message names the path."""


def sales(hub: Hub, period: Period, by: str) -> dict[str, Any]:
    with hub.db.session() as session:
        return sales_report(session, hub.settings, period, by)


def inventory(hub: Hub, period: Period) -> dict[str, Any]:
    with hub.db.session() as session:
        return inventory_report(session, hub.settings, period)


def as_csv(report: dict[str, Any]) -> str:
    return export.sales_csv(report) if report["report"] == "sales" else export.inventory_csv(report)


def write_text(path: Path, text: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReportOutputError(f"cannot write {path}: {exc.strerror}") from None
    return path


def write_outputs(hub: Hub, period: Period, by: str, *, html: Path | None, png: Path | None) -> list[Path]:
    """The HTML page and/or the PNG charts of `period`; returns the files written."""
    written: list[Path] = []
    with hub.db.session() as session:
        data = page.gather(session, hub.settings, period, by)
        drawn = page.figures(session, hub.settings, data)
    if html is not None:
        written.append(write_text(html, page.render(data, drawn)))
    if png is not None:
        try:
            written += page.write_pngs(png, drawn)
        except OSError as exc:
            raise ReportOutputError(f"cannot write the charts into {png}: {exc.strerror}") from None
    return written
