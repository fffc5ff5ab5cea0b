/* report-html.c — the per-layer report as one self-contained HTML page: inline SVG only (no
 * script, no network), a bar chart of SQNR by layer, then per quantized tensor a histogram of
 * its float values with the chosen range marked and the clipped tails shaded. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "quantize/report.h"

#define HIST_W 360
#define HIST_H 150
#define PLOT_X 8
#define PLOT_Y 22
#define PLOT_W 344
#define PLOT_H 100
#define BARS 96
#define SQNR_CAP 60.0 /* dB: the bar chart's full width ("exact" layers get a full bar) */

static void esc(octet_sbuf *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<': octet_sb_printf(b, "&lt;"); break;
    case '>': octet_sb_printf(b, "&gt;"); break;
    case '&': octet_sb_printf(b, "&amp;"); break;
    case '"': octet_sb_printf(b, "&quot;"); break;
    default: octet_sb_printf(b, "%c", *s);
    }
  }
}

static const char *sqnr_color(double db) {
  if (db < 15.0) return "#d62728"; /* worse than ~3 bits of signal: a suspect */
  if (db < 25.0) return "#ff7f0e";
  return "#2ca02c";
}

/* Counts of the float histogram regrouped into BARS equal bars over [xa, xb]; each source bin's
 * count is shared by overlap, its values taken as spread over [edge, edge + w] within [min, max]. */
static void regroup(const octet_hist *h, double xa, double xb, double bars[BARS]) {
  for (int i = 0; i < BARS; i++) bars[i] = 0;
  if (!h->bins || h->exp == OCTET_HIST_EMPTY_EXP) {
    if (h->count && xa <= 0 && xb > 0) bars[(int)((0 - xa) / (xb - xa) * BARS) % BARS] += (double)h->count;
    return;
  }
  double w = octet_hist_width(h), bw = (xb - xa) / BARS;
  size_t nb = 2 * (size_t)h->half_bins;
  for (size_t i = 0; i < nb; i++) {
    double c = (double)h->bins[i];
    if (c <= 0) continue;
    double a = fmax(octet_hist_edge(h, i), (double)h->min), e = fmin(octet_hist_edge(h, i) + w, (double)h->max);
    if (i == h->half_bins && h->zeros) { /* exact zeros are a spike at 0, not spread over the bin */
      double z = (double)(h->zeros < h->bins[i] ? h->zeros : h->bins[i]);
      int k = (int)floor((0 - xa) / bw);
      if (k >= 0 && k < BARS) bars[k] += z;
      c -= z;
      if (c <= 0) continue;
    }
    if (e <= a) {
      int k = (int)floor((a - xa) / bw);
      if (k >= 0 && k < BARS) bars[k] += c;
      else if (k == BARS) bars[BARS - 1] += c;
      continue;
    }
    int k0 = (int)floor((a - xa) / bw), k1 = (int)floor((e - xa) / bw);
    for (int k = k0 < 0 ? 0 : k0; k <= k1 && k < BARS; k++) {
      double s = fmax(a, xa + k * bw), t = fmin(e, xa + (k + 1) * bw);
      if (t > s) bars[k] += c * (t - s) / (e - a);
    }
  }
}

static double xpos(double v, double xa, double xb) { return PLOT_X + (v - xa) / (xb - xa) * PLOT_W; }

