"""Where the faces are in a picture, so a caption placed on its own can keep off them.

The detector is dlib's HOG frontal-face detector. It was chosen after looking at
what the registry packages hold today: its model is compiled into dlib itself (no
weights file to download, nothing to fetch at run time), it takes some 30-60 ms
on a 1024 px picture on one CPU core, and Colab already ships dlib, so the
notebook needs nothing new. OpenCV 5's wheels no longer ship the Haar cascades
(``cv2/data`` is empty in opencv-python-headless 5.0), its YuNet detector needs
an ONNX file that no wheel carries, and mediapipe 1.x's wheel carries no face
model either (its tasks download one) while pulling opencv-contrib, matplotlib
and sounddevice along.

Elsewhere, ``pip install memer[faces]`` brings ``dlib-bin`` (prebuilt wheels of
the same ``dlib`` module). It is an optional extra, and not in ``memer[all]``:
installing it next to Colab's own dlib would replace that package. Whichever
package provides ``dlib`` is used; without one, :func:`find_faces` returns None
and placement goes by the picture's detail alone.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

DETECT_SIZE = 1024  # longest side the detector sees: a face of ~80 px at this size is found
THRESHOLD = 0.3  # dlib's detection score; below it the HOG detector's guesses are mostly hands and patches
_lock = threading.Lock()  # one dlib detector object, used by one thread at a time
_found: OrderedDict[bytes, list[Face]] = OrderedDict()  # the last few pictures' faces, by their pixels' digest
_REMEMBERED = 8  # the live preview redraws one picture on every pause in typing: it is looked at once


@dataclass(frozen=True)
class Face:
    """A face's box as fractions (0-1) of the picture's width and height, so it holds at any size."""

    left: float
    top: float
    right: float
    bottom: float
    score: float = 0.0

    def scaled(self, width: int, height: int) -> tuple[float, float, float, float]:
        """The box in pixels on a ``width`` x ``height`` canvas."""
        return self.left * width, self.top * height, self.right * width, self.bottom * height


@functools.lru_cache(maxsize=1)
def _detector() -> Any | None:
    """dlib's frontal-face detector, or None when no package provides dlib (or it cannot load)."""
    try:
        import dlib
    except Exception:  # noqa: BLE001 - ImportError, or a broken native library: placement goes without faces
        return None
    return dlib.get_frontal_face_detector()


def detector_available() -> bool:
    """Whether faces can be found here (a package providing ``dlib`` is installed)."""
    return _detector() is not None


def find_faces(image: Image.Image) -> list[Face] | None:
    """The faces in ``image``, largest first; None when no detector is installed (not the same as no faces).

    Remembered for the last few pictures (by a digest of their pixels, a few ms), so redrawing a meme as its
    caption is typed does not look for the faces again."""
    detector = _detector()
    if detector is None:
        return None
    key = hashlib.blake2b(image.tobytes(), digest_size=16, person=image.mode.encode()[:16]).digest()
    key += repr(image.size).encode()
    with _lock:
        if key in _found:
            _found.move_to_end(key)
            return list(_found[key])
    faces = _detect(detector, image)
    with _lock:
        _found[key] = faces
        while len(_found) > _REMEMBERED:
            _found.popitem(last=False)
    return list(faces)


def forget() -> None:
    """Drop the remembered faces (a benchmark timing the first look, a test)."""
    with _lock:
        _found.clear()


def _detect(detector: Any, image: Image.Image) -> list[Face]:
    import numpy as np
    from PIL import Image as PILImage

    width, height = image.size
    factor = min(1.0, DETECT_SIZE / max(width, height))
    small = image.convert("RGB")
    if factor < 1.0:
        small = small.resize((max(1, round(width * factor)), max(1, round(height * factor))), PILImage.Resampling.BOX)
    pixels = np.ascontiguousarray(np.asarray(small, dtype=np.uint8))
    with _lock:
        boxes, scores, _ = detector.run(pixels, 0, 0.0)
    sw, sh = small.size
    faces = [
        Face(
            max(0.0, box.left() / sw),
            max(0.0, box.top() / sh),
            min(1.0, (box.right() + 1) / sw),
            min(1.0, (box.bottom() + 1) / sh),
            float(score),
        )
        for box, score in zip(boxes, scores)
        if score >= THRESHOLD
    ]
    return sorted(faces, key=lambda f: (f.right - f.left) * (f.bottom - f.top), reverse=True)
