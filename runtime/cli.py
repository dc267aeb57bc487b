"""`autovideo`: serve, worker, migrate, create-admin, schema."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click

from runtime.settings import ConfigError, Settings, load_settings


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


GC_YOUNG_THRESHOLD = 20_000


def _fail(exc: BaseException) -> None:
    click.echo(f"autovideo: {exc}", err=True)
    sys.exit(2)


def _run(main_coro: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run the command's coroutine on uvloop (libuv: about twice the standard loop's speed on
    small requests): bad configuration is one line, Ctrl-C is a normal exit."""
    import uvloop

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main_coro())
    except ConfigError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        pass


async def _finish(cleanup: Coroutine[Any, Any, None]) -> None:
    """Run shutdown to the end. uvicorn re-raises the Ctrl-C it caught once it has stopped,
    which cancels the main task in the middle of our cleanup; the cleanup keeps going."""
    task = asyncio.ensure_future(cleanup)
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            continue
    task.result()


def _logging(level: str, fmt: str = "text") -> None:
    from runtime.logs import configure

    configure(level, fmt)


@click.group()
def main() -> None:
    """Auto Video: one idea in, a narrated, captioned video out."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
@click.option(
    "--data-dir", default=None, type=click.Path(path_type=Path), help="Data folder (default ./data)."
)
@click.option(
    "--no-worker", is_flag=True, help="Run the API alone; workers run elsewhere (`autovideo worker`)."
)
def serve(host: str | None, port: int | None, data_dir: Path | None, no_worker: bool) -> None:
    """Run the API (GraphQL + GraphiQL at /graphql) and, unless --no-worker, an in-process worker."""
    import uvicorn

    from app import create_app
    from runtime.logs import uvicorn_log_config

    settings = _settings(host=host, port=port, data_dir=data_dir)
    if port is not None and "public_base_url" not in settings.model_fields_set:
        settings.public_base_url = f"http://{settings.host}:{settings.port}"
    _logging(settings.log_level, settings.log_format)

    async def run() -> None:
        from runtime.bootstrap import start_runtime

        runtime = await start_runtime(settings, run_worker=not no_worker)
        try:
            app = create_app(settings, runtime=runtime)
            # What startup made (modules, the schema) lives as long as the process: out of the
            # collector's way, a full collection no longer pauses the event loop for 100+ ms.
            gc.collect()
            gc.freeze()
            # A request makes thousands of short-lived objects (GraphQL results, rows): with the
            # default threshold (700) the young generation is collected every few requests.
            gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 50)
            config = uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                log_level=settings.log_level.lower(),
                # Our format and request id; the access log without query strings (signatures).
                log_config=uvicorn_log_config(settings.log_level),
                # X-Forwarded-* are honoured by the app, only from AUTOVIDEO_TRUSTED_PROXIES
                # (uvicorn's own default would trust any local process).
                proxy_headers=False,
                server_header=False,
                lifespan="on",
                ws_max_size=settings.max_ws_message_bytes,  # bigger websocket messages: closed, 1009
                # No permessage-deflate: every subscriber's copy of an event would be compressed
                # apart (CPU per subscriber per event) to save bytes on small messages.
                ws_per_message_deflate=False,
            )
            await uvicorn.Server(config).serve()
        finally:
            await _finish(runtime.stop())

    _run(run)


@main.command()
@click.option("--data-dir", default=None, type=click.Path(path_type=Path))
@click.option("--burst", is_flag=True, help="Drain the queue and exit.")
@click.option(
    "--metrics-port", default=None, type=int, help="Serve Prometheus metrics on this port at AUTOVIDEO_HOST."
)
def worker(data_dir: Path | None, burst: bool, metrics_port: int | None) -> None:
    """Run an ARQ worker only (scale out: start as many as you like, on any machine)."""
    from jobs.supervisor import SupervisedWorker
    from runtime.bootstrap import start_runtime

    settings = _settings(data_dir=data_dir)
    _logging(settings.log_level, settings.log_format)

    async def run() -> None:
        runtime = await start_runtime(settings, run_worker=False, migrate=None)
        try:
            # ARQ's own handlers: SIGTERM/SIGINT stop it cleanly (orchestrators send SIGTERM).
            # Supervised: a Redis outage pauses the worker instead of ending the process.
            w = SupervisedWorker(runtime.resources, handle_signals=True, burst=burst)
            from media import processes
            from runtime.bootstrap import PRODUCTION_MODULES

            runtime.warm_up = asyncio.create_task(processes.warm_up(PRODUCTION_MODULES))
            if metrics_port:
                from prometheus_client import start_http_server

                # After the runtime and the jobs are loaded, so the first scrape has every metric;
                # a daemon thread, since a worker has no HTTP app.
                start_http_server(metrics_port, addr=settings.host)
            try:
                await w.run()
            except asyncio.CancelledError:
                pass  # ARQ's signal handler cancels its main task: that is how it stops
            finally:
                await w.close()
        finally:
            await _finish(runtime.stop())

    _run(run)


@main.command()
@click.option("--data-dir", default=None, type=click.Path(path_type=Path))
@click.option("--check", is_flag=True, help="Only check that models and migrations agree.")
@click.option("--downgrade", default=None, help="Revision to downgrade to (e.g. base).")
def migrate(data_dir: Path | None, check: bool, downgrade: str | None) -> None:
    """Apply pending migrations (to the embedded database when none is configured)."""
    from runtime import migrate as m
    from runtime.resources import start_embedded

    settings = _settings(data_dir=data_dir)
    try:
        embedded = start_embedded(settings)
    except ConfigError as exc:
        _fail(exc)
    try:
        url = settings.database_url or (embedded.database_url if embedded else None)
        assert url
        if check:
            m.check(url)
            click.echo("models and migrations agree")
        elif downgrade:
            m.downgrade(url, downgrade)
            click.echo(f"downgraded to {downgrade}")
        else:
            m.upgrade(url)
            click.echo("database is at head")
    except Exception as exc:
        _fail(exc)
    finally:
        if embedded:
            embedded.stop()


@main.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--data-dir", default=None, type=click.Path(path_type=Path))
def create_admin(username: str, email: str, password: str, data_dir: Path | None) -> None:
    """Create the first SUPER_ADMIN user."""
    from runtime.bootstrap import start_runtime

    settings = _settings(data_dir=data_dir)

    async def run() -> str:
        from domain.accounts import create_super_admin
        from persistence.db import transaction

        runtime = await start_runtime(settings, run_worker=False, migrate=None)
        try:
            async with transaction(runtime.resources.sessionmaker) as session:
                user = await create_super_admin(session, username=username, email=email, password=password)
                return user.username
        finally:
            await runtime.stop()

    try:
        name = asyncio.run(run())
    except Exception as exc:
        _fail(getattr(exc, "message", exc))
    click.echo(f"created SUPER_ADMIN {name}")


@main.command()
def schema() -> None:
    """Print the GraphQL SDL."""
    from resolvers.root import schema as gql_schema

    click.echo(gql_schema.as_str())


if __name__ == "__main__":
    main()
