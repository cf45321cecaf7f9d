"""Apache Spark: `spark://host:7077` (a standalone cluster; this process is the driver) or
`sc://host:15002` (Spark Connect). Options after `?` are Spark settings, e.g.
`spark://127.0.0.1:7077?spark.sql.warehouse.dir=/data/handoff-spark`, and `database=NAME`, the
database (schema) holding Handoff's tables (default: `default`).

Times are naive UTC: the session time zone is UTC, and published timestamps are TIMESTAMP_NTZ.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import pandas as pd

from metrics.engines.base import Engine
from metrics.errors import QueryTimeout, WarehouseError

# Settings Handoff needs whatever the cluster's defaults are.
SESSION_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.sql.ansi.enabled": "true",
}


# The current database is the session's, shared by every SparkEngine of the process.
_SESSION_LOCK = threading.RLock()


class SparkEngine(Engine):
    name = "spark"
    dialect = "spark"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        from pyspark.sql import SparkSession

        parts = urlsplit(url)
        options = dict(parse_qsl(parts.query))
        self.database = options.pop("database", "default")
        address = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        builder = SparkSession.builder.appName("handoff")
        builder = builder.remote(address) if parts.scheme == "sc" else builder.master(address)
        self._connect_client = parts.scheme == "sc"
        if not self._connect_client:
            # A driver on a loopback cluster must be reachable at the address it announces.
            builder = builder.config("spark.driver.host", options.pop("spark.driver.host",
                                                                      "127.0.0.1"))
            builder = builder.config("spark.ui.enabled", options.pop("spark.ui.enabled", "false"))
        for key, value in {**SESSION_SETTINGS, **options}.items():
            builder = builder.config(key, value)
        try:
            self.spark = builder.getOrCreate()
        except Exception as exc:
            raise WarehouseError(f"cannot start a Spark session on {address}: "
                                 f"{str(exc).strip().splitlines()[0]}") from None
        for key, value in SESSION_SETTINGS.items():
            self.spark.conf.set(key, value)
        with _SESSION_LOCK:
            self.spark.sql(f"CREATE DATABASE IF NOT EXISTS `{self.database}`").collect()

    def _use_database(self) -> None:
        # pyspark keeps one session per process: each engine object names its own database.
        if self.spark.catalog.currentDatabase() != self.database:
            self.spark.catalog.setCurrentDatabase(self.database)

    def _interrupt(self) -> None:
        if self._connect_client:
            self.spark.interruptAll()
        else:
            self.spark.sparkContext.cancelAllJobs()

    def _query(self, sql: str, params: Mapping[str, object]) -> pd.DataFrame:
        timer = threading.Timer(self.timeout_seconds, self._interrupt)
        timer.start()
        try:
            with _SESSION_LOCK:
                self._use_database()
                # Through Arrow, not pyspark's own pandas conversion (which lags pandas releases).
                return self.spark.sql(sql, args=dict(params) or None).toArrow().to_pandas()
        except Exception as exc:
            if not timer.is_alive():
                raise QueryTimeout(f"the query took longer than {self.timeout_seconds:g} s on "
                                   "Spark and was cancelled; narrow the date range.") from None
            raise exc
        finally:
            timer.cancel()

    def _command(self, sql: str) -> None:
        with _SESSION_LOCK:
            self._use_database()
            self.spark.sql(sql).collect()

    def _create_as_sql(self, table: str, select_sql: str) -> str:
        return f"CREATE TABLE {table} USING parquet AS {select_sql}"

    def _load_parquet(self, table: str, path: str, types: Mapping[str, str]) -> None:
        # The executors read the file, not the driver; the CREATE TABLE has copied it when it
        # returns. (On a real cluster the scratch folder must be storage the executors share:
        # TMPDIR on a mounted path.)
        columns = ", ".join(f"CAST(`{c}` AS {t}) AS `{c}`" for c, t in types.items())
        self._command(f"CREATE TABLE {table} USING parquet AS "
                      f"SELECT {columns} FROM parquet.`{path}`")

    def _columns(self) -> list[tuple[str, str, str]]:
        found = []
        with _SESSION_LOCK:
            for table in self.spark.catalog.listTables(self.database):
                if table.tableType == "TEMPORARY":
                    continue
                for column in self.spark.catalog.listColumns(f"{self.database}.{table.name}"):
                    found.append((table.name, column.name, column.dataType))
        return found

    def close(self) -> None:
        """The session stays up for the process (pyspark shares one); close_session ends it."""

    def close_session(self) -> None:
        self.spark.stop()
