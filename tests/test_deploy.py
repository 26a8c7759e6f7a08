"""deploy/: the systemd units (checked by systemd-analyze verify) and the Docker Compose file, read against
the roles and the settings they give VVTV."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vvtv.config import load_settings
from vvtv.roles import ROLES
from vvtv.storage.db import engine_url

DEPLOY = Path(__file__).parent.parent / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
VVTV = "/opt/vvtv/.venv/bin/vvtv"
# What a multi-machine deployment must run somewhere.
NEEDED_ROLES = {"programmer", "broadcaster", "origin", "factory", "curator"}


def roles_of(command: list[str]) -> list[str]:
    assert command[:2] == ["up", "--roles"] and len(command) == 3, command
    roles = command[2].split(",")
    assert set(roles) <= set(ROLES), f"unknown roles in {command}"
    return roles


def read_unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=True, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # directive names are case-sensitive
    unit.read_string(path.read_text())
    return unit


@pytest.mark.parametrize("path", UNITS, ids=[p.name for p in UNITS])
def test_a_unit_restarts_is_limited_and_hardened(path: Path) -> None:
    unit = read_unit(path)
    service = unit["Service"]
    assert service["ExecStart"].startswith(VVTV + " up --roles ")
    roles_of(service["ExecStart"].removeprefix(VVTV + " ").split())
    assert service["Restart"] == "always" and float(service["RestartSec"]) > 0
    for limit in ("MemoryMax", "TasksMax", "LimitNOFILE"):
        assert service.get(limit), f"{path.name}: no {limit}"
    assert service["User"] == "vvtv", "never as root"
    for setting, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                           "PrivateTmp": "yes", "CapabilityBoundingSet": ""}.items():  # fmt: skip
        assert service.get(setting) == value, f"{path.name}: {setting}"
    assert service["ReadWritePaths"] == service["WorkingDirectory"] == "/var/lib/vvtv"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize("path", UNITS, ids=[p.name for p in UNITS])
def test_systemd_accepts_the_unit(path: Path, tmp_path: Path) -> None:
    # verify wants the program to exist: point it at this checkout's vvtv; everything else as shipped.
    copy = tmp_path / path.name
    copy.write_text(path.read_text().replace(VVTV, str(Path(sys.executable).parent / "vvtv")))
    result = subprocess.run([shutil.which("systemd-analyze") or "systemd-analyze", "verify", str(copy)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    complaints = [line for line in result.stderr.splitlines() if str(copy) in line]
    assert result.returncode == 0 and not complaints, result.stderr


def test_the_units_together_run_every_role() -> None:
    roles = [r for path in UNITS for r in roles_of(read_unit(path)["Service"]["ExecStart"].split()[1:])]
    assert NEEDED_ROLES <= set(roles) and len(roles) == len(set(roles)), roles


def test_the_compose_file_is_whole_and_its_settings_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "minio", "nginx", "prometheus", "grafana"} <= set(services)
    for name, service in services.items():
        for dependency in service.get("depends_on", []):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        network = service.get("network_mode", "")
        if network.startswith("service:"):
            assert network.removeprefix("service:") in services, name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
        build = service.get("build")
        if build:
            assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
    vvtv = {name: s for name, s in services.items() if s.get("build")}
    roles = [r for s in vvtv.values() for r in roles_of(s["command"])]
    assert NEEDED_ROLES <= set(roles) and len(roles) == len(set(roles)), roles
    for name, service in vvtv.items():
        with monkeypatch.context() as patch:
            for key, value in service["environment"].items():
                patch.setenv(key, str(value))
            settings = load_settings(["data_dir=/var/lib/vvtv"])
        assert engine_url(settings.database_url) == "postgresql+psycopg://vvtv:vvtv@postgres:5432/vvtv"
        assert settings.storage.media_url == "s3://vvtv/media", name
        minio = services["minio"]["environment"]
        assert service["environment"]["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"], name
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "vvtv"
    published = {port.split(":")[0] for s in services.values() for port in s.get("ports", [])}
    assert {"8081", "9000", "3000"} <= published
