/* qgemm-dispatch.h — the fast int8 GEMM and depthwise kernels behind ops/quant: packed panel
 * formats, the fused requantizing epilogue, the list of per-ISA micro-kernels and the run-time
 * choice among them. Every variant is bit-identical to octet_qgemm_ref + octet_requant_row.
 *
 * Exactness: both operands are widened to int16 with their zero point already subtracted
 * (|a - za|, |b - zb| <= 255), so every product fits int32 and vpmaddwd / smlal pair sums
 * (<= 2 * 255 * 255) never saturate; the sum over K wraps in int32 exactly like the reference.
 * Subtracting at packing time replaces the row/column-sum correction of the byte formats: it
 * costs nothing because the widening pass touches every element anyway. */
#ifndef OCTET_OPS_QUANT_QGEMM_DISPATCH_H
#define OCTET_OPS_QUANT_QGEMM_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the epilogue writes for output element (m, n). */
enum octet_qepi_kind {
  OCTET_QEPI_I32, /* acc + bias, int32 */
  OCTET_QEPI_Q8,  /* octet_requant_value(acc + bias, scale, zp) as u8/s8 (out_dtype) */
  OCTET_QEPI_F32, /* float(acc + bias) * scale (+ fbias), as MatMulIntegerToFloat */
};

/* Parameters are addressed as p[m * rs + n * cs] with cs 0 (per row / scalar) or 1 (per column),
 * so per-tensor, per-column (matmul) and per-row (convolution: rows are output channels) share
 * one code path. */
typedef struct octet_qgemm_epi {
  int kind;
  const int32_t *bias; /* int32 added to the accumulator (wrapping); NULL: none */
  size_t bias_rs, bias_cs;
  const float *scale; /* Q8 and F32 */
  size_t scale_rs, scale_cs;
  const float *fbias; /* F32 only: added after scaling, per column; NULL: none */
  int32_t zp, out_dtype;
  void *out; /* element (m, n) at out[m * ldo + n] */
  size_t ldo;
} octet_qgemm_epi;

/* A packed operand: `rows` rows of K values, stored as panels of `tile` rows; inside a panel,
 * K/2 (rounded up) steps of `tile` int16 pairs (value at k, value at k+1), zero point
 * subtracted, zero-padded up to whole panels and even K. The left operand (A) uses the
 * kernel's mr as tile, the right (B, rows = columns of the product) its nr. */
typedef struct octet_qgemm_panels {
  size_t rows, K, k2, tile;
  int16_t *data;
  /* B only: the same layout in int8 (data8, data NULL) when every b - zb fits int8, as with
   * symmetric s8 weights: half the bytes to stream (GEMV is bandwidth-bound); kernels widen
   * each panel row as they load it. */
  const int8_t *data8;
  /* The dot-product formats (OCTET_QFMT_Q8X4 / Q8X8): per group of kq = 4 (sdot) or 8 (smmla)
   * k values, `tile` rows of kq bytes v - c, where
   * c = 128 for u8 sources and 0 for s8 (so every value fits s8); rsum[r] = sum_k (v - c) and
   * rz[r] = c - z[r]. sum (a - za)(b - zb) = sum a'b' + rz_a * rsum_b + rz_b * rsum_a
   * + K * rz_a * rz_b, all wrapping in int32 like the reference. */
  size_t kq, kg; /* group size, number of groups (K rounded up) */
  int8_t *q8;
  int32_t *rsum, *rz;
} octet_qgemm_panels;

/* Panel formats of the variants. */
enum octet_qfmt { OCTET_QFMT_I16X2, OCTET_QFMT_Q8X4, OCTET_QFMT_Q8X8 };

typedef struct octet_qgemm_ukernel octet_qgemm_ukernel;
/* Computes output rows [m0, m1) x columns [n0, n1) of A x B through the epilogue. m0 is a
 * multiple of mr and n0 of nr. */
typedef void (*octet_qgemm_compute_fn)(const octet_qgemm_panels *a, const octet_qgemm_panels *b,
                                       size_t m0, size_t m1, size_t n0, size_t n1,
                                       const octet_qgemm_epi *ep);

