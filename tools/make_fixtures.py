#!/usr/bin/python3
"""Generates every test fixture under data/ (samples, fixtures, hostile).

The outputs are committed; CI never runs this script. Re-running it on the
same Debian 12 machine rewrites byte-identical files (no clock, no unseeded
randomness). Run it with Debian's interpreter, not a pyenv one:

    /usr/bin/python3 tools/make_fixtures.py            # writes into data/
    /usr/bin/python3 tools/make_fixtures.py --out DIR  # anywhere else

Debian 12 packages it needs:
    python3-pil python3-numpy          image I/O and pixel maths
    python3-skimage                    astronaut.png, camera.png (public domain / CC0)
    opencv-doc                         examples/data/messi5.jpg
    libjpeg-turbo-progs                jpegtran (lossless EXIF orientations), cjpeg (scan scripts, 4:4:0, 4:1:1)
    gcc libjpeg62-turbo-dev            a 30-line YCCK writer compiled on the fly (PIL cannot write YCCK)

data/README.md lists every file with its origin, licence and the reason it exists.
"""
import argparse
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from PIL import Image, ImageCms

SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
OPENCV = "/usr/share/doc/opencv-doc/examples/data"
ASTRONAUT = f"{SKIMAGE}/astronaut.png"
CAMERA = f"{SKIMAGE}/camera.png"
MESSI = f"{OPENCV}/messi5.jpg"

# ---------------------------------------------------------------------------
# small helpers


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def jpeg_bytes(im, **kw):
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def run(cmd, stdin=None):
    return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, check=True).stdout


def astronaut_portrait():
    """The astronaut, cropped to a 3:4 portrait around her face (384x512)."""
    return Image.open(ASTRONAUT).convert("RGB").crop((32, 0, 416, 512))


def rng(seed):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------
# JPEG segments


def segment(marker, payload):
    assert len(payload) + 2 <= 0xFFFF
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def strip_app_segments(jpeg):
    """Drops every APPn and COM segment (PIL's JFIF APP0 included)."""
    assert jpeg[:2] == b"\xff\xd8"
    out, i = bytearray(b"\xff\xd8"), 2
    while True:
        marker = jpeg[i + 1]
        if marker == 0xDA:  # SOS: the rest is entropy data
            out += jpeg[i:]
            return bytes(out)
        (length,) = struct.unpack(">H", jpeg[i + 2:i + 4])
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            out += jpeg[i:i + 2 + length]
        i += 2 + length


def insert_segments(jpeg, segments):
    """Replaces all APPn/COM segments by `segments`, right after SOI."""
    body = strip_app_segments(jpeg)
    return body[:2] + b"".join(segments) + body[2:]


def find_marker(jpeg, marker_set):
    """Offset of the first marker in marker_set, walking segment by segment."""
    i = 2
    while i < len(jpeg):
        marker = jpeg[i + 1]
        if marker in marker_set:
            return i
        (length,) = struct.unpack(">H", jpeg[i + 2:i + 4])
        i += 2 + length
    raise ValueError("marker not found")


SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def patch_sof_size(jpeg, width, height):
    i = find_marker(jpeg, SOF_MARKERS)
    b = bytearray(jpeg)
    b[i + 5:i + 7] = struct.pack(">H", height)
    b[i + 7:i + 9] = struct.pack(">H", width)
    return bytes(b)


def entropy_start(jpeg):
    i = find_marker(jpeg, {0xDA})
    (length,) = struct.unpack(">H", jpeg[i + 2:i + 4])
    return i + 2 + length


# ---------------------------------------------------------------------------
# EXIF (TIFF) blocks, built by hand so that broken variants are easy

ASCII, SHORT, LONG, RATIONAL = 2, 3, 4, 5


def _encode_values(typ, values, e):
    if typ == ASCII:
        return values.encode() + b"\0"
    if typ == SHORT:
        return b"".join(struct.pack(e + "H", v) for v in values)
    if typ == LONG:
        return b"".join(struct.pack(e + "I", v) for v in values)
    if typ == RATIONAL:
        return b"".join(struct.pack(e + "II", n, d) for n, d in values)
    raise ValueError(typ)


def _count(typ, values):
    return len(values) + 1 if typ == ASCII else len(values)


