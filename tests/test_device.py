"""The one device rule: CLIP, the local caption model, the cache search and the set-up report share it."""

from __future__ import annotations

import pytest
import torch

from memer import settings
from memer.device import choose_device, cuda_device, current_device, torch_dtype
from memer.errors import ModelError


@pytest.mark.parametrize(
    ("requested", "cuda", "expected"),
    [
        ("", True, ("cuda", "fp16")),
        ("", False, ("cpu", "fp32")),
        ("cpu", True, ("cpu", "fp32")),
        ("CUDA:1", True, ("cuda:1", "fp16")),
        ("mps", False, ("mps", "fp32")),
    ],
)
def test_choose_device(requested: str, cuda: bool, expected: tuple[str, str]):
    assert choose_device(requested, cuda) == expected


def test_asking_for_cuda_without_a_gpu_says_what_to_do():
    with pytest.raises(ModelError, match="MEMER_DEVICE"):
        choose_device("cuda", False)


def test_current_device_picks_cuda_in_float16_when_torch_sees_a_gpu(monkeypatch: pytest.MonkeyPatch):
    import torch

    monkeypatch.setattr(settings, "DEVICE", "")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert current_device() == ("cuda", "fp16")
    monkeypatch.setattr(settings, "DEVICE", "cpu")
    assert current_device() == ("cpu", "fp32")
    assert current_device("cuda:0") == ("cuda:0", "fp16")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(settings, "DEVICE", "")
    assert current_device() == ("cpu", "fp32")


@pytest.mark.parametrize(
    ("device", "capability", "expected"),
    [
        ("cpu", None, torch.float32),
        ("cuda", (7, 5), torch.float16),  # T4
        ("cuda:0", (7, 0), torch.float16),  # V100
        ("cuda", (8, 0), torch.bfloat16),  # A100
        ("cuda", (9, 0), torch.bfloat16),  # H100
    ],
)
def test_dtype_follows_the_device(monkeypatch, device, capability, expected):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *_: capability)
    assert torch_dtype(device) == expected


@pytest.mark.parametrize(
    ("device_setting", "cuda", "expected"),
    [("", True, "cuda"), ("", False, None), ("cpu", True, None), ("cuda:1", True, "cuda:1")],
)
def test_the_cuda_device_for_search_follows_the_same_rule(monkeypatch, device_setting, cuda, expected):
    monkeypatch.setattr(settings, "DEVICE", device_setting)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert cuda_device() == expected


def test_a_gpu_asked_for_but_missing_is_a_clear_error_for_search_too(monkeypatch):
    monkeypatch.setattr(settings, "DEVICE", "cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ModelError, match="MEMER_DEVICE=cuda:1 but no CUDA GPU"):
        cuda_device()
