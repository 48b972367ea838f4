"""The R2 target against a real S3-compatible server on loopback (SeaweedFS), through the production
boto3 client configuration: content types, cache headers, changed-only uploads, order, manifest, grace."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import publisher_seaweed as seaweed
import pytest
from pydantic import SecretStr

from publisher.config import PublisherConfig
from publisher.publish import publish
from publisher.targets.r2 import MANIFEST_KEY, R2Target, make_client

BUCKET = "milkbot-site"


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    server = seaweed.start(tmp_path_factory.mktemp("seaweed"))
    try:
        config = r2_config(server.endpoint)
        seaweed.wait_ready(make_client(config), BUCKET, server)
        yield server
    finally:
        server.stop()


def r2_config(endpoint: str, prefix: str = "") -> PublisherConfig:
    return PublisherConfig(target="r2", r2_bucket=BUCKET, r2_endpoint_url=endpoint, r2_prefix=prefix,
                           r2_access_key_id=SecretStr(seaweed.ACCESS_KEY),
                           r2_secret_access_key=SecretStr(seaweed.SECRET_KEY), stale_grace_hours=24,
                           min_calibration_trades=5)


def test_r2_uploads_changed_files_only(s3_server, duckdb_db, publish_at):
    from publisher_ledger_kit import LedgerKit, seed_history

    config = r2_config(s3_server.endpoint, prefix=f"run{random.randrange(10**9)}")
    kit = LedgerKit(duckdb_db, secret="r2")
    seed_history(kit, publish_at, random.Random(11))
    client = make_client(config)

    first = publish(duckdb_db, config, publish_at).sync
    assert first.uploaded and not first.skipped and not first.deleted
    # order: hashed assets first, then feeds, then pages
    kinds = ["asset" if p.startswith(("assets/", "charts/")) else "feed" if p.startswith("api/") else "page"
             for p in first.uploaded]
    assert kinds == sorted(kinds, key=["asset", "feed", "page"].index)
    assert "_headers" not in first.uploaded and "release.json" not in first.uploaded

    head = client.head_object(Bucket=BUCKET, Key=config.r2_prefix + "index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert head["CacheControl"] == "public, max-age=60, must-revalidate"
    css = next(p for p in first.uploaded if p.endswith(".css"))
    head = client.head_object(Bucket=BUCKET, Key=config.r2_prefix + css)
    assert head["ContentType"].startswith("text/css") and "immutable" in head["CacheControl"]
    head = client.head_object(Bucket=BUCKET, Key=config.r2_prefix + "api/v1/hero.json")
    assert head["ContentType"] == "application/json"
    body = client.get_object(Bucket=BUCKET, Key=config.r2_prefix + "api/v1/hero.json")["Body"].read()
    assert json.loads(body)["as_of"] == "2026-01-15T11:00:00Z"
    manifest = json.loads(client.get_object(Bucket=BUCKET, Key=config.r2_prefix + MANIFEST_KEY)["Body"].read())
    assert set(manifest["files"]) == set(first.uploaded)

    # the same publish again: nothing to upload
    again = publish(duckdb_db, config, publish_at).sync
    assert again.uploaded == [] and len(again.skipped) == len(first.uploaded)

    # five minutes later with a new public trade: only the live files change, history pages do not
    ticker = kit.trade(publish_at - timedelta(minutes=62), "NYC", publish_at.date(), 47,
                       received_at=publish_at - timedelta(minutes=61))
    kit.settle(ticker, "yes", publish_at - timedelta(minutes=58), received_at=publish_at - timedelta(minutes=57))
    later = publish(duckdb_db, config, publish_at + timedelta(minutes=5)).sync
    assert later.uploaded and len(later.uploaded) < 40
    assert all(not p.startswith("assets/") for p in later.uploaded)
    assert not any(p.startswith("api/v1/schemas/") for p in later.uploaded)

    # retired objects stay through the grace period, then go
    chart = next(p for p in first.uploaded if p.startswith("charts/equity-30d"))
    manifest = json.loads(client.get_object(Bucket=BUCKET, Key=config.r2_prefix + MANIFEST_KEY)["Body"].read())
    assert chart in manifest["retired"]
    client.head_object(Bucket=BUCKET, Key=config.r2_prefix + chart)
    much_later = publish(duckdb_db, config, publish_at + timedelta(hours=30)).sync
    assert chart in much_later.deleted
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        client.head_object(Bucket=BUCKET, Key=config.r2_prefix + chart)


def test_r2_client_sends_no_streaming_checksum_headers_to_an_https_endpoint():
    """Over https boto3 ≥ 1.36 would add CRC32 / aws-chunked trailers R2 rejects; the config must stop it."""
    from botocore.awsrequest import AWSResponse

    config = r2_config("https://0123456789abcdef.r2.cloudflarestorage.com")
    client = make_client(config)
    seen: list[dict] = []

    class _Raw:
        def stream(self, **_):
            yield b""

    def capture(request, **_):
        seen.append(dict(request.headers))
        return AWSResponse(request.url, 200, {"ETag": '"x"'}, _Raw())

    def headers_of(a_client) -> dict[str, str]:
        seen.clear()
        a_client.meta.events.register_first("before-send.s3.PutObject", capture)
        R2Target(config, a_client)._put("index.html", b"<!doctype html>")
        return {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in seen[0].items()}

    headers = headers_of(client)
    assert not any(k.startswith("x-amz-checksum") for k in headers)
    assert "x-amz-trailer" not in headers and "aws-chunked" not in headers.get("content-encoding", "")
    assert headers["content-type"] == "text/html; charset=utf-8" and "content-md5" in headers
    assert headers["cache-control"] == "public, max-age=60, must-revalidate"
    # control: boto3's default configuration does add a checksum, so this test can tell the difference
    import boto3

    default = boto3.client("s3", endpoint_url=config.r2_endpoint_url, region_name="auto",
                           aws_access_key_id="k", aws_secret_access_key="s")
    assert any(k.startswith(("x-amz-checksum", "x-amz-trailer", "x-amz-sdk-checksum")) for k in headers_of(default))


def test_a_failed_upload_keeps_the_previous_manifest_and_the_next_run_completes(s3_server, duckdb_db, publish_at,
                                                                                tmp_path):
    from botocore.exceptions import EndpointConnectionError
    from publisher_ledger_kit import LedgerKit, seed_history

    from publisher.build import build_site
    from publisher.targets.r2 import R2Error

    config = r2_config(s3_server.endpoint, prefix=f"fail{random.randrange(10**9)}")
    seed_history(LedgerKit(duckdb_db, secret="r2f"), publish_at, random.Random(12))
    build_site(duckdb_db, config, publish_at, tmp_path / "a")
    client = make_client(config)
    R2Target(config, client).sync(tmp_path / "a", publish_at)
    manifest_key = config.r2_prefix + MANIFEST_KEY
    first_manifest = client.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read()

    build_site(duckdb_db, config, publish_at + timedelta(minutes=30), tmp_path / "b")
    calls = []

    def outage_from_the_third_put(request, **_):  # every retry fails too
        calls.append(request.url)
        if len(calls) >= 3:
            raise EndpointConnectionError(endpoint_url=request.url)

    flaky = make_client(config)
    flaky.meta.events.register_first("before-send.s3.PutObject", outage_from_the_third_put)
    with pytest.raises(R2Error):
        R2Target(config, flaky).sync(tmp_path / "b", publish_at + timedelta(minutes=30))
    assert client.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read() == first_manifest
    # the next run finishes the job and the manifest then describes release b
    report = R2Target(config, client).sync(tmp_path / "b", publish_at + timedelta(minutes=30))
    assert report.uploaded
    manifest = json.loads(client.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read())
    assert manifest["as_of"] == "2026-01-15T11:30:00Z"


# -- release safety: no-op runs, interrupted runs, orphans, the grace period ------------------------------------
def _wire_log(client) -> list[str]:
    """Every S3 operation the client sends, in order (e.g. 'PutObject index.html')."""
    sent: list[str] = []

    def record(request, **_):
        sent.append(f"{request.method} {request.url.rsplit('/', 1)[-1]}")

    client.meta.events.register_first("before-send.s3.*", record)
    return sent


def _objects(client, prefix: str) -> dict[str, bytes]:
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return {k[len(prefix):]: client.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in keys}


def _broken_links(objects: dict[str, bytes]) -> list[str]:
    """Every href/src of every page in the bucket must name an object that is there."""
    import posixpath
    import re

    broken = []
    for page, body in objects.items():
        if not page.endswith(".html"):
            continue
        for link in re.findall(r'(?:href|src)="([^"#?]+)', body.decode()):
            if link.startswith(("http:", "https:", "mailto:")):
                continue
            target = link.lstrip("/") if link.startswith("/") else posixpath.normpath(
                posixpath.join(posixpath.dirname(page), link))
            if target not in objects:
                broken.append(f"{page} -> {link}")
    return broken


def test_a_second_publish_with_no_new_data_sends_no_write_at_all(s3_server, duckdb_db, publish_at, tmp_path):
    from publisher_ledger_kit import LedgerKit, seed_history

    from publisher.build import build_site

    config = r2_config(s3_server.endpoint, prefix=f"noop{random.randrange(10**9)}")
    seed_history(LedgerKit(duckdb_db, secret="noop"), publish_at, random.Random(13))
    build_site(duckdb_db, config, publish_at, tmp_path / "a")
    R2Target(config, make_client(config)).sync(tmp_path / "a", publish_at)
    # a separate process would rebuild from scratch and start with a new client: only the manifest tells
    build_site(duckdb_db, config, publish_at, tmp_path / "again")
    client = make_client(config)
    sent = _wire_log(client)
    report = R2Target(config, client).sync(tmp_path / "again", publish_at + timedelta(minutes=1))
    assert report.uploaded == [] and report.deleted == [] and report.skipped
    assert sent and all(line.startswith("GET ") for line in sent), sent   # manifest and pending list reads only


def test_an_interrupted_publish_leaves_the_previous_release_whole_and_leaks_nothing(
        s3_server, duckdb_db, publish_at, tmp_path):
    from botocore.exceptions import EndpointConnectionError
    from publisher_ledger_kit import LedgerKit, seed_history

    from publisher.build import build_site
    from publisher.targets.r2 import PENDING_KEY, R2Error

    config = r2_config(s3_server.endpoint, prefix=f"cut{random.randrange(10**9)}/")
    prefix = config.r2_prefix
    kit = LedgerKit(duckdb_db, secret="cut")
    seed_history(kit, publish_at, random.Random(14))
    client = make_client(config)
    build_site(duckdb_db, config, publish_at, tmp_path / "a")
    R2Target(config, client).sync(tmp_path / "a", publish_at)
    release_a = _objects(client, prefix)
    manifest_a = release_a[MANIFEST_KEY]
    files_a = json.loads(manifest_a)["files"]

    # release b: a new public trade, so new charts (new hashed names) and changed feeds and pages
    t_b = publish_at + timedelta(minutes=30)
    ticker = kit.trade(t_b - timedelta(minutes=75), "NYC", t_b.date(), 47, received_at=t_b - timedelta(minutes=74))
    kit.settle(ticker, "yes", t_b - timedelta(minutes=70), received_at=t_b - timedelta(minutes=69))
    build_site(duckdb_db, config, t_b, tmp_path / "b")
    new_hashed = {p for p in read_release_files(tmp_path / "b") if p.startswith("charts/")} - set(files_a)
    assert new_hashed

    pages_sent: list[str] = []

    def outage_at_the_third_page(request, **_):  # the server goes away half-way through the pages
        if request.url.endswith(".html"):
            pages_sent.append(request.url)
            if len(pages_sent) >= 3:
                raise EndpointConnectionError(endpoint_url=request.url)

    flaky = make_client(config)
    flaky.meta.events.register_first("before-send.s3.PutObject", outage_at_the_third_page)
    with pytest.raises(R2Error, match=r"upload of .*\.html failed"):
        R2Target(config, flaky).sync(tmp_path / "b", t_b)

    after = _objects(client, prefix)
    assert after[MANIFEST_KEY] == manifest_a                          # still describes release a
    assert set(files_a) <= set(after)                                 # nothing of release a was deleted
    assert _broken_links(after) == []                                 # every link of every page resolves
    assert new_hashed <= set(after) and PENDING_KEY in after          # b's new objects are tracked, not lost

    # the next run publishes release a's content again (e.g. a rollback): the pages the failed run
    # overwrote are re-sent although the manifest says they are unchanged, and b's charts are retired
    report = R2Target(config, client).sync(tmp_path / "a", t_b + timedelta(minutes=5))
    restored = _objects(client, prefix)
    assert all(restored[p] == release_a[p] for p in files_a), "a page still holds the failed run's bytes"
    assert PENDING_KEY not in restored
    retired = json.loads(restored[MANIFEST_KEY])["retired"]
    assert new_hashed <= set(retired) and not report.deleted
    assert new_hashed <= set(restored)                                # kept through the grace period

    # the grace period: one minute short keeps them, the full 24 hours deletes them
    since = min(datetime.fromisoformat(retired[p]) for p in new_hashed)
    short = R2Target(config, client).sync(tmp_path / "a", since + timedelta(hours=24, minutes=-1))
    assert not (new_hashed & set(short.deleted)) and new_hashed <= set(_objects(client, prefix))
    full = R2Target(config, client).sync(tmp_path / "a", since + timedelta(hours=24))
    assert new_hashed <= set(full.deleted)
    final = _objects(client, prefix)
    assert not (new_hashed & set(final)) and set(files_a) <= set(final) and _broken_links(final) == []
    assert not (new_hashed & set(json.loads(final[MANIFEST_KEY])["retired"]))


def read_release_files(root) -> dict:
    from publisher.site import read_release

    return read_release(root)["files"]
