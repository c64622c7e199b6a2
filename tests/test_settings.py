"""Settings precedence (defaults < cliffhanger.toml < environment < flags) and key hygiene."""

from __future__ import annotations

from pathlib import Path

import pytest

from cliffhanger.agents.errors import ConfigError
from cliffhanger.app.settings import default_config_path, load_settings

KEY = "sk-test-SECRET-0123456789abcdef"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_source() -> None:
    s = load_settings()
    assert s.provider is None and s.model is None and s.temperature == 0.8 and s.max_attempts == 3


def test_file_beats_defaults_env_beats_file_flags_beat_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _write(tmp_path / "c.toml", 'model = "from-file"\ntemperature = 0.3\ntimeout_s = 50\nmax_attempts = 5\n')
    s = load_settings(cfg)
    assert (s.model, s.temperature, s.timeout_s, s.max_attempts) == ("from-file", 0.3, 50, 5)

    monkeypatch.setenv("CLIFFHANGER_MODEL", "from-env")
    monkeypatch.setenv("CLIFFHANGER_TEMPERATURE", "0.5")
    s = load_settings(cfg)
    assert (s.model, s.temperature, s.timeout_s) == ("from-env", 0.5, 50)

    s = load_settings(cfg, {"model": "from-flag", "temperature": None})
    assert (s.model, s.temperature) == ("from-flag", 0.5), "an unset flag must not hide the env value"


def test_default_user_config_file_is_read(tmp_path: Path) -> None:
    path = default_config_path()
    assert str(path).startswith(str(tmp_path)), "tests must not read the real user config"
    path.parent.mkdir(parents=True)
    _write(path, 'provider = "sim"\n')
    assert load_settings().provider == "sim"


def test_role_models_nested_from_file_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _write(tmp_path / "c.toml", """
provider = "openai"
model = "gpt-4o-mini"
api_key = "sk-file-key-000000"
[roles.writer]
model = "gpt-4.1"
[roles.critic]
provider = "deepseek"
api_key_env = "MY_DEEPSEEK_KEY"
""")
    monkeypatch.setenv("MY_DEEPSEEK_KEY", "sk-deepseek-111111")
    monkeypatch.setenv("CLIFFHANGER_ROLES__SHOTS__MODEL", "gpt-4.1-nano")
    s = load_settings(cfg)
    writer, critic, shots, judge = (s.endpoint(r) for r in ("writer", "critic", "shots", "judge"))
    assert (writer.provider, writer.model) == ("openai", "gpt-4.1")
    assert (critic.provider, critic.base_url, critic.model) == ("deepseek", "https://api.deepseek.com/v1", "deepseek-chat")
    assert critic.api_key.get_secret_value() == "sk-deepseek-111111"
    assert critic.method == "function_calling"
    assert shots.model == "gpt-4.1-nano"
    assert judge.model == "gpt-4o-mini" and judge.method == "json_schema"


def test_openai_env_fallbacks_and_cliffhanger_env_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-env-222222")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.deepseek.com/v1")
    s = load_settings()
    ep = s.endpoint("writer")
    assert ep.provider == "deepseek" and ep.api_key.get_secret_value() == "sk-openai-env-222222"
    monkeypatch.setenv("CLIFFHANGER_API_KEY", "sk-cliff-env-333333")
    assert load_settings().endpoint("writer").api_key.get_secret_value() == "sk-cliff-env-333333"


def test_key_never_in_repr_or_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    s = load_settings()
    ep = s.endpoint("writer")
    for text in (repr(s), str(s), repr(ep), str(ep), s.model_dump_json()):
        assert KEY not in text


def test_provider_guessed_from_base_url_and_local_default() -> None:
    assert load_settings(flags={"base_url": "http://127.0.0.1:11434/v1", "model": "qwen3"}).endpoint("writer").provider == "ollama"
    assert load_settings(flags={"base_url": "http://10.0.0.5:9000/v1", "model": "m"}).endpoint("writer").provider == "openai-compatible"
    assert load_settings().endpoint("writer", local_installed=True).provider == "local"
    sim = load_settings(flags={"provider": "sim", "model": "ignored"}).endpoint("writer")
    assert (sim.provider, sim.model) == ("sim", "sim-drama")


@pytest.mark.parametrize(
    ("flags", "toml", "fragment"),
    [
        ({"provider": "gpt"}, "", "unknown provider 'gpt': use one of openai"),
        ({}, "temperature = 7\n", "temperature: Input should be less than or equal to 2"),
        ({}, "colour = 'red'\n", "colour: Extra inputs are not permitted"),
        ({}, "model = \n", "invalid TOML"),
        ({}, "[roles.editor]\nmodel = 'x'\n", "roles.editor"),
    ],
)
def test_bad_settings_one_clear_line(tmp_path: Path, flags: dict, toml: str, fragment: str) -> None:
    cfg = _write(tmp_path / "c.toml", toml)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, flags)
    message = str(info.value)
    assert fragment in message and "\n" not in message


def test_unresolvable_endpoints_say_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no model endpoint configured: set OPENAI_API_KEY"):
        load_settings().endpoint("writer")
    with pytest.raises(ConfigError, match="provider openai needs an API key"):
        load_settings(flags={"provider": "openai"}).endpoint("writer")
    # A base URL but no model: not an error here; the pool asks the server (tests/test_model_discovery.py).
    assert load_settings(flags={"provider": "ollama"}).endpoint("writer").model == ""
    with pytest.raises(ConfigError, match="provider openai-compatible needs a base URL"):
        load_settings(flags={"provider": "openai-compatible"}).endpoint("writer")
    with pytest.raises(ConfigError, match="not found: check the --config path"):
        load_settings(tmp_path / "missing.toml")


def test_role_on_another_provider_never_gets_the_top_level_key(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "c.toml", 'provider = "openai"\napi_key = "sk-openai-444444"\n[roles.critic]\nprovider = "deepseek"\n')
    s = load_settings(cfg)
    assert s.endpoint("writer").api_key.get_secret_value() == "sk-openai-444444"
    with pytest.raises(ConfigError, match="provider deepseek needs an API key"):
        s.endpoint("critic")
