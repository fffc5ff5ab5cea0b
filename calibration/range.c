/* range.c — range choosers over a histogram. Each is a small search with a documented
 * objective, so a Python re-implementation can confirm it (tests/calibration). */
#include <math.h>
#include <string.h>

#include "calibration/range.h"

static const char *const method_names[OCTET_RANGE_METHOD_COUNT] = {
  [OCTET_RANGE_MINMAX] = "minmax",
  [OCTET_RANGE_PERCENTILE] = "percentile",
  [OCTET_RANGE_ENTROPY] = "entropy",
  [OCTET_RANGE_MSE] = "mse",
};

const char *octet_range_method_name(octet_range_method m) {
  return (unsigned)m < OCTET_RANGE_METHOD_COUNT ? method_names[m] : "unknown";
}

octet_status octet_range_method_parse(const char *name, octet_range_method *method,
                                      octet_error *err) {
  for (int m = 0; m < OCTET_RANGE_METHOD_COUNT; m++)
    if (!strcmp(name, method_names[m])) {
      *method = (octet_range_method)m;
      return OCTET_OK;
    }
  return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                    "unknown calibration method '%s' (expected minmax, percentile, entropy or mse)",
                    name);
}

void octet_range_defaults(octet_range_options *o, octet_range_method method) {
  memset(o, 0, sizeof *o);
  o->method = method;
  o->unsigned_target = true;
  o->percentile = 99.999;
  o->entropy_levels = 128;
  o->entropy_bins = 2048;
}

/* ---- entropy (TensorRT's KL calibration) ---- */

/* TensorRT's KL calibration, as NVIDIA describes it. For a candidate threshold bin i:
 * P = hist[0..i) with the outliers hist[i..n) added to P[i-1]; Q = hist[0..i) merged into
 * `levels` groups (i / levels bins each, the last group takes the remainder) and spread evenly
 * over the bins where P is non-zero; KL(P/|P| || Q/|Q|). Terms where P > 0 but Q = 0 are
 * charged with Q = 1e-12 (normalized), which rules such thresholds out as TensorRT does.
 *
 * Q is constant inside a group, so with prefix sums of h, of [h != 0] and of h ln h,
 *   KL = (sum P ln P - |P| ln |P| - sum_groups (sum of P in group) ln q_group) / |P|.
 * Moreover every i with the same group width m = i / levels shares the first levels - 1 groups
 * (only the last group, P[i-1] and |Q| change with i), and there are only n / levels widths:
 * with q_group = (g / nz) / |Q|, those groups contribute A_m - ln|Q| * Qf_m, where
 * A_m = sum g ln(g / nz) and Qf_m = sum g over the shared groups holding data. So the search
 * costs O(n) logarithms in all instead of O(levels) per candidate. */
size_t octet_range_entropy_threshold_bin(const uint64_t *hist, size_t n, size_t levels) {
  if (n <= levels) return n;
  double *h = octet_malloc(3 * (n + 1) * sizeof(double));
  if (!h) return n;
  double *nzs = h + n + 1, *hlh = nzs + n + 1;
  h[0] = nzs[0] = hlh[0] = 0.0;
  for (size_t b = 0; b < n; b++) {
    double c = (double)hist[b];
    h[b + 1] = h[b] + c;
    nzs[b + 1] = nzs[b] + (c != 0.0);
    hlh[b + 1] = hlh[b] + (c > 0.0 ? c * log(c) : 0.0);
  }
  double total = h[n];
  if (total <= 0.0) { /* every KL is 0: the smallest candidate wins */
    octet_free(h);
    return levels;
  }
  double plogp_total = total * log(total), log_eps = log(1e-12);
  size_t best = n;
  double best_kl = INFINITY;
  for (size_t m = 1; m * levels <= n; m++) {
    double a = 0.0, qf = 0.0;
    for (size_t j = 0; j + 1 < levels; j++) {
      double g = h[(j + 1) * m] - h[j * m], nz = nzs[(j + 1) * m] - nzs[j * m];
      if (nz > 0.0) { /* then g > 0 too */
        qf += g;
        a += g * log(g / nz);
      }
    }
    size_t s = (levels - 1) * m, end = (m + 1) * levels - 1 < n ? (m + 1) * levels - 1 : n;
    for (size_t i = m * levels; i <= end; i++) {
      double outliers = total - h[i];
      double last = (double)hist[i - 1] + outliers; /* P[i-1] */
      double plp = hlh[i - 1] + (last > 0.0 ? last * log(last) : 0.0);
      double g = h[i] - h[s], nz = nzs[i - 1] - nzs[s] + (last > 0.0), sp = g + outliers;
      double qsum = qf + (nz > 0.0 ? g : 0.0);
      double cross = qf > 0.0 ? a - log(qsum) * qf : 0.0;
      if (nz > 0.0 && sp > 0.0) {
        double qn = qsum > 0.0 ? (g / nz) / qsum : 0.0;
        cross += sp * (qn == 0.0 ? log_eps : log(qn));
      }
      double kl = (plp - plogp_total - cross) / total;
      if (kl < best_kl) { /* strict: the smallest i wins ties */
        best_kl = kl;
        best = i;
      }
    }
  }
  octet_free(h);
  return best;
}