def tiff_block(ifd0, gps=None, big_endian=False):
    """A TIFF block: IFD0 (tag, type, values) entries and an optional GPS IFD."""
    e = ">" if big_endian else "<"
    ifd0 = sorted(ifd0 + ([(0x8825, LONG, [0])] if gps else []))

    def size(entries):
        data = sum((len(_encode_values(t, v, e)) + 1) & ~1 for _, t, v in entries
                   if len(_encode_values(t, v, e)) > 4)
        return 2 + 12 * len(entries) + 4, data

    ifd0_size, ifd0_data = size(ifd0)
    gps_offset = 8 + ifd0_size + ifd0_data
    if gps:
        ifd0 = [(t, ty, [gps_offset] if t == 0x8825 else v) for t, ty, v in ifd0]

    def emit(entries, offset):
        head_size, _ = size(entries)
        head = struct.pack(e + "H", len(entries))
        data, data_off = b"", offset + head_size
        for tag, typ, values in entries:
            raw = _encode_values(typ, values, e)
            head += struct.pack(e + "HHI", tag, typ, _count(typ, values))
            if len(raw) <= 4:
                head += raw.ljust(4, b"\0")
            else:
                head += struct.pack(e + "I", data_off + len(data))
                data += raw + (b"\0" if len(raw) & 1 else b"")
        return head + struct.pack(e + "I", 0) + data

    out = (b"MM\0*" if big_endian else b"II*\0") + struct.pack(e + "I", 8) + emit(ifd0, 8)
    if gps:
        assert len(out) == gps_offset
        out += emit(sorted(gps), gps_offset)
    return out


def exif_app1(tiff):
    return segment(0xE1, b"Exif\0\0" + tiff)


def orientation_exif(n, big_endian=False):
    return exif_app1(tiff_block([(0x0112, SHORT, [n])], big_endian=big_endian))


# ---------------------------------------------------------------------------
# PNG writer (PIL cannot write 16-bit RGB, Adam7 or a chosen chunk order)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def _pack_rows(a, bit_depth):
    """Rows of samples -> list of row bytes (a: HxWxC uint8/uint16, or HxW index/gray)."""
    if bit_depth == 16:
        return [r.astype(">u2").tobytes() for r in a.reshape(a.shape[0], -1)]
    if bit_depth == 8:
        return [r.astype(np.uint8).tobytes() for r in a.reshape(a.shape[0], -1)]
    per_byte = 8 // bit_depth
    rows = []
    for r in a.reshape(a.shape[0], -1).astype(np.uint8):
        pad = (-len(r)) % per_byte
        r = np.concatenate([r, np.zeros(pad, np.uint8)]).reshape(-1, per_byte)
        packed = np.zeros(len(r), np.uint8)
        for k in range(per_byte):
            packed |= r[:, k] << (8 - bit_depth * (k + 1))
        rows.append(packed.tobytes())
    return rows


