"""Monitoring settings: the `[monitoring]` section of config.toml.

Thresholds carry their unit in the name. For "higher is worse" measures a value at or
above `*_warn_*` is WARN and at or above `*_crit_*` is CRIT; for disk free space (lower is
worse) a value below `disk_free_warn_mb` is WARN and below `disk_free_crit_mb` is CRIT.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MonitoringConfig:
    http_host: str = "127.0.0.1"
    http_port: int = 9464  # 0: no HTTP server (/healthz, /readyz, /metrics)
    feed_stale_warn_ms: int = 2000
    feed_stale_crit_ms: int = 10000
    loop_lag_warn_ms: float = 20.0
    loop_lag_crit_ms: float = 100.0
    store_write_warn_ms: float = 50.0
    store_write_crit_ms: float = 500.0
    disk_free_warn_mb: int = 1024
    disk_free_crit_mb: int = 200
    clock_drift_warn_ms: float = 250.0
    clock_drift_crit_ms: float = 1000.0
    replication_lag_warn_ms: float = 1000.0
    replication_lag_crit_ms: float = 10000.0
    model_stale_warn_h: float = 24.0
    alert_backlog_warn: int = 50
    alert_backlog_crit: int = 500

    def problems(self) -> list[str]:
        """What is wrong with these settings, one line each naming the key (empty: fine);
        for the config loader's validation."""
        out: list[str] = []
        if not 0 <= self.http_port <= 65535:
            out.append("monitoring.http_port must be 0 (off) or a port number up to 65535")
        if not self.http_host:
            out.append('monitoring.http_host must name an address, e.g. "127.0.0.1"')
        pairs = (
            ("feed_stale", self.feed_stale_warn_ms, self.feed_stale_crit_ms),
            ("loop_lag", self.loop_lag_warn_ms, self.loop_lag_crit_ms),
            ("store_write", self.store_write_warn_ms, self.store_write_crit_ms),
            ("clock_drift", self.clock_drift_warn_ms, self.clock_drift_crit_ms),
            ("replication_lag", self.replication_lag_warn_ms, self.replication_lag_crit_ms),
            ("alert_backlog", self.alert_backlog_warn, self.alert_backlog_crit),
        )
        for name, warn, crit in pairs:
            if not 0 < warn <= crit:
                out.append(f"monitoring.{name}: warn must be > 0 and <= crit")
        if not 0 <= self.disk_free_crit_mb <= self.disk_free_warn_mb:
            out.append("monitoring.disk_free_warn_mb must be >= disk_free_crit_mb >= 0")
        if self.model_stale_warn_h <= 0:
            out.append("monitoring.model_stale_warn_h must be > 0")
        return out
