"""The Pages target against the real, pinned wrangler — never against Cloudflare.

Runs only where node/npm exist and `unshare -rn` can put wrangler in a network namespace with nothing but
loopback: wrangler is installed with `npm install --offline` (from the npm cache; prime it once with
`npm install --prefix /tmp/w wrangler@<WRANGLER_VERSION>`) or taken from MILKBOT_WRANGLER, and every wrangler
process runs inside the namespace, so nothing can reach the internet whatever wrangler tries.

- the command line `deploy_command` builds is accepted by that wrangler's `pages deploy`;
- `wrangler pages dev` serves a real build with Cloudflare's own `_headers` engine: the strict CSP and
  security headers on pages, the chart policy on SVGs, immutable caching on hashed files, CORS on feeds;
- a deploy with no reachable Cloudflare fails as a one-line PagesError that does not echo the token.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from publisher.config import PublisherConfig
from publisher.headers import CHART_CSP, CSP
from publisher.targets.pages import WRANGLER_VERSION, PagesError, deploy, deploy_command

COMPATIBILITY_DATE = "2026-05-01"   # fixed: newer than the pinned workerd supports fails to start


def _isolation_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False).returncode == 0


pytestmark = [
    pytest.mark.slow,   # ~1 min: npm offline install plus three wrangler start-ups
    pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="needs node and npm"),
    pytest.mark.skipif(not _isolation_works(), reason="needs `unshare -rn` to keep wrangler off the network"),
]


@pytest.fixture(scope="module")
def wrangler(tmp_path_factory) -> Path:
    given = os.environ.get("MILKBOT_WRANGLER")
    if given:
        return Path(given)
    prefix = tmp_path_factory.mktemp("wrangler")
    done = subprocess.run(
        ["unshare", "-rn", "npm", "install", "--offline", "--prefix", str(prefix), "--no-audit", "--no-fund",
         "--ignore-scripts", f"wrangler@{WRANGLER_VERSION}"], capture_output=True, text=True, timeout=240,
        check=False)
    if done.returncode != 0:
        pytest.skip(f"wrangler@{WRANGLER_VERSION} is not in the npm cache (prime it once with "
                    f"`npm install --prefix /tmp/w wrangler@{WRANGLER_VERSION}`, or set MILKBOT_WRANGLER)")
    return prefix / "node_modules" / ".bin" / "wrangler"


def _isolated_env(tmp: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "config"),
            "WRANGLER_SEND_METRICS": "false", "NO_COLOR": "1"}


def test_the_pinned_wrangler_accepts_our_deploy_command_line(wrangler, tmp_path):
    env = _isolated_env(tmp_path)
    version = subprocess.run(["unshare", "-rn", str(wrangler), "--version"], env=env, capture_output=True,
                             text=True, timeout=60, check=True)
    assert WRANGLER_VERSION in version.stdout
    config = PublisherConfig(target="pages", pages_project="milkbot", wrangler_command=str(wrangler))
    command = deploy_command(config, tmp_path / "site")
    assert command[1:4] == ["pages", "deploy", str(tmp_path / "site")]
    usage = subprocess.run(["unshare", "-rn", str(wrangler), "pages", "deploy", "--help"], env=env,
                           capture_output=True, text=True, timeout=60, check=True).stdout
    for flag in command[4:]:
        assert f"{flag.split('=')[0]} " in usage, f"{flag} is not a `pages deploy` option of this wrangler"


def test_a_deploy_that_cannot_reach_cloudflare_fails_cleanly(wrangler, tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>x</title>")
    monkeypatch.setenv("HOME", str(tmp_path))
    token = "cf-token-CANARY-d41d8cd9"
    config = PublisherConfig(target="pages", pages_project="milkbot", cloudflare_account_id="0" * 32,
                             cloudflare_api_token=SecretStr(token),
                             wrangler_command=f"unshare -rn {wrangler}")
    with pytest.raises(PagesError) as caught:
        deploy(config, site, timeout_s=120)
    message = str(caught.value)
    assert message.startswith("wrangler exited ") and "\n" not in message and "\x1b" not in message
    assert token not in message


_PROBE = r"""
import json, subprocess, sys, time, urllib.request
wrangler, site, port, compat, paths = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
subprocess.run(["ip", "link", "set", "lo", "up"], check=False)
log = open("wrangler-dev.log", "w")
proc = subprocess.Popen([wrangler, "pages", "dev", site, "--ip", "127.0.0.1", "--port", port,
                         "--compatibility-date", compat, "--show-interactive-dev-session=false"],
                        stdout=log, stderr=subprocess.STDOUT)
out = {}
try:
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            break
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("wrangler pages dev did not come up")
            time.sleep(0.3)
    for path in paths:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=10) as r:
            out[path] = {k.lower(): v for k, v in r.headers.items()}
finally:
    proc.terminate()
    proc.wait(timeout=20)
print(json.dumps(out))
"""


def test_wrangler_pages_dev_serves_the_build_with_our_headers(wrangler, tmp_path, duckdb_db, publish_at):
    from publisher_ledger_kit import LedgerKit, seed_history

    from publisher.build import build_site

    seed_history(LedgerKit(duckdb_db, secret="pages"), publish_at, random.Random(15))
    site = tmp_path / "site"
    build_site(duckdb_db, PublisherConfig(), publish_at, site)
    (site / "release.json").unlink()   # the Pages target does the same before deploying
    css = next((site / "assets").glob("site.*.css")).relative_to(site).as_posix()
    chart = next((site / "charts").glob("equity-30d.*.svg")).relative_to(site).as_posix()
    paths = ["", "cities/nyc.html", css, chart, "api/v1/hero.json"]
    done = subprocess.run(
        ["unshare", "-rn", sys.executable, "-c", _PROBE, str(wrangler), str(site), "8799", COMPATIBILITY_DATE,
         *paths], cwd=tmp_path, env=_isolated_env(tmp_path), capture_output=True, text=True, timeout=180,
        check=False)
    log = (tmp_path / "wrangler-dev.log").read_text(errors="replace") if (tmp_path / "wrangler-dev.log").exists() else ""
    assert done.returncode == 0, done.stderr[-1500:] + log[-1500:]
    assert "valid header rules" in log and "invalid" not in log.lower(), log[-1500:]
    seen = json.loads(done.stdout.splitlines()[-1])

    for page in ("", "cities/nyc.html"):
        headers = seen[page]
        assert headers["content-security-policy"] == CSP
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert headers["strict-transport-security"].startswith("max-age=31536000")
        assert headers["content-type"].startswith("text/html")
    assert seen[chart]["content-security-policy"] == CHART_CSP          # detached and replaced, not merged
    assert seen[chart]["cache-control"] == "public, max-age=31536000, immutable"
    assert seen[css]["cache-control"] == "public, max-age=31536000, immutable"
    assert seen["api/v1/hero.json"]["access-control-allow-origin"] == "*"
    assert seen["api/v1/hero.json"]["cache-control"] == "public, max-age=60, must-revalidate"
