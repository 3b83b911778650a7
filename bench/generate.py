"""Time to the first generated picture through memer's local path, with the tiny random diffusers pipeline.

Run as ``python -m bench.generate``. This guards the code path's OVERHEAD only:
memer's search_generated (settings, device choice, pipeline cache, PNG
encoding, the safe re-open, saving) against calling the same diffusers pipeline
directly, measured side by side. The tiny model draws noise in milliseconds;
real timings (sd-turbo at 512 px, one step, on a T4) need a GPU and are not
claimed here.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

REPEATS = 5
OVERHEAD_TARGET = 1.5  # memer's warm path may take at most 1.5x the bare pipeline call


def _seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    import torch
    from diffusers import AutoPipelineForText2Image

    from memer import settings
    from memer.sources import generated
    from tests.standins.tiny_diffusion import TINY_SIZE, build_tiny_diffusion

    with tempfile.TemporaryDirectory(prefix="memer-bench-generate-") as folder:
        model = build_tiny_diffusion(Path(folder) / "build")
        settings.IMAGE_MODEL_LOCAL = str(model)
        settings.GENERATOR, settings.DEVICE = "local", "cpu"
        settings.GENERATE_SIZE, settings.GENERATE_STEPS, settings.GENERATE_N = TINY_SIZE, 1, 1
        settings.DOWNLOAD_DIR = Path(folder) / "downloads"
        prompt = generated.image_prompt("apple pie")

        cold = _seconds(lambda: generated.search_generated("apple pie"))
        warm = statistics.median(_seconds(lambda: generated.search_generated("apple pie")) for _ in range(REPEATS))

        bare_cold_start = time.perf_counter()
        pipe = AutoPipelineForText2Image.from_pretrained(str(model), torch_dtype=torch.float32)
        pipe.set_progress_bar_config(disable=True)

        def bare() -> None:
            with torch.inference_mode():
                pipe(prompt=prompt, num_inference_steps=1, guidance_scale=0.0, height=TINY_SIZE, width=TINY_SIZE)

        bare()
        bare_cold = time.perf_counter() - bare_cold_start
        bare_warm = statistics.median(_seconds(bare) for _ in range(REPEATS))

    print("generate benchmark (tiny random pipeline, CPU; overhead only, not real drawing speed)")
    print(
        f"  first picture, cold (load + draw): memer {cold:6.3f} s   bare diffusers {bare_cold:6.3f} s   ratio {cold / bare_cold:4.2f}"
    )
    ratio = warm / bare_warm
    verdict = "ok" if ratio <= OVERHEAD_TARGET else "over target"
    print(
        f"  next picture, warm (median of {REPEATS}): memer {warm:6.3f} s   bare diffusers {bare_warm:6.3f} s   "
        f"ratio {ratio:4.2f} (target <= {OVERHEAD_TARGET})  {verdict}"
    )


if __name__ == "__main__":
    main()
