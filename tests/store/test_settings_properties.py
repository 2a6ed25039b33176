"""Property: any config file gives settings or one clear SettingsError line, never a crash
(issue 15, bad input: the settings loader)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.settings import Settings, SettingsError, load_settings

CASES = {"settings": 0}
SECTIONS = {name: sorted(field.annotation.model_fields) for name, field in Settings.model_fields.items()  # type: ignore[union-attr]
            if hasattr(field.annotation, "model_fields")}


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value == math.inf else "-inf" if value == -math.inf
                                                 else repr(value))
    if isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(type(value))


VALUES = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(allow_nan=True),
    st.text(max_size=40), st.just("postgresql://u:p@h/db?password=x"), st.just("\x00\x1b[2J"),
    st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=5)), max_size=3),
)
SECTION = st.sampled_from([*sorted(SECTIONS), "nonsense"])


@st.composite
def config_text(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for section in draw(st.lists(SECTION, min_size=1, max_size=4, unique=True)):
        lines.append(f"[{section}]")
        keys = [*SECTIONS.get(section, []), "extra_key"]
        for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
            lines.append(f"{key} = {toml_value(draw(VALUES))}")
    if draw(st.booleans()):  # broken TOML too
        lines.append(draw(st.sampled_from(["[database", "url = ", "= 3", "a = 1\na = 2", "\x00"])))
    return "\n".join(lines) + "\n"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("MARKETSYNC_"):
            monkeypatch.delenv(name)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          database=None)
@given(text=config_text())
def test_a_config_file_is_loaded_or_refused_in_one_line(tmp_path: Path, clean_env: None, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    CASES["settings"] += 1
    try:
        loaded = load_settings(path)
    except SettingsError as exc:
        message = str(exc)
        assert message and "\n" not in message.strip()
        assert "password=x" not in message and "u:p@" not in message
    else:
        assert isinstance(loaded, Settings)