/* Depthwise 2-D convolution of one channel on a padded int16 plane (see octet_qdw_plane). */
typedef struct octet_qdw_args {
  const int16_t *plane; /* (pad_h rows) x (pw) int16, x - zx, zeros in the padding */
  size_t pw;            /* row stride of the plane */
  size_t kh, kw, stride; /* stride 1 or 2 in both axes, dilation 1 */
  size_t oh, ow;
  const int16_t *w; /* kh rows of kw2 = kw rounded up to even taps, w - zw, zero-padded */
  int32_t bias;
  float scale;
  int32_t zp, out_dtype;
  void *out; /* oh x ow, row stride ow */
} octet_qdw_args;
typedef void (*octet_qdw_fn)(const octet_qdw_args *a);
/* Depthwise kernels take kh * (kw rounded up to even) / 2 <= this many tap pairs. */
#define OCTET_QDW_MAX_PAIRS 256

/* Depthwise 3x3, stride 1, dilation 1, one channel, read straight from its NCHW bytes (no
 * padded plane): the kernel keeps two "vertical pair rows" in scratch, int32 words holding the
 * int16 pair (x[p][q] - zx, x[p+1][q] - zx) of padded rows p, p+1 (p even), zeros in the
 * padding. Output rows 2j and 2j+1 both read only pair rows j and j+1: row 2j with tap pairs
 * (w0, w1) and (w2, 0), row 2j+1 with (0, w0) and (w1, w2), three columns each: vpmaddwd /
 * smlal on 32-bit loads at any column, no even/odd split and no shuffles. */
typedef struct octet_qdw3_args {
  const uint8_t *x; /* ih x iw, u8 or s8 by x_signed */
  bool x_signed;
  int32_t zx;
  size_t ih, iw, pt, pl; /* top and left padding; bottom and right follow from oh, ow */
  size_t oh, ow;         /* oh = ih + pt + pb - 2, ow = iw + pl + pr - 2 */
  const int16_t *w;      /* 3 rows of 4 int16 (the 4th unused): w - zw */
  int32_t bias;
  float scale;
  int32_t zp, out_dtype;
  void *out;        /* oh x ow, row stride ow */
  int32_t *scratch; /* octet_qdw3_scratch words */
} octet_qdw3_args;
typedef void (*octet_qdw3_fn)(const octet_qdw3_args *a);
/* Words per pair row for rows of ow outputs, and the scratch a 3x3 kernel needs (every pair
 * row of the channel: (oh + 1) / 2 + 1 of them, and 8 words of slack); false on overflow. */
static inline size_t octet_qdw3_width(size_t ow) { return ((ow + 15) & ~(size_t)15) + 16; }
bool octet_qdw3_scratch(size_t oh, size_t ow, size_t *words);


size_t octet_qgemm_ukernel_count(void);
const octet_qgemm_ukernel *octet_qgemm_ukernel_at(size_t i);
/* The best variant octet_cpu_features() allows, or NULL (callers then run the reference). */
const octet_qgemm_ukernel *octet_qgemm_select(void);

/* Bytes of a packed operand of `rows` x K for panels of `tile` rows; false on overflow. */
bool octet_qgemm_panels_size(size_t rows, size_t K, size_t tile, size_t *bytes);
/* Packs rows x K values, element (r, k) at src[r * sr + k * sk], u8 or s8 by src_signed,
 * minus the zero point z[n_z > 1 ? r : 0] (z read as z_dtype: OCTET_DTYPE_UINT8/INT8/INT32;
 * NULL or n_z 0 means 0). mem: octet_qgemm_panels_size bytes. Rows [r0, r1) only (r0 a
 * multiple of tile; r1 == rows also pads the last panel), so threads can pack their share. */
void octet_qgemm_panels_pack(octet_qgemm_panels *p, void *mem, size_t rows, size_t K, size_t tile,
                      const void *src, bool src_signed, size_t sr, size_t sk, const void *z,
                      int32_t z_dtype, size_t n_z, size_t r0, size_t r1);
