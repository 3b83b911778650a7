"""The set-up's cache choice: status line, choices, a measured build estimate, Drive for the next session."""

from __future__ import annotations

import pytest

from memer import cache_setup, settings
from memer.errors import CacheError
from memer.sources.openimages.build import SPLIT_CAPTIONS
from memer.sources.openimages.store import EmbeddingCache
from tests.standins.openimages import HashingEncoder
from tests.standins.settings import override


@pytest.fixture
def drive(tmp_path, monkeypatch):
    """A stand-in for a mounted Google Drive: MEMER_DRIVE_ROOT is a folder that exists."""
    root = tmp_path / "drive" / "MyDrive"
    root.mkdir(parents=True)
    override(monkeypatch, DRIVE_ROOT=root)
    return root


def test_no_cache_and_no_url(tmp_path, monkeypatch):
    override(monkeypatch, CACHE_URL="", CACHE_DIR=tmp_path / "none", DRIVE_ROOT=tmp_path / "no-drive")
    status = cache_setup.cache_status()
    assert not status.ready and status.line == "Open Images is not set up yet: the other sources work without it."
    assert status.choices == ["build-quick", "build-full", "skip"]
    assert not status.drive_mounted and not cache_setup.drive_mounted()


def test_a_published_copy_is_offered_then_ready_after_download(cache_host):
    status = cache_setup.cache_status()
    assert status.download_url == cache_host.url and status.choices[0] == "download"
    cache_setup.run_download()
    status = cache_setup.cache_status()
    assert status.ready and status.choices == [] and status.rows == len(EmbeddingCache.open(settings.cache_dir()))
    assert status.line.startswith(f"Open Images: {status.rows:,} pictures ready (")


def test_a_cache_for_another_model_is_not_ready(cache_host, monkeypatch):
    cache_setup.run_download()
    override(monkeypatch, CLIP_MODEL="ViT-B-32", CLIP_PRETRAINED="openai")
    status = cache_setup.cache_status()
    assert not status.ready and "is for CLIP hashing-test (none), not ViT-B-32 (openai)" in status.line
    assert "download" in status.choices and "skip" in status.choices


def test_quick_build_then_ready(openimages_server, monkeypatch):
    override(monkeypatch, CLIP_MODEL="hashing-test", CLIP_PRETRAINED="none")
    report = cache_setup.run_build("quick", encoder=HashingEncoder())
    assert report.rows == 4  # the stand-in's validation and test pictures
    status = cache_setup.cache_status()
    assert status.ready and status.rows == 4
    with pytest.raises(CacheError, match="Unknown build"):
        cache_setup.run_build("medium", encoder=HashingEncoder())


class _ClockedEncoder(HashingEncoder):
    """Costs exactly ``seconds_per_caption`` on a fake clock, so the estimate can be checked exactly."""

    def __init__(self, clock, seconds_per_caption, device="cpu"):
        super().__init__()
        self.clock, self.cost, self.device = clock, seconds_per_caption, device

    def encode_text(self, texts, *, batch_size=None):
        self.clock[0] += self.cost * len(texts)
        return super().encode_text(texts)


@pytest.mark.parametrize(("kind", "captions"), [("quick", 41_691 + 126_020), ("full", 675_155)])
def test_estimate_is_the_measured_rate_times_the_captions(monkeypatch, kind, captions):
    clock = [0.0]
    monkeypatch.setattr(cache_setup.time, "perf_counter", lambda: clock[0])
    override(monkeypatch, CACHE_WARMUP_SECONDS=2.0)
    seen = []
    estimate = cache_setup.estimate_build(
        kind, encoder=_ClockedEncoder(clock, 0.01), progress=lambda m, f: seen.append(m)
    )
    assert estimate.captions == captions == sum(SPLIT_CAPTIONS[s] for s in estimate.splits)
    assert estimate.captions_per_second == pytest.approx(100.0)
    assert estimate.encode_seconds == pytest.approx(captions / 100.0)
    assert estimate.warmup_seconds >= 1.0 and estimate.device == "cpu" and estimate.batch_size == 128
    assert f"{captions:,} captions" in estimate.line and "on the CPU (measured: 100 captions/s)" in estimate.line
    assert seen[0] == "Measuring the text encoder on cpu" and seen[-1] == estimate.line


def test_the_warm_up_stays_short_on_a_slow_encoder(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(cache_setup.time, "perf_counter", lambda: clock[0])
    encoder = _ClockedEncoder(clock, 0.5)  # 2 captions/s: a very slow CPU
    rate, _timed, spent = cache_setup.measure_encoder(encoder, seconds=3.0)
    assert rate == pytest.approx(2.0) and spent <= 8.0 and max(encoder.calls) == 8


def test_the_warm_up_reaches_the_gpu_batch_size(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(cache_setup.time, "perf_counter", lambda: clock[0])
    encoder = _ClockedEncoder(clock, 1e-5, device="cuda")
    rate, _, _ = cache_setup.measure_encoder(encoder, seconds=3.0, max_batch=4096)
    assert rate == pytest.approx(1e5) and max(encoder.calls) == 4096


def test_estimate_with_the_real_clip_wrapper(tiny_clip, monkeypatch):
    override(monkeypatch, CACHE_WARMUP_SECONDS=0.2)
    estimate = cache_setup.estimate_build("quick", encoder=tiny_clip)
    assert estimate.captions_per_second > 0 and estimate.warmup_captions >= 8
    assert estimate.encode_seconds == pytest.approx(estimate.captions / estimate.captions_per_second)


def test_drive_keeps_the_cache_for_the_next_session(cache_host, drive, tmp_path, monkeypatch):
    assert cache_setup.drive_mounted()
    cache_setup.run_download()
    target = cache_setup.copy_to_drive()
    assert target == drive / "memer" / "openimages" == settings.cache_dir()
    assert len(EmbeddingCache.open(target)) > 0
    # The next session: a fresh machine with no local cache, the same Drive.
    override(monkeypatch, CACHE_DIR=tmp_path / "fresh-session")
    status = cache_setup.cache_status()
    assert not status.ready and status.drive_has_cache and status.choices[0] == "drive"
    assert "on your Google Drive" in status.line
    assert cache_setup.use_drive() == target
    assert cache_setup.cache_status().ready


def test_drive_not_mounted_is_a_clear_error(tmp_path, monkeypatch):
    override(monkeypatch, DRIVE_ROOT=tmp_path / "missing")
    with pytest.raises(CacheError, match="Google Drive is not mounted"):
        cache_setup.use_drive()
    assert cache_setup.mount_drive() is False  # not on Colab
    with pytest.raises(CacheError, match="no cache in"):
        cache_setup.copy_to_drive()
