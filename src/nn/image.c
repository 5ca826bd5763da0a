/*
 * image.c — image preprocessing for kafu_helper.image_to_tensor (nn.h).
 *
 * Semantics of the original Kafu's helper, which it got from Rust's `image`
 * crate: decode, resize_exact to width x height with the triangle filter,
 * RGB8, then per channel (v / 255 - mean) / std into planar NCHW float32.
 *
 * The resize is the crate's separable filter, reproduced in float32
 * arithmetic step by step so the tensors match: first a vertical pass over
 * whole rows (kept in float), then a horizontal pass rounded to 8 bits. For
 * each output coordinate o of a source extent `src` resized to `dst`:
 *   ratio = src/dst, scale = max(ratio, 1), centre = (o + 0.5) * ratio,
 *   taps i in [floor(centre - scale), ceil(centre + scale)) clipped to the
 *   image (at least one), weight_i = tri((i - (centre - 0.5)) / scale),
 *   tri(x) = max(0, 1 - |x|), weights normalised to sum 1.
 * Decoding uses libjpeg-turbo and libpng (never OpenCV's imgcodecs); 16-bit
 * PNG samples are scaled to 8 bits before the resize (the crate resizes in 16
 * bits first: results can differ by one level in rare pixels).
 */
#include <math.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* needs size_t and FILE first */
#include <png.h>

#include "kafu/nn.h"
#include "nn_internal.h"

/* upper bound of the intermediate (vertical pass) buffer, in floats */
#define MAX_TMP_FLOATS (128u * 1024 * 1024)

static const float MEAN[3] = {0.485f, 0.456f, 0.406f};
static const float STDV[3] = {0.229f, 0.224f, 0.225f};

/* ---- JPEG ------------------------------------------------------------------ */

typedef struct jerr {
  struct jpeg_error_mgr pub;
  jmp_buf jb;
  char msg[JMSG_LENGTH_MAX];
} jerr;

static void j_error_exit(j_common_ptr c) {
  jerr *e = (jerr *)c->err;
  c->err->format_message(c, e->msg);
  longjmp(e->jb, 1);
}

static void j_output_message(j_common_ptr c) { (void)c; /* warnings are not printed */ }

/* A hostile progressive JPEG can have thousands of scans, each a full pass. */
static void j_progress(j_common_ptr c) {
  j_decompress_ptr d = (j_decompress_ptr)c;
  if (d->input_scan_number > 500) {
    jerr *e = (jerr *)c->err;
    snprintf(e->msg, sizeof e->msg, "more than 500 progressive scans");
    longjmp(e->jb, 1);
  }
}

