"""Bad configuration fails fast with one clear line naming the setting."""

import os
import subprocess
import sys

import pytest

from runtime.settings import ConfigError, load_settings
from tests.live import ROOT


def run_cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_malformed_redis_url_names_the_setting():
    with pytest.raises(ConfigError, match="AUTOVIDEO_REDIS_URL"):
        load_settings(redis_url="http://nope", _env_file=None)


def test_production_refuses_missing_or_weak_secret():
    with pytest.raises(ConfigError, match="AUTOVIDEO_SECRET_KEY"):
        load_settings(environment="production", secret_key="short", encryption_key="k", _env_file=None)
    with pytest.raises(ConfigError, match="AUTOVIDEO_ENCRYPTION_KEY"):
        load_settings(environment="production", secret_key="s" * 40, _env_file=None)


def test_unreachable_database_fails_fast_with_one_line(tmp_path, services):
    env = {
        "AUTOVIDEO_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "AUTOVIDEO_REDIS_URL": services[1],
        "AUTOVIDEO_DATA_DIR": str(tmp_path),
    }
    out = run_cli("serve", "--port", "1", env=env)
    assert out.returncode != 0
    assert "AUTOVIDEO_DATABASE_URL: cannot connect to PostgreSQL" in out.stderr
    assert "Traceback" not in out.stderr


def test_malformed_redis_url_fails_cli_without_traceback(tmp_path):
    out = run_cli(
        "migrate", env={"AUTOVIDEO_REDIS_URL": "localhost:6379", "AUTOVIDEO_DATA_DIR": str(tmp_path)}
    )
    assert out.returncode != 0
    assert "AUTOVIDEO_REDIS_URL" in out.stderr and "Traceback" not in out.stderr


def test_unwritable_data_dir_names_the_setting(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = run_cli("migrate", env={"AUTOVIDEO_DATA_DIR": str(blocker / "data")})
    assert out.returncode != 0
    assert "AUTOVIDEO_DATA_DIR" in out.stderr and "not writable" in out.stderr
    assert "Traceback" not in out.stderr
