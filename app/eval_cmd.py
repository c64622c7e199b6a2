"""`cliffhanger eval`: config files and the judge resolved through the app's settings, then evals.run."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from cliffhanger.agents.errors import ConfigError, UserError, format_validation_error
from cliffhanger.agents.llm.role_names import ROOM_ROLES

if TYPE_CHECKING:
    from cliffhanger.evals.configs import EvalConfig

_NAME = re.compile(r"[^\W][\w .-]{0,63}")


def load_eval_config(path: Path) -> EvalConfig:
    """An EvalConfig from a TOML file: model settings like cliffhanger.toml, plus `name` and `[pipeline]`.

    The file's model settings beat the environment (an eval compares what the files say); API keys
    still come from the environment when the file has none.
    """
    from cliffhanger.agents.llm.local import local_available
    from cliffhanger.app.settings import build_settings, read_config_file
    from cliffhanger.evals.configs import EvalConfig, PipelineConfig

    data = read_config_file(path)
    name = data.pop("name", path.stem)
    # The name becomes a folder under OUT/seasons/: one plain path component, never a path.
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"{path}: name = {name!r} cannot name a config: use letters, digits, spaces, '_', '-' or '.' "
                          "(up to 64, not starting with '.')")
    data.pop("description", None)
    try:
        pipeline = PipelineConfig.model_validate(data.pop("pipeline", {}))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, f"{path}: [pipeline]")) from None
    try:
        settings = build_settings(**data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None
    try:
        endpoints = settings.endpoints(ROOM_ROLES, local_installed=local_available())
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return EvalConfig(name=name, pipeline=pipeline, endpoints=endpoints, policy=settings.policy(),
                      prices=settings.price_overrides())


def run_eval_command(suite_name: str, configs: list[Path], *, judge: str | None, judge_provider: str | None,
                     judge_base_url: str | None, out: Path | None, budget_usd: float | None, bootstrap: int,
                     genres_dirs: list[Path] | None, seasons: int = 4, server: str | None = None) -> int:
    from cliffhanger.app.console import console, err_console, untrusted
    from cliffhanger.app.settings import load_settings
    from cliffhanger.evals.run import EvalRequest, run_eval
    from cliffhanger.evals.suites import load_suite

    if seasons < 1:
        raise UserError(f"--seasons {seasons}: must be at least 1 (seasons drafted at once)")
    suite = load_suite(suite_name, genres_dirs)
    if not configs:
        raise UserError("pass at least two --config files to compare")
    resolved = [load_eval_config(p) for p in configs]
    settings = load_settings(None, {"provider": judge_provider, "base_url": judge_base_url, "model": judge})
    judge_ep = settings.endpoint("judge")
    if budget_usd is not None and budget_usd <= 0:
        raise UserError("--budget-usd must be more than 0")
    # With --server the server writes the seasons: it is given the eval folder by absolute path.
    folder = (out or Path(f"eval-{suite.name}")).absolute() if server else out or Path(f"eval-{suite.name}")
    req = EvalRequest(suite=suite, configs=resolved, judge=judge_ep, out=folder, server=server,
                      budget_usd=budget_usd, judge_policy=settings.policy(), judge_prices=settings.price_overrides(),
                      bootstrap=bootstrap, seasons=seasons, progress=lambda m: err_console().print(untrusted(m), soft_wrap=True))
    outcome = asyncio.run(run_eval(req))
    console().print(untrusted(f"eval of {suite.name}: {outcome.seasons} seasons, {outcome.judgments} new judgments; "
                              f"{outcome.message}"), soft_wrap=True)
    return 0
