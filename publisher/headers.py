"""The `_headers` file for Cloudflare Pages: a strict Content-Security-Policy and security headers, long
caching for content-hashed files. Charts are SVG images with inline style attributes, so they get their own
(still script-free) policy."""

from __future__ import annotations

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "geolocation=(), camera=(), microphone=(), interest-cohort=()",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def headers_file() -> str:
    lines = ["/*", f"  Content-Security-Policy: {CSP}"]
    lines += [f"  {name}: {value}" for name, value in SECURITY.items()]
    lines += ["", "/assets/*", "  Cache-Control: public, max-age=31536000, immutable",
              "", "/charts/*", "  ! Content-Security-Policy", f"  Content-Security-Policy: {CHART_CSP}",
              "  Cache-Control: public, max-age=31536000, immutable",
              "", "/api/*", "  Access-Control-Allow-Origin: *", "  Cache-Control: public, max-age=60, must-revalidate",
              "", "https://:project.pages.dev/*", "  X-Robots-Tag: noindex", ""]
    return "\n".join(lines)


def parse_headers(text: str) -> list[tuple[str, dict[str, str], set[str]]]:
    """(pattern, headers, detached) blocks — used by tests and the local preview server."""
    blocks: list[tuple[str, dict[str, str], set[str]]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith((" ", "\t")):
            blocks.append((line.strip(), {}, set()))
        elif line.strip().startswith("!"):
            blocks[-1][2].add(line.strip()[1:].strip())
        else:
            name, _, value = line.strip().partition(":")
            blocks[-1][1][name.strip()] = value.strip()
    return blocks
