#!/usr/bin/python3
"""make-golden.py — golden tensors for kafu_helper.image_to_tensor (test_nn.c).

Writes small deterministic PNG images (RGB, gray, RGBA, palette-free, written
here with zlib) and, for each, the tensor image_to_tensor must produce for a
few target sizes, computed by an independent numpy implementation of the
original helper's semantics (image crate resize_exact with the triangle
filter: vertical pass in float32, horizontal pass rounded to 8 bits; then
(v/255 - mean)/std per channel, planar NCHW float32).

    /usr/bin/python3 tests/data/nn/make-golden.py   (writes next to itself)
"""
import os
import struct
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def png(path, pixels, color_type):
    h, w = pixels.shape[:2]
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def taps(src, dst):
    f32 = np.float32
    ratio = f32(src) / f32(dst)
    scale = max(ratio, f32(1.0))
    support = f32(1.0) * scale
    out = []
    for o in range(dst):
        centre = (f32(o) + f32(0.5)) * ratio
        left = int(np.floor(centre - support))
        left = min(max(left, 0), src - 1)
        right = int(np.ceil(centre + support))
        right = min(max(right, left + 1), src)
        centre = centre - f32(0.5)
        ws = []
        for i in range(left, right):
            x = abs((f32(i) - centre) / scale)
            ws.append(f32(1.0) - x if x < f32(1.0) else f32(0.0))
        s = f32(0.0)
        for w in ws:
            s = f32(s + w)
        out.append((left, [f32(w / s) for w in ws]))
    return out


def resize(rgb, w, h):
    sh, sw = rgb.shape[:2]
    if (sw, sh) == (w, h):
        return rgb.copy()
    src = rgb.astype(np.float32)
    tmp = np.zeros((h, sw, 3), np.float32)
    for oy, (left, ws) in enumerate(taps(sh, h)):
        acc = np.zeros((sw, 3), np.float32)
        for k, wt in enumerate(ws):
            acc = (acc + src[left + k] * wt).astype(np.float32)
        tmp[oy] = acc
    out = np.zeros((h, w, 3), np.uint8)
    for ox, (left, ws) in enumerate(taps(sw, w)):
        acc = np.zeros((h, 3), np.float32)
        for k, wt in enumerate(ws):
            acc = (acc + tmp[:, left + k] * wt).astype(np.float32)
        v = np.clip(acc, 0, 255)
        fl = np.floor(v)
        out[:, ox] = np.where(v - fl >= np.float32(0.5), fl + 1, fl).astype(np.uint8)  # half away from zero
    return out


def tensor(rgb, w, h):
    px = resize(rgb, w, h).astype(np.float32)
    x = (px / np.float32(255.0) - MEAN) / STD
    return x.transpose(2, 0, 1).astype("<f4")


def main():
    rng = np.random.default_rng(1234)
    w, h = 37, 29
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 7) % 256, (y * 9) % 256, (x * y) % 256], -1).astype(np.uint8)
    rgb = np.clip(rgb.astype(int) + rng.integers(-20, 21, rgb.shape), 0, 255).astype(np.uint8)
    gray = rgb[..., 1].copy()
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
    png(os.path.join(HERE, "rgb.png"), rgb, 2)
    png(os.path.join(HERE, "gray.png"), gray, 0)
    png(os.path.join(HERE, "rgba.png"), np.concatenate([rgb, alpha[..., None]], -1), 6)
    sizes = [(16, 12), (50, 40), (37, 29), (37, 10), (1, 1)]
    for tw, th in sizes:
        tensor(rgb, tw, th).tofile(os.path.join(HERE, f"rgb_{tw}x{th}.f32"))
        gray3 = np.repeat(gray[..., None], 3, -1)
        tensor(gray3, tw, th).tofile(os.path.join(HERE, f"gray_{tw}x{th}.f32"))


if __name__ == "__main__":
    main()
