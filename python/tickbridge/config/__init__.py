"""Configuration: pydantic models, TOML loading with env overrides, every error listed.

``load_config(path)``, ``parse_config(dict)``, ``default_config()``, ``ConfigError``;
``to_toml`` / ``to_json`` (secrets masked); ``reload_risk_limits(current, new_toml)``.
"""

from tickbridge.config.loader import (
    ConfigError,
    config_or_default,
    default_config,
    load_config,
    parse_config,
)
from tickbridge.config.models import (
    AccountConfig,
    EngineConfig,
    InstrumentConfig,
    ShimConfig,
    StrategyConfig,
    TickbridgeConfig,
)
from tickbridge.config.reload import diff_limits, reload_risk_limits
from tickbridge.config.render import to_json, to_toml
from tickbridge.config.webhook import WebhookConfig, WebhookStrategy

__all__ = ["AccountConfig", "ConfigError", "EngineConfig", "InstrumentConfig", "ShimConfig",
           "StrategyConfig", "TickbridgeConfig", "WebhookConfig", "WebhookStrategy",
           "config_or_default", "default_config", "diff_limits", "load_config", "parse_config",
           "reload_risk_limits", "to_json", "to_toml"]