static void histogram_svg(octet_sbuf *b, const octet_report_row *r, size_t index) {
  double seen_lo = isnan(r->fmin) ? 0 : r->fmin, seen_hi = isnan(r->fmax) ? 0 : r->fmax;
  double xa = seen_lo < r->lo ? seen_lo : r->lo, xb = seen_hi > r->hi ? seen_hi : r->hi;
  if (xa > 0) xa = 0;
  if (xb < 0) xb = 0;
  double pad = (xb - xa) * 0.04;
  if (pad <= 0) pad = 1;
  xa -= pad;
  xb += pad;
  double bars[BARS], top = 0;
  regroup(&r->hist, xa, xb, bars);
  for (int i = 0; i < BARS; i++) top = fmax(top, bars[i]);
  double db = octet_report_sqnr(r->sig2, r->err2);
  octet_sb_printf(b, "<figure class=\"layer\" id=\"t%zu\"><svg class=\"hist\" data-tensor=\"", index);
  esc(b, r->tensor);
  octet_sb_printf(b, "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">",
                  HIST_W, HIST_H, HIST_W, HIST_H);
  octet_sb_printf(b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\" stroke=\"#ccc\"/>", HIST_W, HIST_H);
  /* Shaded: what the int8 grid cannot represent (clipped to lo / hi). */
  double xl = xpos(r->lo, xa, xb), xh = xpos(r->hi, xa, xb);
  if (xl > PLOT_X)
    octet_sb_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#fde0e0\"/>", PLOT_X, PLOT_Y,
                    xl - PLOT_X, PLOT_H);
  if (xh < PLOT_X + PLOT_W)
    octet_sb_printf(b, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#fde0e0\"/>", xh, PLOT_Y,
                    PLOT_X + PLOT_W - xh, PLOT_H);
  /* Bars on a log scale: activations are heavy-tailed, and the tails are what clipping cuts. */
  double lt = log10(1 + top);
  octet_sb_printf(b, "<g fill=\"#1f77b4\">");
  for (int i = 0; i < BARS && lt > 0; i++) {
    if (bars[i] <= 0) continue;
    double h = log10(1 + bars[i]) / lt * PLOT_H;
    if (h < 1) h = 1;
    octet_sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"/>",
                    PLOT_X + (double)i * PLOT_W / BARS, PLOT_Y + PLOT_H - h, (double)PLOT_W / BARS, h);
  }
  octet_sb_printf(b, "</g>");
  octet_sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#d62728\" stroke-width=\"2\"/>", xl, xl,
                  PLOT_Y - 4, PLOT_Y + PLOT_H);
  octet_sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#d62728\" stroke-width=\"2\"/>", xh, xh,
                  PLOT_Y - 4, PLOT_Y + PLOT_H);
  double x0 = xpos(0, xa, xb);
  octet_sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#888\" stroke-dasharray=\"2,2\"/>", x0, x0,
                  PLOT_Y, PLOT_Y + PLOT_H);
  octet_sb_printf(b, "<g font-family=\"sans-serif\" font-size=\"10\" fill=\"#333\">");
  octet_sb_printf(b, "<text x=\"%d\" y=\"%d\">%.4g</text>", PLOT_X, PLOT_Y + PLOT_H + 12, xa);
  octet_sb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.4g</text>", PLOT_X + PLOT_W, PLOT_Y + PLOT_H + 12, xb);
  octet_sb_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#d62728\">range [%.4g, %.4g]</text>",
                  (double)HIST_W / 2, PLOT_Y + PLOT_H + 24, r->lo, r->hi);
  octet_sb_printf(b, "<text x=\"%d\" y=\"14\" font-weight=\"bold\">", PLOT_X);
  size_t l = strlen(r->tensor);
  esc(b, l > 40 ? r->tensor + l - 40 : r->tensor);
  octet_sb_printf(b, "</text><text x=\"%d\" y=\"14\" text-anchor=\"end\" fill=\"%s\">", PLOT_X + PLOT_W, sqnr_color(db));
  if (isinf(db) && db > 0) octet_sb_printf(b, "exact");
  else octet_sb_printf(b, "%.1f dB", db);
  octet_sb_printf(b, "</text></g></svg><figcaption>clipped %.3f%% &#183; float [%.4g, %.4g]</figcaption></figure>\n",
                  100.0 * r->clipped, r->fmin, r->fmax);
}

static void sqnr_chart(octet_sbuf *b, const octet_quantize_report *r) {
  const int row_h = 12, label_w = 300, bar_w = 600;
  int h = (int)r->n_rows * row_h + 30;
  octet_sb_printf(b, "<svg class=\"sqnr\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                     "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"10\">",
                  label_w + bar_w + 60, h, label_w + bar_w + 60, h);
  for (int g = 0; g <= 60; g += 10) {
    double x = label_w + g / SQNR_CAP * bar_w;
    octet_sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"0\" y2=\"%d\" stroke=\"#ddd\"/>"
                       "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#666\">%d dB</text>",
                    x, x, h - 18, x, h - 6, g);
  }
  for (size_t i = 0; i < r->n_rows; i++) {
    const octet_report_row *w = &r->rows[i];
    double db = octet_report_sqnr(w->sig2, w->err2), v = isnan(db) ? 0 : db;
    if (v > SQNR_CAP) v = SQNR_CAP;
    if (v < 0) v = 0;
    double y = (double)i * row_h;
    octet_sb_printf(b, "<a href=\"#t%zu\"><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">", i, label_w - 4,
                    y + row_h - 2);
    size_t l = strlen(w->tensor);
    esc(b, l > 48 ? w->tensor + l - 48 : w->tensor);
    octet_sb_printf(b, "</text></a><rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", label_w, y + 1,
                    v / SQNR_CAP * bar_w, row_h - 2, sqnr_color(db));
    if (isinf(db) && db > 0) octet_sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\">exact</text>", label_w + bar_w + 4.0, y + row_h - 2);
    else octet_sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%.1f</text>", label_w + v / SQNR_CAP * bar_w + 4, y + row_h - 2, db);
  }
  octet_sb_printf(b, "</svg>\n");
}

