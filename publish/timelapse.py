"""A timelapse: one frame per scene with its date burned in, as GIF (Pillow) or MP4 (imageio-ffmpeg)."""

import io
from collections.abc import Sequence

import imageio.v3 as iio
import numpy as np
from PIL import Image

from publish.footer import footer
from publish.models import Caption, Crop, Mark
from publish.panel import annotate

SECONDS_PER_FRAME = 0.8


def render_frame(crop: Crop, marks: Sequence[Mark], caption: Caption) -> Image.Image:
    """One frame: the annotated crop over its date and time (large) and its credit line.

    Frames are padded to even sizes, as H.264 in yuv420p needs.
    """
    drawn = annotate(crop, marks, synthetic=caption.synthetic)
    credit = caption.credit + (" — SYNTHETIC image" if caption.synthetic else "")
    # Sized as on a 1600 px figure whatever the frame's width: the date must read at a glance.
    band = footer(
        crop.width, [(caption.when_text, True), (credit, False)], base=max(1600, crop.width)
    )
    width, height = crop.width + crop.width % 2, crop.height + band.height
    height += height % 2
    out = Image.new("RGB", (width, height), (255, 255, 255))
    out.paste(drawn.image, (0, 0))
    out.paste(band, (0, crop.height))
    return out


def encode_gif(frames: Sequence[Image.Image], seconds: float = SECONDS_PER_FRAME) -> bytes:
    """An endlessly looping GIF, one ``seconds`` per frame (the last one held twice as long)."""
    if not frames:
        raise ValueError("frames: a timelapse needs at least one")
    paletted = [f.convert("P", palette=Image.Palette.ADAPTIVE, colors=255) for f in frames]
    durations = [round(seconds * 1000)] * len(frames)
    durations[-1] *= 2
    out = io.BytesIO()
    paletted[0].save(
        out,
        "GIF",
        save_all=True,
        append_images=paletted[1:],
        duration=durations,
        loop=0,
        disposal=1,
    )
    return out.getvalue()


def encode_mp4(frames: Sequence[Image.Image], seconds: float = SECONDS_PER_FRAME) -> bytes:
    """An H.264 MP4 (yuv420p, plays in browsers), one frame every ``seconds``."""
    if not frames:
        raise ValueError("frames: a timelapse needs at least one")
    stack = np.stack([np.asarray(f.convert("RGB")) for f in frames])
    body = iio.imwrite(
        "<bytes>",
        stack,
        extension=".mp4",
        plugin="FFMPEG",
        fps=1 / seconds,
        codec="libx264",
        macro_block_size=2,
        ffmpeg_log_level="error",
        pixelformat="yuv420p",
        output_params=["-movflags", "+faststart"],
    )
    return bytes(body)
