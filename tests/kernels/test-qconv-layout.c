/* test-qconv-layout.c — the channel-pair plane layouts of qgemm-dispatch.h (virtual rows, row
 * and column phases of strided convolutions, rows sharing their zero padding, phases no tap
 * reads) swept exhaustively over small geometries: every pad combination 0..2, kernels 1..3,
 * equal and unequal strides 1..3, dilations 1..2, with and without virtual rows, for every conv
 * variant this CPU runs, against a direct convolution, bit for bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "ops/cpu.h"
#include "ops/quant/qgemm-dispatch.h"
#include "ops/quant/requant.h"

static uint64_t g_rng = 0x6a09e667f3bcc909ull;
static uint32_t rnd(void) {
  g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
  return (uint32_t)(g_rng >> 16);
}

typedef struct geo {
  size_t cg, mg, ih, iw, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
} geo;

/* Runs one geometry through variant u; 0 when equal to the direct convolution. */
static int run(const octet_qgemm_ukernel *u, const geo *c, bool virt, char *why, size_t why_n) {
  size_t eh = (c->kh - 1) * c->dh + 1, ew = (c->kw - 1) * c->dw + 1;
  if (c->ih + c->pt + c->pb < eh || c->iw + c->pl + c->pr < ew) return 0;
  size_t oh = (c->ih + c->pt + c->pb - eh) / c->sh + 1, ow = (c->iw + c->pl + c->pr - ew) / c->sw + 1;
  size_t P = oh * ow, kg = c->cg * c->kh * c->kw;
  uint8_t *x = malloc(c->cg * c->ih * c->iw), *w = malloc(c->mg * kg);
  for (size_t i = 0; i < c->cg * c->ih * c->iw; i++) x[i] = (uint8_t)rnd();
  for (size_t i = 0; i < c->mg * kg; i++) w[i] = (uint8_t)rnd();
  int32_t zx = 131, zw = -3; /* u8 input, s8 weights */
  float scale[8];
  int32_t bias[8];
  for (size_t m = 0; m < c->mg; m++) scale[m] = 0.0007f * (float)(m + 1), bias[m] = (int32_t)(rnd() % 2001) - 1000;
  uint8_t *ref = malloc(P * c->mg), *got = calloc(P * c->mg, 1);
  octet_qrange r = {0, 255};
  for (size_t m = 0; m < c->mg; m++)
    for (size_t oy = 0; oy < oh; oy++)
      for (size_t ox = 0; ox < ow; ox++) {
        int32_t acc = bias[m];
        for (size_t ci = 0; ci < c->cg; ci++)
          for (size_t ky = 0; ky < c->kh; ky++)
            for (size_t kx = 0; kx < c->kw; kx++) {
              int64_t y = (int64_t)(oy * c->sh + ky * c->dh) - (int64_t)c->pt;
              int64_t xx = (int64_t)(ox * c->sw + kx * c->dw) - (int64_t)c->pl;
              if (y < 0 || xx < 0 || y >= (int64_t)c->ih || xx >= (int64_t)c->iw) continue;
              acc += (x[(ci * c->ih + (size_t)y) * c->iw + (size_t)xx] - zx) *
                     ((int8_t)w[((m * c->cg + ci) * c->kh + ky) * c->kw + kx] - zw);
            }
        ref[m * P + oy * ow + ox] = (uint8_t)octet_requant_value(acc, scale[m], 7, r);
      }
  octet_qconv_geom g = {.cg = c->cg, .ih = c->ih, .iw = c->iw, .kh = c->kh, .kw = c->kw, .sh = c->sh, .sw = c->sw,
                        .dh = c->dh, .dw = c->dw, .pt = c->pt, .pl = c->pl, .oh = oh, .ow = ow, .virt = virt};
  size_t need_h = (oh - 1) * c->sh + eh, need_w = (ow - 1) * c->sw + ew;
  g.pb = need_h > c->ih + c->pt ? need_h - c->ih - c->pt : 0;
  g.pr = need_w > c->iw + c->pl ? need_w - c->iw - c->pl : 0;
  int bad = 0;
  size_t wbytes;
  if (!octet_qconv_layout(&g) || !octet_qconv_weights_size(&g, c->mg, u->mr, &wbytes)) {
    bad = 1;
    snprintf(why, why_n, "layout refused");
  } else {
    void *wmem = malloc(wbytes);
    int16_t *planes = malloc(g.plane_elems * sizeof(int16_t));
    memset(planes, 0xa5, g.plane_elems * sizeof(int16_t)); /* nothing may depend on old contents */
    int32_t *koff = malloc(g.k2 * sizeof(int32_t));
    octet_qgemm_panels wp;
    octet_qconv_weights_pack(&wp, wmem, &g, c->mg, u->mr, w, true, &zw, OCTET_DTYPE_INT32, 1);
    octet_qconv_planes(u, &g, planes, x, false, zx, 0, g.cpairs);
    octet_qconv_offsets(&g, koff);
    octet_qgemm_epi ep = {.kind = OCTET_QEPI_Q8, .bias = bias, .bias_rs = 1, .scale = scale, .scale_rs = 1,
                          .zp = 7, .out_dtype = OCTET_DTYPE_UINT8, .out = got, .ldo = P};
    octet_qconv_args a = {&wp, planes, koff, g.sh * g.row_stride, ow, &ep, g.virt ? g.phase_w : 0, oh};
    if (g.virt) {
      u->conv(&a, 0, 0, oh * g.phase_w, 0, c->mg);
    } else {
      for (size_t oy = 0; oy < oh; oy++)
        for (size_t ox = 0; ox < ow; ox += u->nr) u->conv(&a, oy, ox, ox + u->nr < ow ? ox + u->nr : ow, 0, c->mg);
    }
    for (size_t i = 0; i < P * c->mg && !bad; i++)
      if (got[i] != ref[i]) {
        bad = 1;
        snprintf(why, why_n, "channel %zu pixel %zu: %d, reference %d (virtual width %zu)", i / P, i % P, got[i],
                 ref[i], g.virt ? g.phase_w : 0);
      }
    free(wmem), free(planes), free(koff);
  }
  free(x), free(w), free(ref), free(got);
  return bad;
}