/* Magnitude histogram of the bins that hold data, merged pairwise down to at most max_bins. */
static octet_status folded(const octet_hist *h, uint32_t max_bins, uint64_t **out, size_t *n,
                           double *width, octet_error *err) {
  size_t B = h->half_bins;
  uint64_t *abs = octet_malloc(B * sizeof *abs);
  if (!abs) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  octet_hist_fold_abs(h, abs);
  double w = octet_hist_width(h);
  double amax = fmax(fabs((double)h->min), fabs((double)h->max));
  size_t used = (size_t)ceil(amax / w);
  if (used < 1) used = 1;
  if (used > B) used = B;
  while (max_bins && used > max_bins) {
    size_t half = (used + 1) / 2;
    for (size_t k = 0; k < half; k++) abs[k] = abs[2 * k] + (2 * k + 1 < used ? abs[2 * k + 1] : 0);
    used = half;
    w *= 2;
  }
  *out = abs;
  *n = used;
  *width = w;
  return OCTET_OK;
}

/* ---- mse: minimise E[(x - q(x))^2] with uniform rounding noise step^2/12 inside the range
 * and the clipping error outside, over bin edges, using bin centres as the values. ---- */

typedef struct prefix {
  double *c, *cx, *cx2; /* prefix sums over bins: count, count*x, count*x^2 */
} prefix;

static double range_sum(const double *s, size_t a, size_t b) { return s[b] - s[a]; }

static double clip_error(const prefix *p, size_t a, size_t b, double edge) {
  /* sum over bins [a, b) of count * (x - edge)^2 */
  double c = range_sum(p->c, a, b), cx = range_sum(p->cx, a, b), cx2 = range_sum(p->cx2, a, b);
  double e = cx2 - 2.0 * edge * cx + edge * edge * c;
  return e > 0.0 ? e : 0.0;
}

/* The 2-D search is quadratic in bins: it runs on the histogram merged down to at most
 * MSE_HALF_BINS per side (bins nest exactly, so the candidate edges stay on the grid). */
#define MSE_HALF_BINS 256

