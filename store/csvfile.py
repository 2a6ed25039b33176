"""Reading a merchant's CSV file whole, with one clear error for an unreadable or non-UTF-8 file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from canonical.errors import MarketsyncError


class CsvFileError(MarketsyncError):
    """A CSV file cannot be read as UTF-8 text."""


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, [(line number, row)]) of a UTF-8 CSV (a byte-order mark is allowed)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CsvFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileError(f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                           "save it as CSV UTF-8 and run it again") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = list(reader.fieldnames or [])
    return header, [(reader.line_num, row) for row in reader]