static void test_plane_layouts_match_direct_convolution_over_every_small_geometry(void **state) {
  (void)state;
  int ran = 0;
  for (size_t vi = 0; vi < octet_qgemm_ukernel_count(); vi++) {
    const octet_qgemm_ukernel *u = octet_qgemm_ukernel_at(vi);
    if ((octet_cpu_features() & u->cpu_features) != u->cpu_features || !u->conv) {
      printf("  skipped %s\n", u->name);
      continue;
    }
    ran++;
    size_t cases = 0;
    for (size_t k = 0; k < 9; k++)
      for (size_t s = 0; s < 5; s++)
        for (size_t d = 1; d <= 2; d++)
          for (size_t pads = 0; pads < 81; pads++)
            for (int virt = 0; virt < 2; virt++) {
              static const size_t ss[5][2] = {{1, 1}, {2, 2}, {3, 3}, {1, 2}, {2, 1}};
              geo c = {.cg = 1 + (pads + k) % 3, .mg = 1 + (pads + s) % 7, .ih = 3 + (pads + d) % 5,
                       .iw = 2 + (pads * 7 + k) % 9, .kh = 1 + k / 3, .kw = 1 + k % 3, .sh = ss[s][0],
                       .sw = ss[s][1], .dh = d, .dw = d, .pt = pads % 3, .pl = pads / 3 % 3,
                       .pb = pads / 9 % 3, .pr = pads / 27};
              char why[160] = "";
              cases++;
              if (run(u, &c, virt, why, sizeof why))
                fail_msg("%s: cg=%zu mg=%zu in=%zux%zu k=%zux%zu s=%zu,%zu d=%zu pads t%zu l%zu b%zu r%zu virt=%d: %s",
                         u->name, c.cg, c.mg, c.ih, c.iw, c.kh, c.kw, c.sh, c.sw, d, c.pt, c.pl, c.pb, c.pr, virt,
                         why);
            }
    printf("  %s: %zu geometries\n", u->name, cases);
  }
  assert_true(ran >= 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plane_layouts_match_direct_convolution_over_every_small_geometry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