def _filter_rows(rows, bpp):
    """Adaptive PNG filtering: per row, the filter (0-4) with the smallest sum
    of absolute signed residuals, as libpng does."""
    out, prev = bytearray(), None
    for r in rows:
        x = np.frombuffer(r, np.uint8).astype(np.int16)
        b = np.zeros_like(x) if prev is None else prev
        a = np.concatenate([np.zeros(bpp, np.int16), x[:-bpp]])
        c = np.concatenate([np.zeros(bpp, np.int16), b[:-bpp]])
        p = a + b - c
        pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
        paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
        candidates = [x, x - a, x - b, x - (a + b) // 2, x - paeth]
        best = min(range(5), key=lambda f: int(np.abs(candidates[f].astype(np.int8)).sum()))
        out += bytes([best]) + (candidates[best] & 0xFF).astype(np.uint8).tobytes()
        prev = x
    return bytes(out)


def png_bytes(a, color_type, bit_depth=8, palette=None, trns=None, interlace=False,
              pre_idat=(), idat_chunk_size=1 << 20):
    h, w = a.shape[:2]
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    bpp = max(1, channels * bit_depth // 8)
    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = a[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += _filter_rows(_pack_rows(sub, bit_depth), bpp)
    else:
        raw = _filter_rows(_pack_rows(a, bit_depth), bpp)
    z = zlib.compress(raw, 9)
    out = b"\x89PNG\r\n\x1a\n"
    out += png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        out += png_chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        out += png_chunk(b"tRNS", bytes(np.asarray(trns, np.uint8)))
    for kind, data in pre_idat:
        out += png_chunk(kind, data)
    for i in range(0, len(z), idat_chunk_size):
        out += png_chunk(b"IDAT", z[i:i + idat_chunk_size])
    return out + png_chunk(b"IEND", b"")


def png_chunks(png):
    """[(offset, kind, length)] of every chunk."""
    i, out = 8, []
    while i < len(png):
        (n,) = struct.unpack(">I", png[i:i + 4])
        out.append((i, png[i + 4:i + 8], n))
        i += 12 + n
    return out


# ---------------------------------------------------------------------------
# A libjpeg writer for what PIL and cjpeg cannot write: YCCK, 190 scans


JPEGW_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
static jpeg_scan_info scans[190];
/* usage: jpegw ycck W H QUALITY < cmyk-samples > out.jpg
          jpegw scans W H QUALITY < rgb-samples > out.jpg
   ycck: samples are stored as given (Adobe convention: inverted);
   jpeg_set_colorspace(JCS_YCCK) writes the Adobe APP14 marker with transform=2.
   scans: a progressive JPEG with 1 + 63*3 = 190 scans (DC, then each AC
   coefficient of each component alone); cjpeg -scans stops at 100. */
int main(int argc, char** argv) {
  if (argc != 5) return 1;
  int ycck = strcmp(argv[1], "ycck") == 0;
  int w = atoi(argv[2]), h = atoi(argv[3]), q = atoi(argv[4]);
  int comps = ycck ? 4 : 3;
  size_t n = (size_t)w * h * comps;
  unsigned char* buf = malloc(n);
  if (!buf || fread(buf, 1, n, stdin) != n) return 2;
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, stdout);
  c.image_width = w; c.image_height = h; c.input_components = comps;
  c.in_color_space = ycck ? JCS_CMYK : JCS_RGB;
  jpeg_set_defaults(&c);
  if (ycck) {
    jpeg_set_colorspace(&c, JCS_YCCK);
    for (int i = 0; i < 4; ++i) { c.comp_info[i].h_samp_factor = 1; c.comp_info[i].v_samp_factor = 1; }
  } else {
    int k = 0;
    scans[k].comps_in_scan = 3;
    for (int i = 0; i < 3; ++i) scans[k].component_index[i] = i;
    scans[k].Ss = scans[k].Se = scans[k].Ah = scans[k].Al = 0;
    for (int s = 1; s < 64; ++s)
      for (int i = 0; i < 3; ++i) {
        ++k;
        scans[k].comps_in_scan = 1; scans[k].component_index[0] = i;
        scans[k].Ss = scans[k].Se = s; scans[k].Ah = scans[k].Al = 0;
      }
    c.scan_info = scans; c.num_scans = k + 1;
  }
  jpeg_set_quality(&c, q, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = buf + (size_t)c.next_scanline * w * comps;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  free(buf);
  return 0;
}
"""


def build_jpeg_writer(tmp):
    src, exe = os.path.join(tmp, "jpegw.c"), os.path.join(tmp, "jpegw")
    with open(src, "w") as f:
        f.write(JPEGW_C)
    subprocess.run(["gcc", "-O1", "-o", exe, src, "-ljpeg"], check=True)
    return exe


def rgb_to_adobe_cmyk(rgb):
    """RGB -> CMYK samples as Adobe stores them (inverted: 255 = no ink), full
    black generation, so that R = C*K/255 (the usual decode) gives RGB back."""
    a = rgb.astype(np.float64)
    k = a.max(axis=2)                        # stored K = 255 - black ink
    safe = np.where(k == 0, 1, k)
    cmy = np.where(k[..., None] == 0, 0, a * 255.0 / safe[..., None])
    return np.dstack([np.clip(np.rint(cmy), 0, 255), k]).astype(np.uint8)


# ---------------------------------------------------------------------------
# data/samples: realistic inputs for the quick start


def make_samples(out):
    d = os.path.join(out, "samples")
    portrait = astronaut_portrait()

    big = portrait.resize((1152, 1536), Image.LANCZOS)
    write(f"{d}/astronaut_portrait.jpg", jpeg_bytes(big, quality=85, subsampling=2))

    # A phone-style shot: stored landscape, EXIF says "rotate 90 CW to view".
    tight = Image.open(ASTRONAUT).convert("RGB").crop((70, 0, 370, 400)).resize((1200, 1600), Image.LANCZOS)
    stored = tight.transpose(Image.ROTATE_90)  # 1600x1200; orientation 6 turns it back upright
    exif = exif_app1(tiff_block([
        (0x010F, ASCII, "kycprep fixture"),   # Make
        (0x0110, ASCII, "orientation 6"),     # Model
        (0x0112, SHORT, [6]),                 # Orientation
    ]))
    write(f"{d}/astronaut_exif6.jpg", insert_segments(jpeg_bytes(stored, quality=85, subsampling=2), [exif]))

    cam = Image.open(CAMERA).convert("L").crop((96, 0, 480, 512)).resize((720, 960), Image.LANCZOS)
    write(f"{d}/cameraman_portrait.png", png_bytes(np.asarray(cam), color_type=0))

    messi = Image.open(MESSI).convert("RGB")
    messi = messi.resize((messi.width * 2, messi.height * 2), Image.LANCZOS)
    write(f"{d}/messi_landscape.jpg", jpeg_bytes(messi, quality=85, subsampling=2))


# ---------------------------------------------------------------------------
# data/fixtures/orientation


JPEGTRAN_FOR = {  # stored = this transform of the upright image
    1: None,
    2: ["-flip", "horizontal"],
    3: ["-rotate", "180"],
    4: ["-flip", "vertical"],
    5: ["-transpose"],
    6: ["-rotate", "270"],
    7: ["-transverse"],
    8: ["-rotate", "90"],
}


def make_orientation(out):
    d = os.path.join(out, "fixtures", "orientation")
    upright = astronaut_portrait().resize((240, 320), Image.LANCZOS)  # multiples of 16: -perfect works
    write(f"{d}/upright.png", png_bytes(np.asarray(upright), color_type=2))
    base = jpeg_bytes(upright, quality=92, subsampling=2)
    for n, args in JPEGTRAN_FOR.items():
        stored = base if args is None else run(["jpegtran", "-perfect", "-copy", "none"] + args, base)
        write(f"{d}/orient_{n}.jpg", insert_segments(stored, [orientation_exif(n, big_endian=(n % 2 == 0))]))

    # PNG with an eXIf chunk (before IDAT) saying orientation 6.
    stored = np.asarray(upright.transpose(Image.ROTATE_90))
    exif = tiff_block([(0x0112, SHORT, [6])])
    write(f"{d}/orient_6.png", png_bytes(stored, color_type=2, pre_idat=[(b"eXIf", exif)]))


# ---------------------------------------------------------------------------
# data/fixtures/png


def palette_image(w, h, bits):
    """Synthetic index image + palette; tests/test_decode.cpp repeats these formulas."""
    y, x = np.mgrid[0:h, 0:w]
    if bits == 1:
        idx = ((x // 8) + (y // 8)) % 2
        pal = [(200, 30, 40), (20, 60, 220)]
    elif bits == 4:
        idx = ((x // 4) + (y // 4)) % 16
        pal = [(i * 17, 255 - i * 17, (i * 53) % 256) for i in range(16)]
    else:
        idx = (x + 3 * y) % 256
        pal = [(i, (i * 7) % 256, 255 - i) for i in range(256)]
    return idx.astype(np.uint8), pal


def alpha_ramp(w, h):
    """Alpha of rgba8.png / gray_alpha8.png: (4x + 3y) mod 256 (tests repeat it)."""
    y, x = np.mgrid[0:h, 0:w]
    return ((4 * x + 3 * y) % 256).astype(np.uint8)


def low_byte_pattern(shape):
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    p = (x * 37 + y * 91) & 0xFF
    if len(shape) == 3:
        p = np.dstack([(p + 53 * c) & 0xFF for c in range(shape[2])])
    return p.astype(np.uint16)


def make_png(out):
    d = os.path.join(out, "fixtures", "png")
    rgb = np.asarray(astronaut_portrait().resize((192, 256), Image.LANCZOS))
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    h, w = gray.shape

    write(f"{d}/rgb8.png", png_bytes(rgb, color_type=2))
    # 16-bit: high byte = the 8-bit value, low byte = an unrelated pattern, so that
    # any sane 16->8 reduction (>>8 or *255/65535) lands within 1 of rgb8 while
    # reading the wrong byte of each sample does not.
    rgb16 = (rgb.astype(np.uint16) << 8) | low_byte_pattern(rgb.shape)
    write(f"{d}/rgb16.png", png_bytes(rgb16, color_type=2, bit_depth=16))
    write(f"{d}/gray8.png", png_bytes(gray, color_type=0))
    gray16 = (gray.astype(np.uint16) << 8) | low_byte_pattern(gray.shape)
    write(f"{d}/gray16.png", png_bytes(gray16, color_type=0, bit_depth=16))

    for bits in (1, 4, 8):
        idx, pal = palette_image(64, 48, bits)
        write(f"{d}/palette{bits}.png", png_bytes(idx, color_type=3, bit_depth=bits, palette=pal))
    idx, pal = palette_image(64, 48, 8)
    trns = [min(255, i * 2) for i in range(256)]  # index i: alpha 2i (opaque from 128 on)
    write(f"{d}/palette8_trns.png", png_bytes(idx, color_type=3, bit_depth=8, palette=pal, trns=trns))

    a = alpha_ramp(w, h)
    write(f"{d}/rgba8.png", png_bytes(np.dstack([rgb, a]), color_type=6))
    write(f"{d}/gray_alpha8.png", png_bytes(np.dstack([gray, a]), color_type=4))

    # Opaque photo, but a fully transparent rectangle x in [16,80), y in [24,88)
    # whose colour is pure red: a decoder that drops alpha shows red, not white.
    t_rgb, t_a = rgb.copy(), np.full((h, w), 255, np.uint8)
    t_rgb[24:88, 16:80] = (255, 0, 0)
    t_a[24:88, 16:80] = 0
    write(f"{d}/transparent_region.png", png_bytes(np.dstack([t_rgb, t_a]), color_type=6))

    write(f"{d}/adam7_rgb8.png", png_bytes(rgb, color_type=2, interlace=True))


# ---------------------------------------------------------------------------
# data/fixtures/jpeg


def fixed_icc_profile():
    """lcms2's sRGB profile with its creation date pinned (bytes 24..35)."""
    p = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    p[24:36] = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
    return bytes(p)


def make_jpeg(out, tmp, jpegw):
    d = os.path.join(out, "fixtures", "jpeg")
    base = astronaut_portrait()  # 384x512

    write(f"{d}/baseline_420.jpg", jpeg_bytes(base, quality=90, subsampling=2))
    write(f"{d}/baseline_422.jpg", jpeg_bytes(base, quality=90, subsampling=1))
    write(f"{d}/baseline_444.jpg", jpeg_bytes(base, quality=90, subsampling=0))
    write(f"{d}/progressive_420.jpg", jpeg_bytes(base, quality=90, subsampling=2, progressive=True))
    write(f"{d}/gray.jpg", jpeg_bytes(base.convert("L"), quality=90))

    ppm = os.path.join(tmp, "base.ppm")
    base.save(ppm)
    write(f"{d}/baseline_440.jpg", run(["cjpeg", "-quality", "90", "-sample", "1x2,1x1,1x1", ppm]))
    write(f"{d}/baseline_411.jpg", run(["cjpeg", "-quality", "90", "-sample", "4x1,1x1,1x1", ppm]))

    # CMYK as Photoshop writes it: Adobe APP14 (transform 0), inverted samples.
    # PIL's CMYK mode holds ink amounts and saves them inverted ("CMYK;I").
    # 192x256, the very pixels of png/rgb8.png, so that tests compare against a lossless original.
    ref = base.resize((192, 256), Image.LANCZOS)
    adobe = rgb_to_adobe_cmyk(np.asarray(ref))
    ink = Image.frombytes("CMYK", ref.size, (255 - adobe).tobytes())
    write(f"{d}/cmyk_adobe.jpg", jpeg_bytes(ink, quality=92))
    ycck = run([jpegw, "ycck", str(ref.width), str(ref.height), "92"], adobe.tobytes())
    write(f"{d}/ycck_adobe.jpg", ycck)

    write(f"{d}/icc_srgb.jpg", jpeg_bytes(base, quality=90, subsampling=2, icc_profile=fixed_icc_profile()))

    # Every kind of metadata an upload must not leak: EXIF with GPS, XMP, IPTC, COM.
    gps = [
        (0x0001, ASCII, "N"), (0x0002, RATIONAL, [(31, 1), (14, 1), (1234, 100)]),
        (0x0003, ASCII, "E"), (0x0004, RATIONAL, [(121, 1), (28, 1), (5678, 100)]),
    ]
    exif = exif_app1(tiff_block([
        (0x010F, ASCII, "kycprep fixture"), (0x0110, ASCII, "metadata"),
        (0x0112, SHORT, [1]), (0x0132, ASCII, "2024:01:01 00:00:00"),
        (0x013B, ASCII, "SECRET-ARTIST-NAME"),
    ], gps=gps))
    xmp = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" +
                  b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                  b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="SECRET-XMP-CREATOR"/>'
                  b"</rdf:RDF></x:xmpmeta>")
    iptc = segment(0xED, b"Photoshop 3.0\0" + b"8BIM\x04\x04\0\0" + struct.pack(">I", 24) +
                   b"\x1c\x02\x50\x00\x12SECRET-IPTC-BYLINE" + b"\x00")
    com = segment(0xFE, b"SECRET-COMMENT: lat 31.2 lon 121.5")
    write(f"{d}/metadata_all.jpg",
          insert_segments(jpeg_bytes(base, quality=90, subsampling=2), [exif, xmp, iptc, com]))

    junk = rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    write(f"{d}/junk_after_eoi.jpg", jpeg_bytes(base, quality=90, subsampling=2) + b"\xff\xd8JUNK" + junk)

    # Odd size (not a multiple of the MCU) for scaled and region decodes.
    odd = Image.open(ASTRONAUT).convert("RGB").resize((397, 533), Image.LANCZOS)
    write(f"{d}/odd_size_420.jpg", jpeg_bytes(odd, quality=90, subsampling=2))


# ---------------------------------------------------------------------------
# data/hostile


def make_hostile(out, jpegw):
    d = os.path.join(out, "hostile")
    base = astronaut_portrait()
    small = base.resize((96, 128), Image.LANCZOS)
    r = rng(42)

    write(f"{d}/empty.jpg", b"")

    # Other formats (real files where PIL writes them), named .jpg/.png on purpose.
    def pil(im, fmt, **kw):
        buf = io.BytesIO()
        im.save(buf, fmt, **kw)
        return buf.getvalue()
    tiny = base.resize((24, 32), Image.LANCZOS)
    write(f"{d}/magic_gif.jpg", pil(tiny, "GIF"))
    write(f"{d}/magic_webp.jpg", pil(tiny, "WEBP", lossless=True))
    write(f"{d}/magic_bmp.png", pil(tiny, "BMP"))
    write(f"{d}/magic_tiff_le.jpg", pil(tiny, "TIFF"))
    mm = b"MM\0*" + struct.pack(">I", 8) + struct.pack(">H", 0) + b"\0\0\0\0"
    write(f"{d}/magic_tiff_be.jpg", mm)
    write(f"{d}/magic_heic.jpg", struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0" + b"mif1heic" + b"\0" * 8)
    write(f"{d}/magic_avif.jpg", struct.pack(">I", 28) + b"ftypavif" + b"\0\0\0\0" + b"avifmif1miaf" + b"\0" * 8)
    write(f"{d}/magic_jp2.jpg", b"\0\0\0\x0cjP  \r\n\x87\n" + struct.pack(">I", 20) + b"ftypjp2 \0\0\0\0jp2 ")
    write(f"{d}/magic_jxl.jpg", b"\xff\x0a" + bytes(r.integers(0, 256, 30, dtype=np.uint8)))
    write(f"{d}/magic_pdf.jpg", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
    write(f"{d}/text.jpg", b"This is not an image. It is a text file saved with a .jpg name.\n" * 4)
    write(f"{d}/random.jpg", bytes(r.integers(0, 256, 2048, dtype=np.uint8)))

    # Truncation.
    full = jpeg_bytes(base, quality=90, subsampling=2)
    s = entropy_start(full)
    write(f"{d}/truncated_50.jpg", full[:s + (len(full) - s) // 2])
    png = png_bytes(np.asarray(small), color_type=2, idat_chunk_size=4096)
    idats = [c for c in png_chunks(png) if c[1] == b"IDAT"]
    off, _, n = idats[len(idats) // 2]
    write(f"{d}/truncated_mid_idat.png", png[:off + 8 + n // 2])

    # Corrupt entropy data: 64 bytes of FF 00 (all-ones bits: no valid Huffman code) at 40%.
    b = bytearray(full)
    mid = s + (len(full) - s) * 2 // 5
    b[mid:mid + 64] = b"\xff\x00" * 32
    write(f"{d}/corrupt_entropy.jpg", bytes(b))

    # Size bombs and implausible sizes: valid headers on tiny files.
    tiny_jpeg = jpeg_bytes(small.resize((16, 16)), quality=75)
    write(f"{d}/bomb_65500x65500.jpg", patch_sof_size(tiny_jpeg, 65500, 65500))
    write(f"{d}/side_30000x16.jpg", patch_sof_size(tiny_jpeg, 30000, 16))
    two_kb = jpeg_bytes(small.crop((16, 16, 80, 80)), quality=75)
    write(f"{d}/implausible_7800x7800.jpg", patch_sof_size(two_kb, 7800, 7800))
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    write(f"{d}/bomb_100000x100000.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
          png_chunk(b"IDAT", zlib.compress(b"\0" * 1024, 9)) + png_chunk(b"IEND", b""))

    # Progressive JPEG with 190 scans: DC, then every AC coefficient of every component alone.
    write(f"{d}/scans_190.jpg", run([jpegw, "scans", "96", "128", "85"], small.tobytes()))

    # Corrupt EXIF: each must still decode, orientation 1, with a warning.
    pixels = jpeg_bytes(small, quality=85, subsampling=2)
    good = tiff_block([(0x0112, SHORT, [6])])

    oor = bytearray(good)
    oor[4:8] = struct.pack("<I", 0xFFFF0000)  # IFD0 offset far past the block
    write(f"{d}/exif_ifd_offset_oor.jpg", insert_segments(pixels, [exif_app1(bytes(oor))]))

    selfref = bytearray(good)
    selfref[4:8] = struct.pack("<I", 0)  # IFD0 "at" the TIFF header: a loop onto itself
    write(f"{d}/exif_ifd_selfref.jpg", insert_segments(pixels, [exif_app1(bytes(selfref))]))

    # IFD0 (orientation 3) whose next-IFD link and ExifIFD pointer both lead back
    # to IFD0: a walker must stop; the orientation itself is well formed.
    loop = tiff_block([(0x0112, SHORT, [3]), (0x8769, LONG, [8])])
    loop = bytearray(loop)
    loop[8 + 2 + 12 * 2:8 + 2 + 12 * 2 + 4] = struct.pack("<I", 8)
    write(f"{d}/exif_ifd_chain_loop.jpg", insert_segments(pixels, [exif_app1(bytes(loop))]))

    big = tiff_block([(0x010F, ASCII, "kycprep fixture truncated"), (0x0110, ASCII, "x" * 40), (0x0112, SHORT, [6])])
    write(f"{d}/exif_truncated.jpg", insert_segments(pixels, [exif_app1(big[:30])]))
    write(f"{d}/exif_orientation_9.jpg", insert_segments(pixels, [orientation_exif(9)]))
    write(f"{d}/exif_orientation_0.jpg", insert_segments(pixels, [orientation_exif(0)]))

    # PNG: an IDAT with a wrong CRC; an eXIf chunk of garbage ("II" then noise).
    small_png = png_bytes(np.asarray(small), color_type=2)
    b = bytearray(small_png)
    off, _, n = [c for c in png_chunks(small_png) if c[1] == b"IDAT"][0]
    b[off + 8 + n:off + 12 + n] = bytes(x ^ 0xFF for x in b[off + 8 + n:off + 12 + n])
    write(f"{d}/bad_crc.png", bytes(b))
    garbage = b"II" + bytes(r.integers(0, 256, 62, dtype=np.uint8))
    write(f"{d}/garbage_exif.png", png_bytes(np.asarray(small), color_type=2, pre_idat=[(b"eXIf", garbage)]))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "data"))
    args = ap.parse_args()
    for tool in ("jpegtran", "cjpeg", "gcc"):
        if not shutil.which(tool):
            sys.exit(f"missing {tool}: apt-get install libjpeg-turbo-progs gcc libjpeg62-turbo-dev")
    with tempfile.TemporaryDirectory() as tmp:
        jpegw = build_jpeg_writer(tmp)
        make_samples(args.out)
        make_orientation(args.out)
        make_png(args.out)
        make_jpeg(args.out, tmp, jpegw)
        make_hostile(args.out, jpegw)


if __name__ == "__main__":
    main()
