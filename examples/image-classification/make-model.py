#!/usr/bin/python3
"""make-model.py — build this example's model, labels and images from nothing.

Trains a small CNN in numpy on synthetic 224x224 pictures of four shapes
(circle, square, triangle, cross; random colours, sizes, positions, noise) and
writes it as an ImageNet-shaped ONNX model: input "data" float32
[1,3,224,224] normalised like ImageNet (what kafu_helper.image_to_tensor
produces), output "logits" float32 [1,1000]. Classes 0-3 are the shapes; the
other 996 outputs are fixed at a low constant so a program written for a
1000-class ImageNet model (softmax + argmax over 1000) runs unchanged.

Nothing is downloaded. Deterministic: a fixed seed, single-threaded BLAS, so
the same Debian packages give the same bytes.

    /usr/bin/python3 make-model.py [OUTDIR]     (default: ./fixture)

writes OUTDIR/models/shapes-cnn.onnx, OUTDIR/labels/shapes-cnn.txt and
OUTDIR/images/{circle,square,triangle,cross}.jpg (JPEGs through cjpeg from
Debian's libjpeg-turbo-progs). Uses python3-numpy and python3-onnx.
"""
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import subprocess  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

CLASSES = ["circle", "square", "triangle", "cross"]
SIZE = 224
POOL = 8  # first layer: 8x8 average pooling, 224 -> 28
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def draw(rng, cls, width=SIZE, height=SIZE):
    """One RGB8 picture of shape `cls` on a noisy background."""
    bg = rng.integers(0, 256, 3)
    while True:
        fg = rng.integers(0, 256, 3)
        if np.abs(fg.astype(int) - bg).sum() > 180:
            break
    scale = min(width, height) / SIZE
    r = rng.uniform(28, 64) * scale
    cx = rng.uniform(r + 4, width - r - 4)
    cy = rng.uniform(r + 4, height - r - 4)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    dx, dy = x - cx, y - cy
    if cls == 0:
        mask = dx * dx + dy * dy < r * r
    elif cls == 1:
        mask = (np.abs(dx) < 0.85 * r) & (np.abs(dy) < 0.85 * r)
    elif cls == 2:
        t = (dy + r) / (2 * r)  # 0 at the apex, 1 at the base
        mask = (t >= 0) & (t <= 1) & (np.abs(dx) < t * r)
    else:
        arm = 0.3 * r
        mask = ((np.abs(dx) < arm) & (np.abs(dy) < r)) | ((np.abs(dy) < arm) & (np.abs(dx) < r))
    img = np.where(mask[..., None], fg, bg).astype(np.float32)
    img += rng.normal(0, 12, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def preprocess(img):
    """RGB8 HxWx3 (224x224) -> normalised NCHW, pooled 8x8 (the model's first layer)."""
    x = (img.astype(np.float32) / 255.0 - MEAN) / STD
    x = x.transpose(2, 0, 1)
    return x.reshape(3, SIZE // POOL, POOL, SIZE // POOL, POOL).mean(axis=(2, 4))


# ---- a tiny CNN with hand-written backprop -------------------------------------


def conv_fwd(x, w, b):
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))  # n c h w 3 3
    cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * wd, c * 9)
    out = cols @ w.reshape(w.shape[0], -1).T + b
    return out.reshape(n, h, wd, -1).transpose(0, 3, 1, 2), cols


def conv_bwd(dout, cols, x, w):
    n, c, h, wd = x.shape
    f = w.shape[0]
    d = dout.transpose(0, 2, 3, 1).reshape(-1, f)
    dw = (d.T @ cols).reshape(w.shape)
    db = d.sum(0)
    dcols = (d @ w.reshape(f, -1)).reshape(n, h, wd, c, 3, 3)
    dxp = np.zeros((n, c, h + 2, wd + 2), np.float32)
    for i in range(3):
        for j in range(3):
            dxp[:, :, i:i + h, j:j + wd] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, 1:-1, 1:-1], dw, db


def pool_fwd(x):
    n, c, h, w = x.shape
    v = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = v.max(axis=(3, 5))
    mask = v == out[:, :, :, None, :, None]
    return out, mask


def pool_bwd(dout, mask):
    return (mask * dout[:, :, :, None, :, None]).reshape(mask.shape[0], mask.shape[1], mask.shape[2] * 2, -1)


def init(rng):
    def he(*shape):
        fan = int(np.prod(shape[1:]))
        return (rng.normal(0, np.sqrt(2.0 / fan), shape)).astype(np.float32)

    return {
        "w1": he(8, 3, 3, 3), "b1": np.zeros(8, np.float32),
        "w2": he(16, 8, 3, 3), "b2": np.zeros(16, np.float32),
        "w3": he(24, 16, 3, 3), "b3": np.zeros(24, np.float32),
        "wf": (rng.normal(0, 0.1, (len(CLASSES), 24))).astype(np.float32),
        "bf": np.zeros(len(CLASSES), np.float32),
    }


def forward(p, x, train=False):
    a1, c1 = conv_fwd(x, p["w1"], p["b1"])
    r1 = np.maximum(a1, 0)
    p1, m1 = pool_fwd(r1)
    a2, c2 = conv_fwd(p1, p["w2"], p["b2"])
    r2 = np.maximum(a2, 0)
    p2, m2 = pool_fwd(r2)
    a3, c3 = conv_fwd(p2, p["w3"], p["b3"])
    r3 = np.maximum(a3, 0)
    g = r3.mean(axis=(2, 3))
    logits = g @ p["wf"].T + p["bf"]
    if not train:
        return logits
    return logits, (x, a1, c1, p1, m1, a2, c2, p2, m2, a3, c3, g)