static octet_status choose_mse(const octet_hist *h, const octet_range_options *o, double *lo,
                               double *hi, octet_error *err) {
  size_t B0 = h->half_bins, B = B0 < MSE_HALF_BINS ? B0 : MSE_HALF_BINS, f = B0 / B, nb = 2 * B;
  double w = octet_hist_width(h) * (double)f;
  uint64_t *bins = octet_calloc(nb, sizeof *bins);
  if (!bins) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  for (size_t i = 0; i < 2 * B0; i++) bins[i / f] += h->bins[i];
  prefix p;
  p.c = octet_calloc(3 * (nb + 1), sizeof(double));
  if (!p.c) {
    octet_free(bins);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  p.cx = p.c + nb + 1;
  p.cx2 = p.cx + nb + 1;
  for (size_t i = 0; i < nb; i++) {
    double c = (double)bins[i], x = ((double)i - (double)B + 0.5) * w;
    p.c[i + 1] = p.c[i] + c;
    p.cx[i + 1] = p.cx[i] + c * x;
    p.cx2[i + 1] = p.cx2[i] + c * x * x;
  }
  /* Candidate edges: bin index e means value (e - B) * w; lo edges in [first, B], hi in [B, last]. */
  size_t first = B, last = B;
  for (size_t i = 0; i < nb; i++)
    if (bins[i]) {
      if (i < first) first = i;
      if (i + 1 > last) last = i + 1;
    }
  double steps = o->unsigned_target ? 255.0 : 254.0;
  double best = INFINITY;
  size_t best_lo = first, best_hi = last;
  if (o->symmetric) {
    size_t reach = (B - first > last - B) ? B - first : last - B;
    for (size_t t = 1; t <= reach; t++) {
      double T = (double)t * w, step = 2.0 * T / steps;
      size_t a = B - t, b = B + t;
      double e = clip_error(&p, 0, a, -T) + clip_error(&p, b, nb, T) +
                 range_sum(p.c, a, b) * step * step / 12.0;
      if (e < best) {
        best = e;
        best_lo = a;
        best_hi = b;
      }
    }
  } else {
    /* the clipping error above an upper edge does not depend on the lower one: once per edge */
    double *above = octet_malloc((last + 1) * sizeof *above);
    if (!above) {
      octet_free(p.c);
      octet_free(bins);
      return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t b = B; b <= last; b++) above[b] = clip_error(&p, b, nb, ((double)b - (double)B) * w);
    /* The rounding term is never negative, so a pair whose clipping error alone reaches the
     * best total cannot win (`e < best` below): skipping it leaves the result as it was. */
    for (size_t a = first; a <= B; a++) {
      double L = ((double)a - (double)B) * w, below = clip_error(&p, 0, a, L);
      for (size_t b = (a == B ? B + 1 : B); b <= last; b++) {
        double clipped = below + above[b];
        if (clipped >= best) continue;
        double H = ((double)b - (double)B) * w, step = (H - L) / steps;
        double e = clipped + range_sum(p.c, a, b) * step * step / 12.0;
        if (e < best) {
          best = e;
          best_lo = a;
          best_hi = b;
        }
      }
    }
    octet_free(above);
  }
  octet_free(p.c);
  octet_free(bins);
  *lo = ((double)best_lo - (double)B) * w;
  *hi = ((double)best_hi - (double)B) * w;
  return OCTET_OK;
}

octet_status octet_range_choose(const octet_hist *h, const octet_range_options *o, double *lo,
                                double *hi, octet_error *err) {
  double mn = h->count ? fmin((double)h->min, 0.0) : 0.0;
  double mx = h->count ? fmax((double)h->max, 0.0) : 0.0;
  double l = mn, r = mx;
  if (h->count == 0 || h->exp == OCTET_HIST_EMPTY_EXP) {
    *lo = 0.0;
    *hi = 0.0;
    return OCTET_OK;
  }
  switch (o->method) {
  case OCTET_RANGE_MINMAX:
    break;
  case OCTET_RANGE_PERCENTILE: {
    if (!(o->percentile > 50.0 && o->percentile <= 100.0))
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "percentile must be in (50, 100], got %g", o->percentile);
    double q = o->percentile / 100.0;
    if (o->symmetric) {
      /* quantile of |x|: fold, then walk the magnitude bins */
      uint64_t *abs;
      size_t n;
      double w;
      octet_status st = folded(h, 0, &abs, &n, &w, err);
      if (st) return st;
      double target = q * (double)h->binned, cum = 0.0, t = fmax(-mn, mx);
      for (size_t k = 0; k < n; k++) {
        double c = (double)abs[k];
        if (c > 0 && cum + c >= target) {
          t = fmin(((double)k + (target - cum) / c) * w, fmax(-mn, mx));
          break;
        }
        cum += c;
      }
      octet_free(abs);
      l = -t;
      r = t;
    } else {
      l = fmin(octet_hist_quantile(h, 1.0 - q), 0.0);
      r = fmax(octet_hist_quantile(h, q), 0.0);
    }
    break;
  }
  case OCTET_RANGE_ENTROPY: {
    if (o->entropy_levels < 2)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "entropy levels must be >= 2");
    uint64_t *abs;
    size_t n;
    double w;
    octet_status st = folded(h, o->entropy_bins, &abs, &n, &w, err);
    if (st) return st;
    /* Non-negative data into an unsigned target uses all 256 levels, not 128. */
    size_t levels = o->entropy_levels;
    if (mn == 0.0 && o->unsigned_target && !o->symmetric) levels = 2 * levels;
    size_t i = octet_range_entropy_threshold_bin(abs, n, levels);
    octet_free(abs);
    double t = (double)i * w;
    if (o->symmetric) {
      t = fmin(t, fmax(-mn, mx));
      l = -t;
      r = t;
    } else {
      l = fmax(mn, -t);
      r = fmin(mx, t);
    }
    break;
  }
  case OCTET_RANGE_MSE: {
    octet_status st = choose_mse(h, o, &l, &r, err);
    if (st) return st;
    l = fmax(l, o->symmetric ? -fmax(-mn, mx) : mn);
    r = fmin(r, o->symmetric ? fmax(-mn, mx) : mx);
    break;
  }
  default:
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "unknown calibration method %d",
                      (int)o->method);
  }
  if (o->symmetric && o->method == OCTET_RANGE_MINMAX) {
    double t = fmax(-l, r);
    l = -t;
    r = t;
  }
  *lo = l;
  *hi = r;
  return OCTET_OK;
}
