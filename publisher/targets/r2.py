"""The R2 target: an S3-compatible bucket through boto3, uploading only what changed.

- Client config: `request_checksum_calculation` / `response_checksum_validation` = "when_required"
  (boto3 ≥ 1.36 otherwise adds CRC32 headers / aws-chunked trailers that R2 has rejected); path-style
  addressing; region "auto"; single-part put_object with our own Content-MD5.
- Every PUT sets Content-Type and Cache-Control (hashed assets: a year, immutable; pages and feeds: 60 s).
- Order: hashed assets (assets/, charts/) first, then feeds and pages, the manifest last, so nothing ever
  references an object that is not there yet. A failure stops before the manifest: the previous release
  stays the one described, and the next run retries what is missing.
- The remote manifest (`_milkbot/manifest.json`) records each object's SHA-256 and when objects left the
  release; they are deleted only after `stale_grace_hours` (cached pages may still point at them).
- Idempotent: a run whose build matches the manifest sends no PUT at all (not even the manifest).
- Interrupted runs: before the first PUT, the paths about to be written go to `_milkbot/pending.json`. If the
  run dies, the next one re-uploads those of them its release uses whatever the manifest says (their content
  is uncertain: a page may hold the failed run's bytes) and retires the rest (new objects the manifest never
  listed are deleted after the grace period, not leaked). A completed run removes the pending list.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from publisher.config import PublisherConfig
from publisher.site import RELEASE_FILE, cache_control, content_type, is_hashed, read_release
from publisher.targets import SyncReport

MANIFEST_KEY = "_milkbot/manifest.json"
PENDING_KEY = "_milkbot/pending.json"
NOT_UPLOADED = ("_headers", RELEASE_FILE)   # Pages-only / local bookkeeping


class R2Error(RuntimeError):
    """The bucket could not be read or written; the previous release is left as it was."""


def make_client(config: PublisherConfig) -> Any:
    import boto3
    from botocore.config import Config

    if not (config.r2_endpoint_url and config.r2_bucket and config.r2_access_key_id and config.r2_secret_access_key):
        raise R2Error("r2 target needs r2_endpoint_url, r2_bucket, r2_access_key_id and r2_secret_access_key")
    return boto3.client(
        "s3", endpoint_url=config.r2_endpoint_url, region_name="auto",
        aws_access_key_id=config.r2_access_key_id.get_secret_value(),
        aws_secret_access_key=config.r2_secret_access_key.get_secret_value(),
        config=Config(request_checksum_calculation="when_required", response_checksum_validation="when_required",
                      s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"},
                      connect_timeout=10, read_timeout=30),
    )


def upload_order(path: str) -> tuple[int, str]:
    """Hashed assets first, then feeds, then pages (whose links need the rest)."""
    if is_hashed(path):
        return (0, path)
    return (1, path) if path.startswith("api/") else (2, path)


class R2Target:
    def __init__(self, config: PublisherConfig, client: Any | None = None) -> None:
        self.config = config
        self.client = client or make_client(config)
        self.bucket = config.r2_bucket
        self.prefix = config.r2_prefix

    def _key(self, path: str) -> str:
        return self.prefix + path

    def _read_json(self, path: str) -> dict | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(path))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise R2Error(f"cannot read {path}: {exc}") from None
        except BotoCoreError as exc:
            raise R2Error(f"cannot read {path}: {exc}") from None
        return json.loads(body)

    def read_manifest(self) -> dict:
        return self._read_json(MANIFEST_KEY) or {"files": {}, "retired": {}}

    def read_pending(self) -> set[str]:
        """Paths an interrupted run may have left half-published (see the module docstring)."""
        return set((self._read_json(PENDING_KEY) or {}).get("paths", []))

    def _put(self, path: str, data: bytes, cache: str | None = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(path), Body=data, ContentType=content_type(path),
                CacheControl=cache or cache_control(path),
                ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode("ascii"),
                Metadata={"sha256": hashlib.sha256(data).hexdigest()},
            )
        except (BotoCoreError, ClientError) as exc:
            raise R2Error(f"upload of {path} failed: {exc}") from None

    def sync(self, build_dir: Path, now: datetime) -> SyncReport:
        release = read_release(build_dir)
        local = {p: e for p, e in release["files"].items() if p not in NOT_UPLOADED}
        remote = self.read_manifest()
        pending = self.read_pending()
        report = SyncReport("r2", f"s3://{self.bucket}/{self.prefix}")
        changed = []
        for path in sorted(local, key=upload_order):
            same = remote["files"].get(path, {}).get("sha256") == local[path]["sha256"]
            (report.skipped if same and path not in pending else changed).append(path)
        if changed:  # recorded first, so a run that dies half-way leaves nothing untracked
            self._put_json(PENDING_KEY, {"paths": sorted({*pending, *changed})})
        for path in changed:
            self._put(path, (build_dir / path).read_bytes())
            report.uploaded.append(path)
        retired = self._retire(remote, local, now, orphans=pending)
        report.deleted = self._delete_expired(retired, now)
        manifest = {"published_at": release["published_at"], "as_of": release["as_of"],
                    "files": local, "retired": {p: t for p, t in retired.items() if p not in report.deleted}}
        if manifest != remote:
            self._put_json(MANIFEST_KEY, manifest)
        if pending or changed:
            self._delete_pending()
        return report

    def _put_json(self, path: str, value: dict) -> None:
        self._put(path, (json.dumps(value, indent=1, sort_keys=True) + "\n").encode(), cache="no-cache")

    def _delete_pending(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(PENDING_KEY))
        except (BotoCoreError, ClientError):
            pass  # harmless: the next run just re-sends those paths once more, then removes the list

    @staticmethod
    def _retire(remote: dict, local: dict, now: datetime, orphans: set[str] = frozenset()) -> dict[str, str]:
        """Objects not in this release, with the time they left it (kept from earlier runs)."""
        retired = {p: t for p, t in remote.get("retired", {}).items() if p not in local}
        for path in [*remote["files"], *sorted(orphans)]:
            if path not in local:
                retired.setdefault(path, now.isoformat())
        return retired

    def _delete_expired(self, retired: dict[str, str], now: datetime) -> list[str]:
        grace = timedelta(hours=self.config.stale_grace_hours)
        expired = sorted(p for p, t in retired.items() if datetime.fromisoformat(t) + grace <= now)
        for start in range(0, len(expired), 1000):
            batch = expired[start:start + 1000]
            try:
                self.client.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": self._key(p)} for p in batch], "Quiet": True})
            except Exception as exc:  # noqa: BLE001 - retried on the next run, the manifest keeps them retired
                raise R2Error(f"delete failed: {exc}") from None
        return expired