static int decode_jpeg(const uint8_t *file, size_t len, uint8_t **rgb, uint32_t *w, uint32_t *h,
                       kafu_err *err) {
  struct jpeg_decompress_struct cinfo;
  jerr je;
  struct jpeg_progress_mgr prog = {.progress_monitor = j_progress};
  uint8_t *volatile pix = NULL;
  memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&je.pub);
  je.pub.error_exit = j_error_exit;
  je.pub.output_message = j_output_message;
  je.msg[0] = 0;
  if (setjmp(je.jb)) {
    jpeg_destroy_decompress(&cinfo);
    free(pix);
    return NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "corrupt JPEG: %s", je.msg);
  }
  jpeg_create_decompress(&cinfo);
  cinfo.progress = &prog;
  jpeg_mem_src(&cinfo, file, (unsigned long)len);
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    jpeg_destroy_decompress(&cinfo);
    return NN_FAIL(err, KAFU_NN_UNSUPPORTED, "CMYK JPEG images are not supported");
  }
  if (!cinfo.image_width || !cinfo.image_height ||
      (uint64_t)cinfo.image_width * cinfo.image_height > KAFU_NN_IMAGE_MAX_PIXELS) {
    uint32_t iw = cinfo.image_width, ih = cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
    return NN_FAIL(err, KAFU_NN_TOO_LARGE, "JPEG of %ux%u pixels is over the limit of %u pixels", iw, ih,
                   KAFU_NN_IMAGE_MAX_PIXELS);
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  size_t stride = (size_t)cinfo.output_width * 3;
  pix = malloc(stride * cinfo.output_height);
  if (!pix) {
    jpeg_destroy_decompress(&cinfo);
    return NN_FAIL(err, KAFU_NN_TOO_LARGE, "out of memory decoding a JPEG");
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = pix + stride * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  *w = cinfo.output_width;
  *h = cinfo.output_height;
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  *rgb = pix;
  return KAFU_NN_OK;
}

/* ---- PNG ------------------------------------------------------------------- */

typedef struct png_src {
  const uint8_t *p;
  size_t len, off;
  char msg[256];
} png_src;

static void p_read(png_structp png, png_bytep out, size_t n) {
  png_src *s = png_get_io_ptr(png);
  if (n > s->len - s->off) png_error(png, "truncated PNG data");
  memcpy(out, s->p + s->off, n);
  s->off += n;
}

static void p_error(png_structp png, png_const_charp msg) {
  png_src *s = png_get_error_ptr(png);
  snprintf(s->msg, sizeof s->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void p_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static int decode_png(const uint8_t *file, size_t len, uint8_t **rgb, uint32_t *w, uint32_t *h,
                      kafu_err *err) {
  png_src src = {file, len, 0, ""};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, p_error, p_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  uint8_t *volatile pix = NULL;
  png_bytep *volatile rows = NULL;
  if (!png || !info) {
    png_destroy_read_struct(&png, &info, NULL);
    return NN_FAIL(err, KAFU_NN_MISSING_MEMORY, "out of memory decoding a PNG");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    free(pix);
    free(rows);
    return NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "corrupt PNG: %s", src.msg);
  }
  png_set_read_fn(png, &src, p_read);
  png_set_user_limits(png, 1u << 20, 1u << 20);
  png_read_info(png, info);
  png_uint_32 iw = png_get_image_width(png, info), ih = png_get_image_height(png, info);
  if ((uint64_t)iw * ih > KAFU_NN_IMAGE_MAX_PIXELS) {
    png_destroy_read_struct(&png, &info, NULL);
    return NN_FAIL(err, KAFU_NN_TOO_LARGE, "PNG of %ux%u pixels is over the limit of %u pixels", (unsigned)iw,
                   (unsigned)ih, KAFU_NN_IMAGE_MAX_PIXELS);
  }
  int ct = png_get_color_type(png, info);
  png_set_expand(png); /* palette -> RGB, gray < 8 bits -> 8 bits, tRNS -> alpha */
  png_set_scale_16(png);
  png_set_strip_alpha(png); /* dropped, not composed (as the image crate's to_rgb8) */
  if (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != (size_t)iw * 3) png_error(png, "unexpected row layout after conversion");
  pix = malloc((size_t)iw * 3 * ih);
  rows = malloc(sizeof(png_bytep) * ih);
  if (!pix || !rows) png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < ih; y++) rows[y] = pix + (size_t)y * iw * 3;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  free(rows);
  *rgb = pix;
  *w = iw;
  *h = ih;
  return KAFU_NN_OK;
}

int kafu_nn_image_decode_rgb(const uint8_t *file, size_t len, uint8_t **rgb, uint32_t *w, uint32_t *h,
                             kafu_err *err) {
  *rgb = NULL;
  if (len >= 3 && file[0] == 0xff && file[1] == 0xd8 && file[2] == 0xff)
    return decode_jpeg(file, len, rgb, w, h, err);
  if (len >= 8 && memcmp(file, "\x89PNG\r\n\x1a\n", 8) == 0) return decode_png(file, len, rgb, w, h, err);
  return NN_FAIL(err, KAFU_NN_INVALID_ENCODING, "not a JPEG or PNG image");
}

/* ---- resize + normalise ---------------------------------------------------------- */

typedef struct taps {
  uint32_t *left, *n; /* per output coordinate: first tap, number of taps */
  float *w;           /* weights, maxtaps per output coordinate */
  uint32_t maxtaps;
} taps;

static float tri(float x) {
  float a = fabsf(x);
  return a < 1.0f ? 1.0f - a : 0.0f;
}

static int make_taps(uint32_t src, uint32_t dst, taps *t) {
  float ratio = (float)src / (float)dst;
  float scale = ratio < 1.0f ? 1.0f : ratio;
  float support = 1.0f * scale;
  t->maxtaps = (uint32_t)ceilf(2.0f * support) + 3;
  t->left = malloc(sizeof *t->left * dst);
  t->n = malloc(sizeof *t->n * dst);
  t->w = malloc(sizeof *t->w * (size_t)dst * t->maxtaps);
  if (!t->left || !t->n || !t->w) return -1;
  for (uint32_t o = 0; o < dst; o++) {
    float centre = ((float)o + 0.5f) * ratio;
    int64_t left = (int64_t)floorf(centre - support);
    if (left < 0) left = 0;
    if (left > (int64_t)src - 1) left = (int64_t)src - 1;
    int64_t right = (int64_t)ceilf(centre + support);
    if (right < left + 1) right = left + 1;
    if (right > (int64_t)src) right = (int64_t)src;
    centre -= 0.5f;
    uint32_t n = (uint32_t)(right - left);
    if (n > t->maxtaps) n = t->maxtaps; /* cannot happen: support bounds the span */
    float *w = t->w + (size_t)o * t->maxtaps, sum = 0.0f;
    for (uint32_t k = 0; k < n; k++) {
      w[k] = tri(((float)(left + k) - centre) / scale);
      sum += w[k];
    }
    for (uint32_t k = 0; k < n; k++) w[k] /= sum;
    t->left[o] = (uint32_t)left;
    t->n[o] = n;
  }
  return 0;
}

static void free_taps(taps *t) {
  free(t->left);
  free(t->n);
  free(t->w);
}

int kafu_nn_rgb_to_tensor(const uint8_t *rgb, uint32_t sw, uint32_t sh, uint32_t height, uint32_t width,
                          float *out, kafu_err *err) {
  if (!width || !height || !sw || !sh)
    return NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "image size %ux%u -> %ux%u: zero dimension", sw, sh, width,
                   height);
  if ((uint64_t)width * height > KAFU_NN_IMAGE_MAX_PIXELS || (uint64_t)sw * height * 3 > MAX_TMP_FLOATS)
    return NN_FAIL(err, KAFU_NN_TOO_LARGE, "resize %ux%u -> %ux%u is over the size limits", sw, sh, width,
                   height);
  size_t plane = (size_t)width * height;
  uint8_t *px = malloc(plane * 3);
  if (!px) return NN_FAIL(err, KAFU_NN_TOO_LARGE, "out of memory");
  if (sw == width && sh == height) {
    memcpy(px, rgb, plane * 3);
  } else {
    taps tv = {0}, th = {0};
    float *tmp = malloc(sizeof(float) * (size_t)sw * height * 3);
    if (!tmp || make_taps(sh, height, &tv) || make_taps(sw, width, &th)) {
      free(tmp), free_taps(&tv), free_taps(&th), free(px);
      return NN_FAIL(err, KAFU_NN_TOO_LARGE, "out of memory");
    }
    /* vertical: sh rows -> height rows, full source width, kept in float */
    for (uint32_t oy = 0; oy < height; oy++) {
      const float *w = tv.w + (size_t)oy * tv.maxtaps;
      float *dst = tmp + (size_t)oy * sw * 3;
      for (uint32_t x = 0; x < sw; x++) {
        float t0 = 0, t1 = 0, t2 = 0;
        for (uint32_t k = 0; k < tv.n[oy]; k++) {
          const uint8_t *p = rgb + ((size_t)(tv.left[oy] + k) * sw + x) * 3;
          t0 += (float)p[0] * w[k];
          t1 += (float)p[1] * w[k];
          t2 += (float)p[2] * w[k];
        }
        dst[x * 3] = t0, dst[x * 3 + 1] = t1, dst[x * 3 + 2] = t2;
      }
    }
    /* horizontal: sw columns -> width columns, clamped and rounded to 8 bits */
    for (uint32_t ox = 0; ox < width; ox++) {
      const float *w = th.w + (size_t)ox * th.maxtaps;
      for (uint32_t y = 0; y < height; y++) {
        float t[3] = {0, 0, 0};
        for (uint32_t k = 0; k < th.n[ox]; k++) {
          const float *p = tmp + ((size_t)y * sw + th.left[ox] + k) * 3;
          t[0] += p[0] * w[k];
          t[1] += p[1] * w[k];
          t[2] += p[2] * w[k];
        }
        for (int c = 0; c < 3; c++) {
          float v = t[c] < 0.0f ? 0.0f : t[c] > 255.0f ? 255.0f : t[c];
          px[((size_t)y * width + ox) * 3 + c] = (uint8_t)roundf(v);
        }
      }
    }
    free(tmp);
    free_taps(&tv);
    free_taps(&th);
  }
  for (size_t i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++)
      out[(size_t)c * plane + i] = ((float)px[i * 3 + c] / 255.0f - MEAN[c]) / STDV[c];
  free(px);
  return KAFU_NN_OK;
}

int kafu_nn_image_to_tensor(const uint8_t *file, size_t len, uint32_t height, uint32_t width, float *out,
                            kafu_err *err) {
  if (!width || !height)
    return NN_FAIL(err, KAFU_NN_INVALID_ARGUMENT, "target size %ux%u has a zero dimension", width, height);
  if ((uint64_t)width * height > KAFU_NN_IMAGE_MAX_PIXELS)
    return NN_FAIL(err, KAFU_NN_TOO_LARGE, "target size %ux%u is over the limit of %u pixels", width, height,
                   KAFU_NN_IMAGE_MAX_PIXELS);
  uint8_t *rgb;
  uint32_t w, h;
  int st = kafu_nn_image_decode_rgb(file, len, &rgb, &w, &h, err);
  if (st != KAFU_NN_OK) return st;
  st = kafu_nn_rgb_to_tensor(rgb, w, h, height, width, out, err);
  free(rgb);
  return st;
}
