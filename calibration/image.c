/* image.c — decode PNG (libpng) or JPEG (libjpeg), resize bilinearly, normalize, lay out. */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "calibration/image.h"

typedef struct rgb8 {
  unsigned char *px; /* H*W*3 */
  int h, w;
} rgb8;

static octet_status load_png(const char *path, rgb8 *img, octet_error *err) {
  png_image pi;
  memset(&pi, 0, sizeof pi);
  pi.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&pi, path))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: not a readable PNG (%s)", path, pi.message);
  pi.format = PNG_FORMAT_RGB;
  size_t bytes = PNG_IMAGE_SIZE(pi);
  img->px = octet_malloc(bytes);
  if (!img->px) {
    png_image_free(&pi);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
  }
  if (!png_image_finish_read(&pi, NULL, img->px, 0, NULL)) {
    octet_free(img->px);
    img->px = NULL;
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: corrupt PNG (%s)", path, pi.message);
  }
  img->w = (int)pi.width;
  img->h = (int)pi.height;
  return OCTET_OK;
}

/* libjpeg reports errors by calling error_exit, which must not return: jump back instead of
 * letting it exit the process. */
typedef struct jpeg_err {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_error_exit(j_common_ptr cinfo) {
  jpeg_err *e = (jpeg_err *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, e->msg);
  longjmp(e->jump, 1);
}

static octet_status load_jpeg(const char *path, rgb8 *img, octet_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return octet_fail(err, OCTET_STATUS_IO, "cannot open '%s'", path);
  struct jpeg_decompress_struct cinfo;
  jpeg_err je;
  cinfo.err = jpeg_std_error(&je.mgr);
  je.mgr.error_exit = jpeg_error_exit;
  unsigned char *volatile px = NULL;
  if (setjmp(je.jump)) {
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    octet_free(px);
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: corrupt JPEG (%s)", path, je.msg);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, f);
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  size_t stride = (size_t)cinfo.output_width * 3;
  px = octet_malloc(stride * cinfo.output_height + 1);
  if (!px) {
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = px + stride * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  img->w = (int)cinfo.output_width;
  img->h = (int)cinfo.output_height;
  jpeg_destroy_decompress(&cinfo);
  fclose(f);
  img->px = px;
  return OCTET_OK;
}

/* Bilinear sample with half-pixel centres (what most training pipelines' resize does). */
static float sample(const rgb8 *img, float y, float x, int c) {
  if (y < 0) y = 0;
  if (x < 0) x = 0;
  int y0 = (int)y, x0 = (int)x;
  if (y0 > img->h - 1) y0 = img->h - 1;
  if (x0 > img->w - 1) x0 = img->w - 1;
  int y1 = y0 + 1 < img->h ? y0 + 1 : y0, x1 = x0 + 1 < img->w ? x0 + 1 : x0;
  float dy = y - (float)y0, dx = x - (float)x0;
  const unsigned char *p = img->px;
  float a = p[((size_t)y0 * img->w + x0) * 3 + c], b = p[((size_t)y0 * img->w + x1) * 3 + c];
  float d = p[((size_t)y1 * img->w + x0) * 3 + c], e = p[((size_t)y1 * img->w + x1) * 3 + c];
  return (a * (1 - dx) + b * dx) * (1 - dy) + (d * (1 - dx) + e * dx) * dy;
}

octet_status octet_image_load(const char *path, const octet_image_options *o, octet_tensor *out,
                              octet_error *err) {
  unsigned char sig[8] = {0};
  FILE *f = fopen(path, "rb");
  if (!f) return octet_fail(err, OCTET_STATUS_IO, "cannot open image '%s'", path);
  size_t got = fread(sig, 1, sizeof sig, f);
  fclose(f);
  rgb8 img = {0};
  octet_status st;
  if (got >= 8 && !png_sig_cmp(sig, 0, 8)) st = load_png(path, &img, err);
  else if (got >= 3 && sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff) st = load_jpeg(path, &img, err);
  else st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: neither PNG nor JPEG", path);
  if (st) return st;
  int H = o && o->height > 0 ? o->height : img.h, W = o && o->width > 0 ? o->width : img.w;
  float scale = o && o->scale != 0 ? o->scale : 1.0f / 255.0f;
  octet_tensor t = {.dtype = OCTET_DTYPE_FLOAT, .rank = 3};
  bool nhwc = o && o->nhwc, bgr = o && o->bgr;
  if (nhwc) t.dims[0] = H, t.dims[1] = W, t.dims[2] = 3;
  else t.dims[0] = 3, t.dims[1] = H, t.dims[2] = W;
  float *d = octet_malloc((size_t)H * W * 3 * sizeof *d);
  if (!d) {
    octet_free(img.px);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
  }
  float sy = (float)img.h / (float)H, sx = (float)img.w / (float)W;
  for (int c = 0; c < 3; c++) {
    int src_c = bgr ? 2 - c : c;
    float mean = o ? o->mean[c] : 0.0f, sd = o && o->std[c] != 0 ? o->std[c] : 1.0f;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        float v = (H == img.h && W == img.w)
                      ? img.px[((size_t)y * img.w + x) * 3 + src_c]
                      : sample(&img, ((float)y + 0.5f) * sy - 0.5f, ((float)x + 0.5f) * sx - 0.5f, src_c);
        v = (v * scale - mean) / sd;
        size_t at = nhwc ? ((size_t)y * W + x) * 3 + c : ((size_t)c * H + y) * W + x;
        d[at] = v;
      }
  }
  octet_free(img.px);
  t.data = d;
  *out = t;
  return OCTET_OK;
}