/* The int8 form of B (octet_qgemm_panels.data8), for variants with b8: false (nothing
 * usable written) when some b - zb does not fit int8. Same arguments and size bound. */
bool octet_qgemm_panels_pack8(octet_qgemm_panels *p, void *mem, size_t rows, size_t K, size_t tile,
                              const void *src, bool src_signed, size_t sr, size_t sk, const void *z,
                              int32_t z_dtype, size_t n_z);
/* Format-generic packing for a variant's compute: A panels (tile mr; rows [r0, r1) as
 * octet_qgemm_panels_pack) and B panels (tile nr; int8 panels when the variant and the values
 * allow). Sizes: octet_qgemm_size (is_b picks the tile). */
bool octet_qgemm_size(const octet_qgemm_ukernel *uk, size_t rows, size_t K, bool is_b, size_t *bytes);
void octet_qgemm_pack_a(const octet_qgemm_ukernel *uk, octet_qgemm_panels *p, void *mem, size_t rows,
                        size_t K, const void *src, bool src_signed, size_t sr, size_t sk, const void *z,
                        int32_t z_dtype, size_t n_z, size_t r0, size_t r1);
void octet_qgemm_pack_b(const octet_qgemm_ukernel *uk, octet_qgemm_panels *p, void *mem, size_t rows,
                        size_t K, const void *src, bool src_signed, size_t sr, size_t sk, const void *z,
                        int32_t z_dtype, size_t n_z);
/* Sets p's fields for `mem` without packing (readers of panels packed elsewhere). */
void octet_qgemm_panels_init(octet_qgemm_panels *p, void *mem, size_t rows, size_t K, size_t tile);

/* Convolution without im2col. The input of one group is rewritten once per run as int16
 * "channel-pair planes": for channels (2c, 2c+1), every padded position holds the pair
 * (x[2c] - zx, x[2c+1] - zx) (0 in the padding), columns split into `sw` phases so a strided
 * row of output pixels reads consecutive pairs. Then the B operand of a tile of output
 * pixels at reduction step kp = (channel pair, ky, kx) is one unaligned load at
 * pixel_base + koff[kp]: the pairs are exactly what vpmaddwd / smlal want, and nothing is
 * replicated kh * kw times. Weights are packed as A panels in the same (pair, ky, kx) order. */
typedef struct octet_qconv_geom {
  size_t cg, ih, iw, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, oh, ow;
  /* Equal strides (see rph): "virtual" rows. Plane rows carry no slack, so output pixel (y, x) sits at
   * pixel base (y * padded_width + x) and tiles of nr run straight across row ends; the
   * kw - 1 columns a row computes past its end are discarded. Small images waste far less
   * than with tiles that stop at each row's end. */
  bool virt;
  /* derived by octet_qconv_layout */
  size_t cpairs, rows, phase_w, row_stride, phase_stride, pair_stride, plane_elems, k2;
  /* Row phases: 1, or with virtual rows and equal strides s > 1, s (the planes of a channel
   * pair are split by row and column phase, (py, px) at phase index py * sw + px, each prows
   * rows of phase_w pairs: tap (ky, kx) of output pixel (y, x) then reads row y + ky * dh / s,
   * column x + kx * dw / s of phase (ky * dh % s, kx * dw % s), a stride-1 access, so strided
   * convolutions run virtual rows too). */
  size_t rph, prows;
} octet_qconv_geom;
/* Fills the derived fields; false on size overflow or planes too large for int32 offsets
 * (callers then take the reference path). plane_elems is the int16 count of the planes,
 * including the slack that tiles read past a row's (or the last plane's) end. */
bool octet_qconv_layout(octet_qconv_geom *g);
/* Writes channel pairs [cp0, cp1) of the planes from Cg NCHW planes x (u8/s8 by x_signed). */
void octet_qconv_planes(const octet_qgemm_ukernel *uk, const octet_qconv_geom *g, int16_t *planes,
                        const uint8_t *x, bool x_signed, int32_t zx, size_t cp0, size_t cp1);
