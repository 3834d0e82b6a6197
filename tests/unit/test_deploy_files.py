"""The Dockerfile, compose file and nginx configuration, checked without a Docker engine."""

import re
import subprocess
import sys
from pathlib import Path

from dockerfile_parse import DockerfileParser

from config.settings import PROJECT_ROOT

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def test_the_image_runs_the_server_as_a_non_root_user_from_files_that_exist():
    parser = DockerfileParser(str(PROJECT_ROOT / "Dockerfile"))
    steps = parser.structure
    assert parser.baseimage.startswith("python:3.11")
    users = [s["value"] for s in steps if s["instruction"] == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert [s["value"] for s in steps if s["instruction"] == "CMD"] == ['["python", "run.py"]']
    for step in steps:
        if step["instruction"] == "COPY" and "--from=" not in step["value"]:
            *sources, _ = step["value"].split()
            for source in sources:
                assert (PROJECT_ROOT / source).exists(), source
    required = {line.split("==")[0].lower() for line in
                (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line}
    assert "aiohttp" in required  # the image installs requirements.txt, not the dev tools


def compose_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec",
                           str(path)], capture_output=True, text=True, timeout=60, check=False)


def test_the_compose_file_follows_the_compose_specification(tmp_path):
    result = compose_check(PROJECT_ROOT / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "compose.yaml"
    broken.write_text((PROJECT_ROOT / "compose.yaml").read_text().replace(
        "restart: unless-stopped", "restart: [sometimes]", 1))
    assert compose_check(broken).returncode != 0  # the check can fail


def test_nginx_balances_over_the_compose_servers_and_passes_websockets():
    compose = (PROJECT_ROOT / "compose.yaml").read_text()
    nginx = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
    upstreams = re.findall(r"^\s*server (\w+):8000;", nginx, re.MULTILINE)
    assert upstreams == ["server1", "server2"]
    for name in upstreams:
        assert re.search(rf"^  {name}:$", compose, re.MULTILINE), name
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in compose
