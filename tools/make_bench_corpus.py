#!/usr/bin/python3
"""Generate a realistic benchmark corpus for `kycprep bench` and bench/.

Usage: /usr/bin/python3 tools/make_bench_corpus.py OUT_DIR [--count N]

Needs Debian packages python3-pil, python3-numpy, python3-skimage (the face
photos: skimage's astronaut.png, public domain; camera.png, CC0). Nothing
large is committed: run this once, it takes a few seconds per file.

Writes, deterministically (fixed seeds):
  phone12_N.jpg          4032x3024 q92 4:2:0 baseline, camera-like noise (~2.5-4 MB), landscape as stored
  phone12_rot6_N.jpg     the same kind of scene stored sideways (3024 wide, 4032 high stored landscape)
                         with EXIF Orientation 6, as phones write portrait shots
  phone12_nothumb_N.jpg  phone12_N.jpg without its EXIF block, as upload backends that strip
                         metadata store photos
  phone12_prog.jpg       a progressive 12 MP JPEG
  phone3_N.jpg           2016x1512 q92 4:2:0
  png1_N.png             1 MP (1152x864) RGB PNG
Every phone*.jpg but the _nothumb_ ones carries an EXIF block as cameras write it: IFD0 with the
Orientation tag and IFD1 with a 160x120 (or 120x160) JPEG thumbnail of the stored pixels.
"""
import argparse
import io
import os
import struct

import numpy as np
from PIL import Image
from skimage import data


def scene(w, h, seed):
    """A portrait scene: the astronaut's face region on a textured background."""
    rng = np.random.default_rng(seed)
    # Head and shoulders of the astronaut (face at about x 170-260, y 60-175 of 512).
    face = Image.fromarray(data.astronaut()).crop((90, 0, 350, 350))
    # Scaled so that the face spans about a quarter of the short side, as in a selfie at arm's length.
    subject_h = int(min(w, h) * 0.9)
    subject_w = subject_h * 260 // 350
    subject = face.resize((subject_w, subject_h), Image.BICUBIC)
    bg = Image.fromarray(data.coffee()).resize((w, h), Image.BICUBIC)
    canvas = bg.copy()
    x = (w - subject_w) // 2 + int(rng.integers(-w // 10, w // 10))
    canvas.paste(subject, (x, h - subject_h))
    arr = np.asarray(canvas).astype(np.float32)
    # Camera-like noise: luma + chroma grain, slightly stronger in shadows.
    luma_noise = rng.normal(0, 3.8, (h, w, 1)).astype(np.float32)
    chroma_noise = rng.normal(0, 1.8, (h, w, 3)).astype(np.float32)
    shadow = 1.0 + (1.0 - arr.mean(axis=2, keepdims=True) / 255.0) * 0.6
    arr = np.clip(arr + (luma_noise + chroma_noise) * shadow, 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def camera_exif(stored, orientation):
    """A big-endian EXIF block as cameras write it: IFD0 with Orientation, linked to IFD1, which holds
    a 160x120 JPEG thumbnail of the stored pixels (Compression 6, JPEGInterchangeFormat/Length)."""
    thumb = stored.copy()
    thumb.thumbnail((160, 160), Image.BILINEAR)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=80)
    jpeg = buf.getvalue()
    ifd0 = struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    ifd1_offset = 8 + len(ifd0) + 4
    ifd1_size = 2 + 3 * 12 + 4
    thumb_offset = ifd1_offset + ifd1_size
    ifd1 = (struct.pack(">H", 3) + struct.pack(">HHIHH", 0x0103, 3, 1, 6, 0) +
            struct.pack(">HHII", 0x0201, 4, 1, thumb_offset) + struct.pack(">HHII", 0x0202, 4, 1, len(jpeg)) +
            struct.pack(">I", 0))
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd0 + struct.pack(">I", ifd1_offset) + ifd1 + jpeg
    return b"Exif\x00\x00" + tiff


def save_jpeg(img, path, progressive=False, exif=None):
    kwargs = dict(quality=92, subsampling="4:2:0", optimize=False, progressive=progressive)
    if exif:
        kwargs["exif"] = exif
    img.save(path, "JPEG", **kwargs)


def save_phone_jpeg(img, path, progressive=False, orientation=1):
    save_jpeg(img, path, progressive, exif=camera_exif(img, orientation))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, default=3, help="files per kind (default 3)")
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    for i in range(a.count):
        img = scene(4032, 3024, 100 + i)
        save_phone_jpeg(img, os.path.join(a.out_dir, f"phone12_{i}.jpg"))
        save_jpeg(img, os.path.join(a.out_dir, f"phone12_nothumb_{i}.jpg"))
        # Portrait shot stored sideways: pixels rotated 90 CCW, Orientation 6 says "rotate 90 CW to view".
        portrait = scene(3024, 4032, 200 + i)
        save_phone_jpeg(portrait.transpose(Image.ROTATE_90), os.path.join(a.out_dir, f"phone12_rot6_{i}.jpg"),
                        orientation=6)
        save_phone_jpeg(scene(2016, 1512, 300 + i), os.path.join(a.out_dir, f"phone3_{i}.jpg"))
        scene(1152, 864, 400 + i).save(os.path.join(a.out_dir, f"png1_{i}.png"), "PNG", compress_level=6)
    save_phone_jpeg(scene(4032, 3024, 500), os.path.join(a.out_dir, "phone12_prog.jpg"), progressive=True)
    for name in sorted(os.listdir(a.out_dir)):
        print(f"{os.path.getsize(os.path.join(a.out_dir, name)):>10}  {name}")


if __name__ == "__main__":
    main()
