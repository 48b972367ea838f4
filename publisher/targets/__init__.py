"""Where a built site goes: a local folder, an R2 bucket (S3 API), or Cloudflare Pages (wrangler)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SyncReport:
    """What a target did with one built release."""

    target: str
    location: str
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.target} {self.location}: uploaded {len(self.uploaded)}, skipped {len(self.skipped)}, "
                f"deleted {len(self.deleted)}")
