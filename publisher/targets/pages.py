"""The Cloudflare Pages target: `wrangler pages deploy` of the built folder (atomic per deployment).

Only the Cloudflare token and account id are passed to wrangler; the environment it runs in is otherwise
minimal (PATH, HOME), so no other secret can leak into a deploy log.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from publisher.config import PublisherConfig
from publisher.site import RELEASE_FILE
from publisher.targets import SyncReport

WRANGLER_VERSION = "4.86.0"   # pinned: `npm install --prefix <dir> wrangler@4.86.0` (runs on Node 20)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class PagesError(RuntimeError):
    """wrangler is missing or the deployment failed; the previous deployment stays live."""


def deploy_command(config: PublisherConfig, build_dir: Path) -> list[str]:
    if not config.pages_project:
        raise PagesError("pages target needs pages_project")
    command = shlex.split(config.wrangler_command)
    if shutil.which(command[0]) is None:
        raise PagesError(f"{command[0]!r} not found: install wrangler (npm install wrangler@{WRANGLER_VERSION})")
    return [*command, "pages", "deploy", str(build_dir), f"--project-name={config.pages_project}",
            f"--branch={config.pages_branch}", "--commit-dirty=true"]


def deploy_env(config: PublisherConfig) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env["WRANGLER_SEND_METRICS"] = "false"
    if config.cloudflare_api_token is not None:
        env["CLOUDFLARE_API_TOKEN"] = config.cloudflare_api_token.get_secret_value()
    if config.cloudflare_account_id:
        env["CLOUDFLARE_ACCOUNT_ID"] = config.cloudflare_account_id
    return env


def deploy(config: PublisherConfig, build_dir: Path, timeout_s: float = 600) -> SyncReport:
    (build_dir / RELEASE_FILE).unlink(missing_ok=True)  # bookkeeping, not part of the site
    command = deploy_command(config, build_dir)
    try:
        done = subprocess.run(command, env=deploy_env(config), capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PagesError(f"wrangler failed to run: {type(exc).__name__}") from None
    if done.returncode != 0:
        raise PagesError(f"wrangler exited {done.returncode}: {_last_error(done.stderr)}")
    files = sorted(str(p.relative_to(build_dir)) for p in build_dir.rglob("*") if p.is_file())
    return SyncReport("pages", config.pages_project, uploaded=files)


def _last_error(stderr: str) -> str:
    """wrangler's own error lines, without colour codes or banners, as one short line."""
    lines = [line.strip() for line in _ANSI.sub("", stderr).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("✘", "Error", "[ERROR]"))] or lines[-3:]
    return " | ".join(errors)[-500:]