def backward(p, cache, dlogits):
    x, a1, c1, p1, m1, a2, c2, p2, m2, a3, c3, g = cache
    gr = {}
    gr["wf"] = dlogits.T @ g
    gr["bf"] = dlogits.sum(0)
    dg = dlogits @ p["wf"]
    dr3 = np.broadcast_to(dg[:, :, None, None] / (a3.shape[2] * a3.shape[3]), a3.shape)
    da3 = dr3 * (a3 > 0)
    dp2, gr["w3"], gr["b3"] = conv_bwd(da3, c3, p2, p["w3"])
    dr2 = pool_bwd(dp2, m2)
    da2 = dr2 * (a2 > 0)
    dp1, gr["w2"], gr["b2"] = conv_bwd(da2, c2, p1, p["w2"])
    dr1 = pool_bwd(dp1, m1)
    da1 = dr1 * (a1 > 0)
    _, gr["w1"], gr["b1"] = conv_bwd(da1, c1, x, p["w1"])
    return gr


def train(rng):
    n_train, n_val = 4000, 800
    labels = rng.integers(0, len(CLASSES), n_train + n_val)
    data = np.stack([preprocess(draw(rng, int(c))) for c in labels]).astype(np.float32)
    xtr, ytr, xva, yva = data[:n_train], labels[:n_train], data[n_train:], labels[n_train:]
    p = init(rng)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(val) for k, val in p.items()}
    lr, b1, b2, step = 3e-3, 0.9, 0.999, 0
    for epoch in range(14):
        order = rng.permutation(n_train)
        for i in range(0, n_train, 32):
            idx = order[i:i + 32]
            logits, cache = forward(p, xtr[idx], train=True)
            z = logits - logits.max(1, keepdims=True)
            prob = np.exp(z) / np.exp(z).sum(1, keepdims=True)
            dl = prob.copy()
            dl[np.arange(len(idx)), ytr[idx]] -= 1
            gr = backward(p, cache, (dl / len(idx)).astype(np.float32))
            step += 1
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * gr[k]
                v[k] = b2 * v[k] + (1 - b2) * gr[k] * gr[k]
                mh, vh = m[k] / (1 - b1 ** step), v[k] / (1 - b2 ** step)
                p[k] = (p[k] - lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
        if epoch == 9:
            lr /= 4
        acc = (forward(p, xva).argmax(1) == yva).mean()
        print(f"epoch {epoch + 1}: validation accuracy {acc:.3f}", file=sys.stderr)
    return p, acc


def export(p, path):
    t = lambda name, a: numpy_helper.from_array(np.ascontiguousarray(a, np.float32), name)  # noqa: E731
    wf = np.zeros((1000, p["wf"].shape[1]), np.float32)
    bf = np.full(1000, -8.0, np.float32)  # the 996 unused classes never win
    wf[:len(CLASSES)] = p["wf"]
    bf[:len(CLASSES)] = p["bf"]
    nodes = [
        helper.make_node("AveragePool", ["data"], ["pool0"], kernel_shape=[POOL, POOL], strides=[POOL, POOL]),
        helper.make_node("Conv", ["pool0", "w1", "b1"], ["conv1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv1"], ["relu1"]),
        helper.make_node("MaxPool", ["relu1"], ["pool1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pool1", "w2", "b2"], ["conv2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv2"], ["relu2"]),
        helper.make_node("MaxPool", ["relu2"], ["pool2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pool2", "w3", "b3"], ["conv3"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv3"], ["relu3"]),
        helper.make_node("GlobalAveragePool", ["relu3"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "wf", "bf"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "shapes-cnn",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])],
        [t("w1", p["w1"]), t("b1", p["b1"]), t("w2", p["w2"]), t("b2", p["b2"]),
         t("w3", p["w3"]), t("b3", p["b3"]), t("wf", wf), t("bf", bf)])
    model = helper.make_model(graph, producer_name="kafu make-model.py",
                              opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    onnx.checker.check_model(model)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def write_jpeg(img, path):
    with tempfile.NamedTemporaryFile(suffix=".ppm") as ppm:
        h, w, _ = img.shape
        ppm.write(b"P6\n%d %d\n255\n" % (w, h) + img.tobytes())
        ppm.flush()
        with open(path, "wb") as out:
            subprocess.run(["cjpeg", "-quality", "92", ppm.name], stdout=out, check=True)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture")
    for d in ("models", "labels", "images"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    rng = np.random.default_rng(20250612)
    p, acc = train(rng)
    export(p, os.path.join(out, "models", "shapes-cnn.onnx"))
    with open(os.path.join(out, "labels", "shapes-cnn.txt"), "w") as f:
        for i in range(1000):
            f.write((CLASSES[i] if i < len(CLASSES) else f"unused-{i}") + "\n")
    # one 320x240 picture per class, chosen so the model classifies it right
    img_rng = np.random.default_rng(7)
    for c, name in enumerate(CLASSES):
        for _ in range(50):
            img = draw(img_rng, c, 320, 240)
            # the model's view of it: the same triangle resize kafu uses is not
            # reproduced here; a nearest-neighbour 224x224 is close enough to pick
            ys = (np.arange(SIZE) * 240 // SIZE)
            xs = (np.arange(SIZE) * 320 // SIZE)
            logit = forward(p, preprocess(img[ys][:, xs])[None])[0]
            if logit.argmax() == c and np.sort(logit)[-1] - np.sort(logit)[-2] > 2.0:
                break
        write_jpeg(img, os.path.join(out, "images", f"{name}.jpg"))
    print(f"make-model: validation accuracy {acc:.3f}; wrote {out}/models/shapes-cnn.onnx "
          f"({os.path.getsize(os.path.join(out, 'models', 'shapes-cnn.onnx'))} bytes)")


if __name__ == "__main__":
    main()
