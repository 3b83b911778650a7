"""The cache builder: downloads, streaming parsers, the join, end-to-end builds, shards and merge."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from memer import settings
from memer.errors import CacheError
from memer.sources.openimages import build as build_module
from memer.sources.openimages import narratives as narratives_module
from memer.sources.openimages import transfer as transfer_module
from memer.sources.openimages.build import build_cache, check_splits, parse_shard
from memer.sources.openimages.merge import merge
from memer.sources.openimages.narratives import choose_narratives, iter_metadata, license_name
from memer.sources.openimages.store import EmbeddingCache
from memer.sources.openimages.transfer import download_file
from memer.text import human_size
from tests.standins.openimages import IMAGES, HashingEncoder

ROOT = Path(__file__).resolve().parents[1]
# Captioned images that also have metadata: 3 train (one has no metadata, one an empty narrative), 2 + 2.
EXPECTED_ROWS = 7


# --- pure parts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([("a", "1", "short one"), ("a", "2", "a much longer narrative")], "a much longer narrative"),
        ([("a", "2", "a much longer narrative"), ("a", "1", "short one")], "a much longer narrative"),
        ([("a", "9", "same size"), ("a", "10", "size same")], "same size"),  # tie: lowest annotator (numeric)
        ([("a", "10", "size same"), ("a", "9", "same size")], "same size"),
        ([("a", "1", "  spaced   out  "), ("a", "2", "   ")], "spaced out"),
        ([("a", "1", "")], None),
    ],
)
def test_narrative_choice_is_order_independent(records, expected):
    assert choose_narratives(iter(records)).get("a") == expected


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://creativecommons.org/licenses/by/2.0/", "CC BY 2.0"),
        ("https://creativecommons.org/licenses/by-sa/2.0/", "CC BY-SA 2.0"),
        ("http://creativecommons.org/licenses/by-nc/2.0/deed.en", "CC BY-NC 2.0"),
        ("https://example.org/custom", "https://example.org/custom"),
        ("", ""),
    ],
)
def test_license_name(url, name):
    assert license_name(url) == name


@pytest.mark.parametrize(("text", "expected"), [(None, None), ("", None), ("0/2", (0, 2)), (" 3 / 4 ", (3, 4))])
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["2/2", "1", "a/b", "-1/3", "1/0"])
def test_parse_shard_rejects(text):
    with pytest.raises(CacheError, match="i/n"):
        parse_shard(text)


def test_check_splits():
    assert check_splits(None) == ["train", "validation", "test"] == check_splits([])
    assert check_splits(["test", "validation"]) == ["test", "validation"]
    with pytest.raises(CacheError, match="Unknown split"):
        check_splits(["training"])


def test_metadata_csv_quoting(tmp_path, openimages_server):
    path = tmp_path / "m.csv"
    path.write_bytes(openimages_server.files[openimages_server.metadata_path("train")])
    rows = {row["ImageID"]: row for row in iter_metadata(path)}
    assert rows["0000a1b2c3d4e5f6"]["Author"] == 'Jane "JD" Doe'
    assert rows["0000a1b2c3d4e5f6"]["Title"] == "Dog, ball, and grass"
    assert rows["0000b2c3d4e5f6a7"]["Author"] == "Photographer, Ltd."
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(CacheError, match="not an Open Images metadata CSV"):
        list(iter_metadata(bad))


def test_bad_narrative_line_names_the_line(tmp_path):
    path = tmp_path / "n.jsonl"
    path.write_text('{"image_id": "a", "caption": "x"}\n{broken\n')
    with pytest.raises(CacheError, match="line 2"):
        list(narratives_module.iter_narratives(path))


# --- downloads -----------------------------------------------------------------------


def test_download_records_sha256_and_skips_finished_files(tmp_path, openimages_server, server):
    path = openimages_server.narratives_path("validation")
    record = download_file(server.url + path, tmp_path / "v.jsonl")
    body = openimages_server.files[path]
    assert record["sha256"] == hashlib.sha256(body).hexdigest() and record["bytes"] == len(body)
    assert (tmp_path / "v.jsonl").read_bytes() == body
    download_file(server.url + path, tmp_path / "v.jsonl")
    assert len(server.requests_to(path)) == 1


def test_download_reports_progress_through_the_hook(tmp_path, openimages_server, server, monkeypatch, capsys):
    monkeypatch.setattr(transfer_module, "REPORT_BYTES", 100)  # the stand-in files are small
    path = openimages_server.metadata_path("train")
    size = len(openimages_server.files[path])
    seen = []
    download_file(server.url + path, tmp_path / "t.csv", progress=lambda m, f: seen.append((m, f)))
    fractions = [f for _, f in seen]
    assert len(seen) >= 2 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(m.startswith("Downloading t.csv (") and m.endswith(f" of {human_size(size)})") for m, _ in seen)
    assert capsys.readouterr() == ("", "")


def test_download_resumes_after_a_broken_connection(tmp_path, openimages_server, server):
    path = openimages_server.metadata_path("train")
    server.fault(path, "truncate", times=1)
    record = download_file(server.url + path, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == openimages_server.files[path]
    assert record["sha256"] == hashlib.sha256(openimages_server.files[path]).hexdigest()
    requests = server.requests_to(path)
    assert len(requests) == 2 and "range" not in requests[0].headers
    # It resumed from what arrived intact (whole chunks of the first half), not from zero.
    resumed_at = int(requests[1].headers["range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= len(openimages_server.files[path]) // 2


def test_download_resumes_a_part_file_left_by_an_earlier_run(tmp_path, openimages_server, server):
    path = openimages_server.narratives_path("train")
    body = openimages_server.files[path]
    (tmp_path / "n.jsonl.part").write_bytes(body[:40])
    download_file(server.url + path, tmp_path / "n.jsonl")
    assert (tmp_path / "n.jsonl").read_bytes() == body
    assert server.requests_to(path)[0].headers["range"] == "bytes=40-"
    assert not (tmp_path / "n.jsonl.part").exists()


def test_download_failure_is_a_cache_error(tmp_path, openimages_server, server, monkeypatch):
    monkeypatch.setattr(settings, "HTTP_RETRIES", 1)
    with pytest.raises(CacheError, match="HTTP 404"):
        download_file(server.url + "/localized-narratives/annotations/nope.jsonl", tmp_path / "x")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("fault", "params", "reason", "hint"),
    [
        ("status", {"status": 503}, "HTTP 503", "Check the URL settings"),
        ("status", {"status": 429, "retry_after": "1"}, "HTTP 429", "Check the URL settings"),
        ("reset", {}, "connection reset", "Check your connection and run the same command again."),
    ],
)
def test_a_steadily_failing_server_is_asked_a_bounded_number_of_times(
    tmp_path, openimages_server, server, monkeypatch, fault, params, reason, hint
):
    monkeypatch.setattr(settings, "HTTP_RETRIES", 2)
    monkeypatch.setattr(settings, "HTTP_BACKOFF", 0.0)
    monkeypatch.setattr(settings, "RETRY_AFTER_MAX", 0.1)
    path = openimages_server.narratives_path("validation")
    server.fault(path, fault, **params)
    with pytest.raises(CacheError) as caught:
        download_file(server.url + path, tmp_path / "v.jsonl")
    message = str(caught.value)
    assert f"({reason})" in message and hint in message
    assert "partial file" not in message, "no partial file exists to be kept"
    # The session's own retries (honouring Retry-After) are the only ones: 1 + HTTP_RETRIES requests.
    assert len(server.requests_to(path)) == 3
    assert not (tmp_path / "v.jsonl").exists() and not (tmp_path / "v.jsonl.part").exists()


def test_a_transfer_that_keeps_breaking_keeps_its_partial_file(tmp_path, openimages_server, server, monkeypatch):
    monkeypatch.setattr(settings, "HTTP_RETRIES", 1)
    path = openimages_server.metadata_path("train")
    server.fault(path, "truncate")
    with pytest.raises(
        CacheError, match=r"the partial file .*v\.csv\.part is kept\. Run the same command again to resume\."
    ):
        download_file(server.url + path, tmp_path / "v.csv")
    assert (tmp_path / "v.csv.part").is_file()


# --- end to end ----------------------------------------------------------------------


def test_build_end_to_end(openimages_server, server):
    encoder = HashingEncoder()
    report = build_cache(encoder=encoder, batch_size=3)
    assert report.rows == EXPECTED_ROWS and report.skipped_without_metadata == 1
    assert max(encoder.calls[1:]) == 3  # batched (the first call only probes the dimension)
    cache = EmbeddingCache.open(settings.cache_dir())
    assert len(cache) == EXPECTED_ROWS and cache.model == "hashing-test"
    rows = [cache.row(i) for i in range(len(cache))]
    assert [r["split"] for r in rows] == ["train"] * 3 + ["validation"] * 2 + ["test"] * 2
    dog = next(r for r in rows if r["image_id"] == "0000a1b2c3d4e5f6")
    assert dog["caption"].startswith("A brown dog runs across")  # the longer of its two narratives
    assert dog["author"] == 'Jane "JD" Doe' and dog["title"] == "Dog, ball, and grass"
    assert dog["license"] == "CC BY 2.0" and dog["license_url"] == "https://creativecommons.org/licenses/by/2.0/"
    assert dog["page_url"] == "https://www.flickr.com/photos/someone/0000a1b2c3d4e5f6"
    assert dog["image_url"] == f"{server.url}/train/0000a1b2c3d4e5f6.jpg"
    cats = next(r for r in rows if r["image_id"] == "0000c3d4e5f6a7b8")
    assert cats["license"] == "CC BY-SA 2.0"
    assert {r["image_id"] for r in rows}.isdisjoint({"0000d4e5f6a7b8c9", "0000e5f6a7b8c9d0", "0000ffffffffffff"})
    # Every captioned image with metadata is there, embedded from its chosen caption.
    expected_ids = {
        image_id for _, image_id, narratives, meta in IMAGES if meta and any(c.strip() for _, c in narratives)
    }
    assert {r["image_id"] for r in rows} == expected_ids
    np.testing.assert_allclose(
        np.asarray(cache.embeddings[0], np.float32), encoder.encode_text([rows[0]["caption"]])[0], atol=1e-3
    )
    # Sources: all six files, with the sha256 of what the server sent.
    sums = {s["name"]: s["sha256"] for s in cache.manifest["sources"]}
    for path, body in openimages_server.files.items():
        assert sums[Path(path).name] == hashlib.sha256(body).hexdigest()
    assert cache.manifest["build"]["skipped_without_metadata"] == 1
    ids, _ = cache.search(encoder.encode_query("brown dog, green lawn and a ball"), 1)
    assert cache.row(int(ids[0]))["image_id"] == "0000a1b2c3d4e5f6"
    assert cache.verify().ok


def test_build_selected_splits(openimages_server, server):
    build_cache(["validation"], encoder=HashingEncoder())
    cache = EmbeddingCache.open(settings.cache_dir())
    assert len(cache) == 2 and cache.manifest["build"]["splits"] == ["validation"]
    assert not server.requests_to(openimages_server.narratives_path("train"))
    with pytest.raises(CacheError, match="Unknown split"):
        build_cache(["training"], encoder=HashingEncoder())


def test_interrupted_build_leaves_no_cache(openimages_server):
    class FailingEncoder(HashingEncoder):
        def encode_text(self, texts, *, batch_size=None):
            if len(self.calls) >= 2:
                raise KeyboardInterrupt
            return super().encode_text(texts)

    with pytest.raises(KeyboardInterrupt):
        build_cache(encoder=FailingEncoder(), batch_size=2)
    assert not settings.cache_dir().exists()
    assert not list(settings.cache_dir().parent.glob(".*tmp*"))
    with pytest.raises(CacheError, match="No Open Images cache"):
        EmbeddingCache.open(settings.cache_dir())


@pytest.mark.parametrize("count", [2, 3])
def test_shards_merge_into_the_full_build(openimages_server, tmp_path, count):
    full_dir = tmp_path / "full"
    build_cache(encoder=HashingEncoder(), directory=full_dir)
    for index in range(count):
        report = build_cache(encoder=HashingEncoder(), shard=(index, count))
        assert report.total_rows == EXPECTED_ROWS
    with pytest.raises(CacheError, match="not a shard"):
        merge(settings.cache_dir(), [full_dir])
    merged_dir = merge()
    full, merged = EmbeddingCache.open(full_dir), EmbeddingCache.open(merged_dir)
    assert len(merged) == len(full) == EXPECTED_ROWS and "shard" not in merged.manifest
    np.testing.assert_array_equal(np.asarray(merged.embeddings), np.asarray(full.embeddings))
    assert [merged.row(i) for i in range(len(merged))] == [full.row(i) for i in range(len(full))]
    assert merged.manifest["sources"] == full.manifest["sources"]


def test_merge_refuses_missing_shards(openimages_server):
    build_cache(encoder=HashingEncoder(), shard=(0, 3))
    build_cache(encoder=HashingEncoder(), shard=(2, 3))
    with pytest.raises(CacheError, match=r"missing \[1\]"):
        merge()
    assert not settings.cache_dir().exists()


def test_merge_refuses_mixed_models(openimages_server):
    build_cache(encoder=HashingEncoder(), shard=(0, 2))
    build_cache(encoder=HashingEncoder(model_name="other"), shard=(1, 2))
    with pytest.raises(CacheError, match="model"):
        merge()


def test_cli_merge_and_errors(openimages_server, tmp_path):
    for index in range(2):
        build_cache(encoder=HashingEncoder(), shard=(index, 2))
    env = {**os.environ, "MEMER_CACHE_DIR": str(settings.cache_dir()), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "memer", "cache", "merge"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(EmbeddingCache.open(settings.cache_dir())) == EXPECTED_ROWS
    bad = subprocess.run(
        [sys.executable, "-m", "memer", "cache", "build", "--shard", "5/2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 1 and bad.stderr.startswith("memer: error:") and "i/n" in bad.stderr
    info = json.loads(
        subprocess.run(
            [sys.executable, "-m", "memer", "cache", "info"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        ).stdout.split("\nhealth")[0]
    )
    assert info["rows"] == EXPECTED_ROWS


def test_expected_manifest_matches_what_a_build_writes(openimages_server):
    build_cache(encoder=HashingEncoder())
    written = json.loads((settings.cache_dir() / "manifest.json").read_text())
    expected = json.loads((ROOT / "cache" / "expected-manifest.json").read_text())
    assert set(expected) == set(written)
    assert set(expected["files"]) == set(written["files"])
    assert set(expected["build"]) == set(written["build"])
    assert [s["name"] for s in expected["sources"]] == [s["name"] for s in written["sources"]]
    assert [s["url"].replace("https://storage.googleapis.com", "") for s in expected["sources"]] == [
        s["url"].replace(openimages_server.server.url, "") for s in written["sources"]
    ]
    assert (expected["model"], expected["pretrained"], expected["dim"]) == (
        settings.CLIP_MODEL,
        settings.CLIP_PRETRAINED,
        512,
    )


def test_build_reports_progress_and_prints_nothing(openimages_server, capsys):
    seen = []
    build_cache(["validation"], encoder=HashingEncoder(), batch_size=1, progress=lambda m, f: seen.append((m, f)))
    messages = [m for m, _ in seen]
    assert any(m.startswith("Downloading open_images_validation_captions.jsonl") for m in messages)
    assert "Joining the validation captions with their metadata" in messages
    embedding = [(m, f) for m, f in seen if m.startswith("Embedding captions")]
    assert [f for _, f in embedding] == [0.0, 0.5, 1.0]
    assert embedding[0][0] == "Embedding captions (0/2)" and embedding[2][0] == "Embedding captions (2/2)"
    # After the first batch the pace is measured, so the message says how long is left.
    assert re.fullmatch(r"Embedding captions \(1/2, about \d+ (s|min) left\)", embedding[1][0])
    assert any(m.startswith("Checksumming") for m in messages)
    assert all(f is None or 0 <= f <= 1 for _, f in seen)
    assert capsys.readouterr() == ("", "")


def test_the_encoder_is_a_required_argument():
    import inspect

    encoder = inspect.signature(build_cache).parameters["encoder"]
    assert encoder.kind is inspect.Parameter.KEYWORD_ONLY and encoder.default is inspect.Parameter.empty
    with pytest.raises(TypeError, match="encoder"):
        build_cache(["validation"])  # a clear TypeError, not a model loaded behind the caller's back


@pytest.mark.parametrize(
    ("device", "free", "setting", "expected"),
    [
        ("cpu", None, 0, build_module.CPU_BATCH),
        ("cuda", 14 << 30, 0, 4096),  # a T4 with CLIP loaded: several thousand captions a batch
        ("cuda:0", 80 << 30, 0, build_module.GPU_BATCH_MAX),
        ("cuda", 1 << 30, 0, 512),
        ("cuda", 10 << 20, 0, build_module.CPU_BATCH),  # almost full: never below the CPU's batch
        ("cuda", 14 << 30, 300, 300),  # MEMER_CACHE_BUILD_BATCH wins
        ("cpu", None, 64, 64),
    ],
)
def test_batches_are_sized_to_the_device(monkeypatch, device, free, setting, expected):
    monkeypatch.setattr(settings, "CACHE_BUILD_BATCH", setting)
    assert build_module.build_batch_size(device, free) == expected


def test_the_encoder_gets_the_build_batch_and_a_writer_failure_stops_the_build(openimages_server, monkeypatch):
    from memer.sources.openimages.store import CacheWriter

    encoder = HashingEncoder()
    seen = []
    original = encoder.encode_text
    monkeypatch.setattr(
        encoder, "encode_text", lambda texts, *, batch_size=None: seen.append(batch_size) or original(texts)
    )
    monkeypatch.setattr(settings, "CACHE_BUILD_BATCH", 2)
    build_cache(["validation", "test"], encoder=encoder)
    assert seen == [2, 2]  # passed down, so memer.clip does not cut it to CLIP_BATCH_SIZE

    def broken_add(self, embeddings, rows):
        raise CacheError("disk full (stand-in)")

    monkeypatch.setattr(CacheWriter, "add", broken_add)
    monkeypatch.setattr(settings, "CACHE_DIR", settings.cache_dir().parent / "second")
    with pytest.raises(CacheError, match="disk full"):
        build_cache(["validation", "test"], encoder=HashingEncoder())
    assert not settings.cache_dir().exists()
    assert not list(settings.cache_dir().parent.glob(".second.tmp*"))
