"""Stand-ins for Open Images: the Localized Narratives files, the metadata CSVs and the image bucket.

The files are small but in the real formats: JSON lines with dataset_id, image_id,
annotator_id and caption (several narratives for some images, an empty one, an image
with no metadata), and CSVs with the real header, quoted titles and authors holding
commas and quotes, and rows without narratives. Downloads honour ``Range`` so a
resumed download can be tested. Also a deterministic text encoder with the
``memer.clip.ClipModel`` interface, for tests that must not load a model.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

from tests.standins.server import Request, Response, StandinServer

NARRATIVES_PREFIX = "/localized-narratives/annotations"
META_PREFIX = "/openimages/2018_04"
CSV_HEADER = [
    "ImageID", "Subset", "OriginalURL", "OriginalLandingURL", "License", "AuthorProfileURL",
    "Author", "Title", "OriginalSize", "OriginalMD5", "Thumbnail300KURL", "Rotation",
]  # fmt: skip
CC_BY = "https://creativecommons.org/licenses/by/2.0/"

# (split, image_id, [(annotator_id, caption), ...], metadata or None)
IMAGES = [
    (
        "train",
        "0000a1b2c3d4e5f6",
        [
            (93, "In this image we can see a dog running on the grass."),
            (84, "A brown dog runs across a green lawn while a ball flies in the air above it."),
        ],
        {"Author": 'Jane "JD" Doe', "Title": "Dog, ball, and grass", "License": CC_BY},
    ),
    (
        "train",
        "0000b2c3d4e5f6a7",
        [(12, "A red sports car parked on a city street at night with lights.")],
        {"Author": "Photographer, Ltd.", "Title": "Car at night", "License": CC_BY},
    ),
    (
        "train",
        "0000c3d4e5f6a7b8",
        [(5, "Two cats sleeping on a sofa"), (6, "Two cats sleep on a sofa..")],
        {"Author": "cat person", "Title": "Sleepy", "License": "https://creativecommons.org/licenses/by-sa/2.0/"},
    ),
    ("train", "0000d4e5f6a7b8c9", [(7, "A mountain lake with snow on the peaks")], None),  # no metadata row
    (
        "train",
        "0000e5f6a7b8c9d0",
        [(8, "   ")],
        {"Author": "nobody", "Title": "blank", "License": CC_BY},
    ),  # empty narrative
    (
        "validation",
        "1111a1b2c3d4e5f6",
        [(21, "A plate of pasta with tomato sauce and basil on a wooden table.")],
        {"Author": "Chef", "Title": "Dinner", "License": CC_BY},
    ),
    (
        "validation",
        "1111b2c3d4e5f6a7",
        [(22, "People walking on a beach at sunset near the sea.")],
        {"Author": "Beach Walker", "Title": "Sunset, beach", "License": CC_BY},
    ),
    (
        "test",
        "2222a1b2c3d4e5f6",
        [(31, "A small bird sitting on a tree branch in the forest.")],
        {"Author": "Bird Watcher", "Title": "Bird", "License": CC_BY},
    ),
    (
        "test",
        "2222b2c3d4e5f6a7",
        [(32, "A city skyline with tall buildings and a cloudy sky.")],
        {"Author": "Urban", "Title": "Skyline", "License": CC_BY},
    ),
]
# Metadata rows with no narrative (the real CSVs list far more images than were narrated).
# The train CSV gets enough of them (~0.5 MB) that a broken download has whole chunks to resume from.
EXTRA_METADATA = {
    "train": ["0000ffffffffffff"] + [f"00ff{i:012x}" for i in range(2500)],
    "validation": ["1111ffffffffffff"],
    "test": [],
}
NARRATIVE_FILES = {
    "train": "open_images_train_v6_captions.jsonl",
    "validation": "open_images_validation_captions.jsonl",
    "test": "open_images_test_captions.jsonl",
}
META_FILES = {
    "train": "train/train-images-boxable-with-rotation.csv",
    "validation": "validation/validation-images-with-rotation.csv",
    "test": "test/test-images-with-rotation.csv",
}


def narratives_jsonl(split: str) -> bytes:
    lines = []
    for image_split, image_id, narratives, _ in IMAGES:
        if image_split == split:
            for annotator, caption in narratives:
                lines.append(
                    json.dumps(
                        {
                            "dataset_id": "open_images",
                            "image_id": image_id,
                            "annotator_id": annotator,
                            "caption": caption,
                        }
                    )
                )
    return ("\n".join(lines) + "\n").encode()


def metadata_csv(split: str, base_url: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    entries = [(image_id, meta) for s, image_id, _, meta in IMAGES if s == split and meta]
    entries += [
        (image_id, {"Author": "someone", "Title": "unnarrated", "License": CC_BY}) for image_id in EXTRA_METADATA[split]
    ]
    for image_id, meta in entries:
        writer.writerow([
            image_id, split, f"https://farm1.staticflickr.com/1/{image_id}_o.jpg", f"https://www.flickr.com/photos/someone/{image_id}",
            meta["License"], f"https://www.flickr.com/people/{image_id[:6]}/", meta["Author"], meta["Title"],
            "123456", "abc==", f"{base_url}/thumb/{image_id}.jpg", "0.0",
        ])  # fmt: skip
    return out.getvalue().encode()


def image_jpeg(image_id: str) -> bytes:
    from PIL import Image

    shade = hashlib.sha256(image_id.encode()).digest()[:3]
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), tuple(shade)).save(buffer, "JPEG")
    return buffer.getvalue()


def ranged(data: bytes, request: Request) -> Response:
    """Serve ``data`` honouring a ``Range: bytes=N-`` header like a storage bucket."""
    match = re.fullmatch(r"bytes=(\d+)-", request.headers.get("range", ""))
    if not match:
        return Response(200, data, {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"})
    start = int(match.group(1))
    if start >= len(data):
        return Response(416, b"", {"Content-Range": f"bytes */{len(data)}"})
    return Response(206, data[start:], {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})


@dataclass
class OpenImagesStandin:
    server: StandinServer
    files: dict[str, bytes] = field(default_factory=dict)  # path -> body

    def narratives_path(self, split: str) -> str:
        return f"{NARRATIVES_PREFIX}/{NARRATIVE_FILES[split]}"

    def metadata_path(self, split: str) -> str:
        return f"{META_PREFIX}/{META_FILES[split]}"


def serve_openimages(server: StandinServer) -> OpenImagesStandin:
    standin = OpenImagesStandin(server)
    for split in NARRATIVE_FILES:
        standin.files[standin.narratives_path(split)] = narratives_jsonl(split)
        standin.files[standin.metadata_path(split)] = metadata_csv(split, server.url)

    def serve_file(request: Request) -> Response:
        data = standin.files.get(request.path)
        return (
            ranged(data, request) if data is not None else Response(404, b"not found", {"Content-Type": "text/plain"})
        )

    def serve_image(request: Request) -> Response:
        match = re.fullmatch(r"/(train|validation|test)/([0-9a-f]+)\.jpg", request.path)
        known = {image_id for _, image_id, _, _ in IMAGES}
        if not match or match.group(2) not in known:
            return Response(404, b"<Error>NoSuchKey</Error>", {"Content-Type": "application/xml"})
        return Response(200, image_jpeg(match.group(2)), {"Content-Type": "image/jpeg"})

    server.route(NARRATIVES_PREFIX + "/", serve_file)
    server.route(META_PREFIX + "/", serve_file)
    for split in NARRATIVE_FILES:
        server.route(f"/{split}/", serve_image)
    return standin


@pytest.fixture
def openimages_server(server: StandinServer, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[OpenImagesStandin]:
    """The stand-in bucket and annotation files, with memer's settings pointed at them."""
    from memer import settings

    standin = serve_openimages(server)
    monkeypatch.setattr(settings, "NARRATIVES_URL", server.url + NARRATIVES_PREFIX)
    monkeypatch.setattr(settings, "OPENIMAGES_META_URL", server.url + META_PREFIX)
    monkeypatch.setattr(settings, "OPENIMAGES_URL", server.url)
    monkeypatch.setattr(settings, "CACHE_DOWNLOAD_DIR", tmp_path / "openimages-sources")
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "cache" / "openimages")
    yield standin


STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "on",
        "in",
        "at",
        "with",
        "and",
        "is",
        "are",
        "this",
        "we",
        "can",
        "see",
        "image",
        "picture",
        "photo",
    ]
)


class HashingEncoder:
    """A deterministic stand-in for ``memer.clip.ClipModel``: each word hashes to a fixed random vector.

    Texts sharing words get similar vectors, so searches have meaningful answers, and the
    same text always gives the same vector. Not CLIP; only for tests.
    """

    def __init__(self, dim: int = 32, model_name: str = "hashing-test", pretrained: str = "none") -> None:
        self.dim = dim
        self.model_name = model_name
        self.pretrained = pretrained
        self.device = "cpu"
        self.calls: list[int] = []  # batch sizes seen

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dim)

    def encode_text(self, texts: list[str], *, batch_size: int | None = None) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float64)
        for i, text in enumerate(texts):
            for word in [w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOP_WORDS] or ["<empty>"]:
                out[i] += self._word(word)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out.astype(np.float32)

    def encode_query(self, query: str) -> np.ndarray:
        from memer import settings

        return self.encode_text([settings.QUERY_PROMPT.format(query=query)])[0]


@pytest.fixture
def hashing_encoder() -> HashingEncoder:
    return HashingEncoder()