octet_status octet_quantize_report_write_html(const octet_quantize_report *r, const char *path, octet_error *err) {
  if (!r || !path) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_quantize_report_write_html: missing argument");
  octet_sbuf b = {0};
  octet_sb_printf(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                      "<meta name=\"octet-quantized-tensors\" content=\"%zu\"><title>octet quantization report</title>\n"
                      "<style>body{font-family:sans-serif;margin:16px;color:#222}"
                      "table{border-collapse:collapse;font-size:12px}td,th{padding:2px 6px;border-bottom:1px solid #eee;text-align:right}"
                      "td:first-child,th:first-child{text-align:left}.grid{display:flex;flex-wrap:wrap;gap:8px}"
                      "figure{margin:0}figcaption{font-size:11px;color:#555}.bad{color:#d62728;font-weight:bold}</style>"
                      "</head><body>\n<h1>octet quantization report</h1>\n",
                  r->n_rows);
  octet_sb_printf(&b, "<p>%zu quantized activations, ranges by <b>", r->n_rows);
  esc(&b, r->method);
  octet_sb_printf(&b, "</b>; errors measured on %llu samples: the quantized (QDQ) model's tensor against the float "
                      "model's.</p>\n<h2>Outputs</h2><ul>",
                  (unsigned long long)r->samples);
  for (size_t k = 0; k < r->n_outputs; k++) {
    const octet_report_output *o = &r->outputs[k];
    double db = octet_report_sqnr(o->sig2, o->err2);
    octet_sb_printf(&b, "<li><b>");
    esc(&b, o->name);
    octet_sb_printf(&b, "</b>: SQNR %.1f dB, max error %.4g", db, o->max_err);
    if (o->rows)
      octet_sb_printf(&b, ", top-1 agreement with float %.2f%% (%llu of %llu)", 100.0 * (double)o->agree / (double)o->rows,
                      (unsigned long long)o->agree, (unsigned long long)o->rows);
    octet_sb_printf(&b, "</li>");
  }
  octet_sb_printf(&b, "</ul>\n<h2>SQNR by layer</h2><p>Graph order; red below 15 dB, orange below 25 dB.</p>\n");
  sqnr_chart(&b, r);
  octet_sb_printf(&b, "<h2>Table</h2><table><tr><th>tensor</th><th>producer</th><th>float min</th><th>float max</th>"
                      "<th>range lo</th><th>range hi</th><th>method</th><th>clipped</th><th>SQNR dB</th><th>max error</th></tr>\n");
  for (size_t i = 0; i < r->n_rows; i++) {
    const octet_report_row *w = &r->rows[i];
    double db = octet_report_sqnr(w->sig2, w->err2);
    octet_sb_printf(&b, "<tr><td><a href=\"#t%zu\">", i);
    esc(&b, w->tensor);
    octet_sb_printf(&b, "</a></td><td>");
    esc(&b, w->producer[0] ? w->producer : "(graph input)");
    octet_sb_printf(&b, "</td><td>%.4g</td><td>%.4g</td><td>%.4g</td><td>%.4g</td><td>", w->fmin, w->fmax, w->lo, w->hi);
    esc(&b, r->method);
    octet_sb_printf(&b, "</td><td>%.3f%%</td><td%s>%.1f</td><td>%.4g</td></tr>\n", 100.0 * w->clipped,
                    db < 15.0 ? " class=\"bad\"" : "", db, w->max_err);
  }
  octet_sb_printf(&b, "</table>\n<h2>Float activations and chosen ranges</h2><p>Histograms of the calibration values "
                      "(log counts); red lines: the range the int8 grid covers; shaded: clipped.</p>\n<div class=\"grid\">\n");
  for (size_t i = 0; i < r->n_rows; i++) histogram_svg(&b, &r->rows[i], i);
  octet_sb_printf(&b, "</div>\n</body></html>\n");
  if (b.oom) {
    octet_free(b.p);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory writing the report");
  }
  octet_atomic_file af;
  octet_status st = octet_atomic_open(&af, path, err);
  if (!st && fwrite(b.p, 1, b.n, af.f) != b.n) {
    octet_atomic_abort(&af);
    st = octet_fail(err, OCTET_STATUS_IO, "cannot write '%s'", path);
  } else if (!st) {
    st = octet_atomic_commit(&af, err);
  }
  octet_free(b.p);
  return st;
}