/* koff[kp] (k2 entries, int16 units) for a pixel base of oy * (sh * row_stride) + ox * 2. */
void octet_qconv_offsets(const octet_qconv_geom *g, int32_t *koff);
/* Packs weights (Mg rows of Cg x kh x kw, u8/s8) minus their zero points as A panels
 * (rows [r0, r1) as octet_qgemm_panels_pack) in the pair order above. */
bool octet_qconv_weights_size(const octet_qconv_geom *g, size_t mg, size_t tile, size_t *bytes);
void octet_qconv_weights_pack(octet_qgemm_panels *p, void *mem, const octet_qconv_geom *g,
                              size_t mg, size_t tile, const void *w, bool w_signed, const void *z,
                              int32_t z_dtype, size_t n_z);

/* Pointwise convolutions (1x1, stride 1, no padding) run as a plain GEMM: weights (packed by
 * octet_qconv_weights_pack) times B panels of pixels. Packs pixel tiles [t0, t1) of such B
 * panels (p from octet_qgemm_panels_init with rows P, K cg, tile nr) from cg NCHW planes of P
 * pixels; I16X2 variants only. */
void octet_qconv_pointwise_pack(const octet_qgemm_ukernel *uk, const octet_qgemm_panels *p,
                                const uint8_t *x, size_t P, size_t cg, bool x_signed, int32_t zx,
                                size_t t0, size_t t1);

/* One output row oy of a convolution: pixels [ox0, ox1) x channels [m0, m1) (m0 a multiple of
 * mr, ox0 of nr). Output element (m, oy * ow + ox) through the epilogue. With virtual rows
 * (vw != 0), oy is 0 and [ox0, ox1) are virtual pixels v = y * vw + x; those with x >= ow or
 * y >= oh are computed and dropped. */
typedef struct octet_qconv_args {
  const octet_qgemm_panels *w;
  const int16_t *planes;
  const int32_t *koff;
  size_t y_stride; /* int16 units between output rows: sh * row_stride */
  size_t ow;
  const octet_qgemm_epi *ep;
  size_t vw, oh; /* virtual rows (geom.virt): the padded width, else 0; output height */
} octet_qconv_args;
typedef void (*octet_qconv_fn)(const octet_qconv_args *a, size_t oy, size_t ox0, size_t ox1,
                               size_t m0, size_t m1);

/* Row widening for the planes: d[i] = s[i] - zx (n values), or the pairs (s0[i] - zx,
 * s1[i] - zx) with s1 NULL meaning 0 (n pairs); u8 or s8 by sgn. */
typedef void (*octet_qwiden_fn)(int16_t *d, const uint8_t *s, size_t n, bool sgn, int32_t zx);
typedef void (*octet_qwiden2_fn)(int16_t *d, const uint8_t *s0, const uint8_t *s1, size_t n, bool sgn,
                                 int32_t zx);

struct octet_qgemm_ukernel {
  const char *name;      /* octet_qs16_gemm_<mr>x<nr>__<isa> */
  uint32_t cpu_features; /* OCTET_CPU_* bits it needs */
  size_t mr, nr;
  bool auto_select; /* false: the portable C variant, run only by the kernel tester */
  bool b8;          /* compute also takes int8 B panels */
  int fmt;          /* enum octet_qfmt of the GEMM panels (convolutions always use I16X2) */
  octet_qgemm_compute_fn compute;
  octet_qconv_fn conv;
  octet_qdw_fn dwconv; /* NULL: no depthwise kernel in this variant */
  octet_qwiden_fn widen;
  octet_qwiden2_fn widen2;
  octet_qdw3_fn dw3; /* NULL: 3x3 stride-1 depthwise runs dwconv on a padded plane */
};

/* The portable epilogue (and the oracle's formula) for one element. */
void octet_qgemm_epi_scalar(const octet_qgemm_epi *ep, size_t m, size_t n, int32_t acc);

/* Builds the padded int16 plane a depthwise kernel reads: (ih + ph0 + ph1) rows of pw_out
 * elements (octet_qdw_plane_width), x - zx inside, 0 in the padding and the slack. */
