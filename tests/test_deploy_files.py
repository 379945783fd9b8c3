"""The Dockerfile, compose.yaml and Prometheus's configuration, checked where no container engine
runs: each parses, has the shape the README promises, and names only commands, settings,
services and ports that exist. The image's health check is run against a real server."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from app.cli import build_parser
from app.kit.config import Settings
from tests.live import free_port, live_server

ROOT = Path(__file__).resolve().parents[1]
_INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?:(:\?|:-)([^}]*))?\}")


def dockerfile() -> list[dict[str, str]]:
    return [i for i in DockerfileParser(str(ROOT / "Dockerfile")).structure
            if i["instruction"] != "COMMENT"]


def stages() -> list[list[dict[str, str]]]:
    parts: list[list[dict[str, str]]] = []
    for instruction in dockerfile():
        if instruction["instruction"] == "FROM":
            parts.append([])
        parts[-1].append(instruction)
    return parts


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}, for the checks below."""
    def one(match: re.Match[str]) -> str:
        name, how, arg = match.groups()
        if env.get(name):
            return env[name]
        if how == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg or ""

    return _INTERPOLATION.sub(one, value)


# -- Dockerfile ---------------------------------------------------------------------------------

def test_dockerfile_passes_the_linter():
    linter = Path(sys.executable).parent / "hadolint"
    done = subprocess.run([str(linter), "--no-color", str(ROOT / "Dockerfile")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_builds_in_one_stage_and_runs_from_another_without_root():
    build, runtime = stages()
    assert build[0]["value"].endswith(" AS build") and runtime[0]["value"].endswith(" AS runtime")
    assert any("pip wheel" in i["value"] for i in build if i["instruction"] == "RUN")
    # The runtime takes the built environment, never the sources or the build tools.
    copies = [i["value"] for i in runtime if i["instruction"] == "COPY"]
    assert "--from=build /opt/venv /opt/venv" in copies
    assert not any(c.split()[0] in ("app", ".") for c in copies)
    users = [i["value"] for i in runtime if i["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    user_made = " ".join(i["value"] for i in runtime if i["instruction"] == "RUN")
    assert f"--uid {users[-1].split(':')[0]}" in user_made
    cmd = json.loads(next(i["value"] for i in runtime if i["instruction"] == "CMD"))
    assert cmd[0] == "textline" and build_parser().parse_args(cmd[1:]).command == "serve"


def test_dockerfile_copies_only_what_exists_and_the_context_keeps():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for instruction in dockerfile():
        if instruction["instruction"] == "COPY" and "--from=" not in instruction["value"]:
            *sources, _dest = instruction["value"].split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source not in ignored, f"{source} is left out of the build context"


def _healthcheck() -> list[str]:
    value = next(i["value"] for i in dockerfile() if i["instruction"] == "HEALTHCHECK")
    return json.loads(value[value.index("CMD") + 3:].strip())


def test_healthcheck_asks_readyz_with_python_alone():
    check = _healthcheck()
    assert check[:2] == ["python", "-c"] and "curl" not in " ".join(check)
    assert "http://127.0.0.1:8000/readyz" in check[2]


def test_healthcheck_passes_on_a_ready_server_and_fails_without_one(app):
    """The image's own command, run here against a real server (and against nothing)."""
    script = _healthcheck()[2]
    with live_server(app) as base:
        ready = subprocess.run([sys.executable, "-c",
                                script.replace("http://127.0.0.1:8000", base)],
                               capture_output=True, timeout=30)
    assert ready.returncode == 0, ready.stderr
    nobody = subprocess.run([sys.executable, "-c", script.replace(
        "127.0.0.1:8000", f"127.0.0.1:{free_port()}")], capture_output=True, timeout=30)
    assert nobody.returncode != 0


# -- compose.yaml -------------------------------------------------------------------------------

def test_compose_has_the_production_shape():
    services = compose()["services"]
    assert set(services) == {"db", "textline", "worker", "prometheus"}
    assert services["db"]["image"] == "postgres:16"
    serve = build_parser().parse_args(services["textline"]["command"][1:])
    assert (serve.command, serve.workers, serve.no_worker, serve.port) == ("serve", 2, True, 8000)
    # The web workers read nothing and send nothing: the worker does, once.
    assert build_parser().parse_args(services["worker"]["command"][1:]).command == "worker"
    assert services["textline"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"]["textline"]["condition"] == "service_healthy"
    assert services["worker"]["healthcheck"] == {"disable": True}  # it serves no /readyz
    assert services["textline"]["environment"] == services["worker"]["environment"]


def test_compose_environment_makes_valid_settings_and_refuses_without_the_secrets():
    env = {"POSTGRES_PASSWORD": "pgpass0123", "TEXTLINE_PUBLIC_URL": "https://t.example.org",
           "TEXTLINE_TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
           "TEXTLINE_TWILIO_AUTH_TOKEN": "an-auth-token-0123456789",
           "TEXTLINE_TWILIO_FROM": "61016", "TEXTLINE_SECRET_KEY": "a-secret-key-0123456789",
           "TEXTLINE_METRICS_TOKEN": "a-metrics-token-0123456789"}
    given = compose()["services"]["textline"]["environment"]
    values = {name.removeprefix("TEXTLINE_").lower(): interpolate(str(v), env)
              for name, v in given.items()}
    settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]
    assert settings.database_url == "postgresql+psycopg://textline:pgpass0123@db:5432/textline"
    assert settings.provider == "twilio" and settings.signatures_required
    assert settings.metrics_token is not None and settings.secret_key is not None
    for needed in ("TEXTLINE_PUBLIC_URL", "TEXTLINE_TWILIO_AUTH_TOKEN", "TEXTLINE_SECRET_KEY",
                   "TEXTLINE_METRICS_TOKEN", "POSTGRES_PASSWORD"):
        without = {k: v for k, v in env.items() if k != needed}
        with pytest.raises(KeyError, match=needed):
            for v in given.values():
                interpolate(str(v), without)


def test_prometheus_scrapes_both_with_the_token_and_loads_the_alert_rules():
    services = compose()["services"]
    prometheus = services["prometheus"]
    mount = next(v for v in prometheus["volumes"] if v.endswith(":/etc/prometheus:ro"))
    folder = ROOT / mount.split(":")[0]
    config = yaml.safe_load((folder / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]  # beside it: docs/monitoring.md's rules
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {t for job in jobs.values() for c in job["static_configs"] for t in c["targets"]}
    assert targets == {"textline:8000", "worker:9108"}
    assert {t.split(":")[0] for t in targets} <= set(services)
    secret = compose()["secrets"]["metrics_token"]
    assert secret == {"environment": "TEXTLINE_METRICS_TOKEN"}
    assert "metrics_token" in prometheus["secrets"]
    for job in jobs.values():
        assert job["authorization"]["credentials_file"] == "/run/secrets/metrics_token"


def test_readme_tells_how_to_start_it_and_what_to_set():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Production with Docker Compose\n", 1)[1].split("\n## ", 1)[0]
    assert "docker compose up" in section
    required = {m.group(1) for m in _INTERPOLATION.finditer((ROOT / "compose.yaml").read_text())
                if m.group(2) == ":?"}
    assert required and all(name in section for name in required), required
    commands = re.findall(r"docker compose exec \w+ textline ([^#\n]+)", section)
    assert commands
    for command in commands:  # each command the section shows is one the CLI takes
        build_parser().parse_args(shlex.split(command))