size_t octet_qdw_plane_width(size_t iw, size_t pl, size_t pr);
void octet_qdw_plane(const octet_qgemm_ukernel *uk, int16_t *plane, size_t pw_out, const uint8_t *x, bool x_signed, int32_t zx,
                     size_t ih, size_t iw, size_t pt, size_t pb, size_t pl);
/* Rewrites only the interior rows of a plane octet_qdw_plane built with the same geometry (its
 * zeros stay): the next channel in the same buffer. */
void octet_qdw_plane_rows(const octet_qgemm_ukernel *uk, int16_t *plane, size_t pw_out, const uint8_t *x,
                          bool x_signed, int32_t zx, size_t ih, size_t iw, size_t pt, size_t pl);

/* ---- QLinearAdd and QLinearMul (qlinear-eltwise.c) ----
 * One run of n elements, u8 (or s8 when sgn), with MLAS's AVX2 float steps:
 *   vv: y[i] = sat(fma(a[i], ra, fma(b[i], rb, c)))   (both operands vary along the run)
 *   vs: y[i] = sat(fma(x[i], r, c))                     (the other operand is constant in the run
 *                                                        and already folded into c)
 * sat(v): the type's min when !(v >= min) (NaN too), its max when v > max, else v rounded half
 * to even. Every variant is bit-identical to the plain-C one (tests/kernels/test-qeltwise.c). */
typedef void (*octet_qadd_vv_fn)(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, bool sgn,
                                 float ra, float rb, float c);
typedef void (*octet_qadd_vs_fn)(uint8_t *y, const uint8_t *x, size_t n, bool sgn, float r, float c);
/* ---- QLinearMul (qlinear-eltwise.c) ----
 * One run of n elements with MLAS's float steps: the exact integer product, one float multiply,
 * one float add (not fused), then sat():
 *   vv: y[i] = sat((float)((a[i] - za) * (b[i] - zb)) * m + zc)
 *   vs: y[i] = sat((float)((x[i] - zx) * k) * m + zc)   (k: the constant operand minus its zero point) */
typedef void (*octet_qmul_vv_fn)(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, bool sgn, int32_t za,
                                 int32_t zb, float m, float zc);
typedef void (*octet_qmul_vs_fn)(uint8_t *y, const uint8_t *x, size_t n, bool sgn, int32_t zx, int32_t k, float m,
                                 float zc);
typedef struct octet_qeltwise {
  const char *name; /* ISA of the variant */
  uint32_t cpu_features;
  octet_qadd_vv_fn add_vv;
  octet_qadd_vs_fn add_vs;
  octet_qmul_vv_fn mul_vv;
  octet_qmul_vs_fn mul_vs;
} octet_qeltwise;
void octet_qadd_vv_c(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, bool sgn, float ra,
                     float rb, float c);
void octet_qadd_vs_c(uint8_t *y, const uint8_t *x, size_t n, bool sgn, float r, float c);
void octet_qadd_vv__avx2(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, bool sgn, float ra,
                         float rb, float c);
void octet_qadd_vs__avx2(uint8_t *y, const uint8_t *x, size_t n, bool sgn, float r, float c);
void octet_qmul_vv_c(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, bool sgn, int32_t za, int32_t zb,
                     float m, float zc);
void octet_qmul_vs_c(uint8_t *y, const uint8_t *x, size_t n, bool sgn, int32_t zx, int32_t k, float m, float zc);
void octet_qmul_vv__avx2(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, bool sgn, int32_t za, int32_t zb,
                         float m, float zc);
void octet_qmul_vs__avx2(uint8_t *y, const uint8_t *x, size_t n, bool sgn, int32_t zx, int32_t k, float m,
                         float zc);
/* Every variant built (the plain-C one last); the best one octet_cpu_features() allows. */
size_t octet_qeltwise_count(void);
const octet_qeltwise *octet_qeltwise_at(size_t i);
const octet_qeltwise *octet_qeltwise_select(void);

#endif
