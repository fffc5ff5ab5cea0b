/* einsum.c — ONNX Einsum (opset 12+) for float, double, int32 and int64: any equation, with
 * ellipsis broadcasting, implicit output and repeated labels (diagonals). Operands are
 * contracted left to right, each pair as a batched GEMM over permuted views (float goes through
 * octet_sgemm); a single operand is a strided reduce/permute. */
#include <stdio.h>

#include "ops/gemm/sgemm.h"
#include "ops/kernel-util.h"

#define EIN_LETTERS 52                         /* a-z A-Z */
#define EIN_MAXL (EIN_LETTERS + OCTET_MAX_RANK) /* plus one label per ellipsis dim */
#define EIN_MAX_OPERANDS 16

/* One term of the equation as written: letter labels and where "..." sits. */
typedef struct ein_term {
  int n;               /* letters */
  int label[OCTET_MAX_RANK];
  int ell_pos;         /* index in label[] before which "..." stands; -1 when absent */
} ein_term;

typedef struct ein_state {
  size_t n_in;
  ein_term in[EIN_MAX_OPERANDS];
  ein_term out;
  bool explicit_out;
  int32_t dtype;
  char node[96];
} ein_state;

/* A strided view of an operand, one entry per distinct label. */
typedef struct ein_view {
  int n;
  int label[EIN_MAXL];
  int64_t stride[EIN_MAXL]; /* in elements */
  const void *data;
} ein_view;

static int letter_id(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

/* Label order for the implicit output: ASCII order puts upper case first. */
static int ascii_rank(int id) { return id >= 26 ? id - 26 : id + 26; }

static octet_status parse_term(const char *s, size_t len, ein_term *t, const char *node,
                               octet_error *err) {
  t->n = 0;
  t->ell_pos = -1;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == ' ' || c == '\t') continue;
    if (c == '.') {
      if (i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.' || t->ell_pos >= 0) goto bad;
      t->ell_pos = t->n;
      i += 2;
      continue;
    }
    int id = letter_id(c);
    if (id < 0 || t->n >= OCTET_MAX_RANK) goto bad;
    t->label[t->n++] = id;
  }
  return OCTET_OK;
bad:
  return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (Einsum): bad term '%.*s' in equation",
                    node, (int)len, s);
}

OCTET_K_CREATE(octet_k_einsum_create) {
  octet_status st = octet_k_expect_inputs(info, 1, EIN_MAX_OPERANDS, err);
  if (st) return st;
  uint32_t allowed = OCTET_DT(FLOAT) | OCTET_DT(DOUBLE) | OCTET_DT(INT32) | OCTET_DT(INT64);
  for (size_t i = 0; i < info->n_inputs; i++) {
    if ((st = octet_k_expect_dtype(info, i, allowed, err))) return st;
    if (info->input_dtypes[i] != info->input_dtypes[0])
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (Einsum): inputs differ in type",
                        info->node_name);
  }
  const char *eq;
  if ((st = octet_attr_string(info, "equation", NULL, &eq, err))) return st;
  if (!eq)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (Einsum): 'equation' is required",
                      info->node_name);
  ein_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  snprintf(s->node, sizeof s->node, "%s", info->node_name ? info->node_name : "");
  s->dtype = info->input_dtypes[0];
  const char *arrow = strstr(eq, "->");
  size_t lhs_len = arrow ? (size_t)(arrow - eq) : strlen(eq);
  size_t start = 0, k = 0;
  for (size_t i = 0; i <= lhs_len; i++) {
    if (i < lhs_len && eq[i] != ',') continue;
    if (k >= info->n_inputs) {
      k++;
      break;
    }
    if ((st = parse_term(eq + start, i - start, &s->in[k], s->node, err))) goto fail;
    k++;
    start = i + 1;
  }
  if (k != info->n_inputs) {
    st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                    "node '%s' (Einsum): equation '%s' has a different number of terms than the %zu inputs",
                    s->node, eq, info->n_inputs);
    goto fail;
  }
  s->n_in = info->n_inputs;
  s->explicit_out = arrow != NULL;
  if (arrow && (st = parse_term(arrow + 2, strlen(arrow + 2), &s->out, s->node, err))) goto fail;
  if (arrow) {
    bool seen[EIN_LETTERS] = {0};
    for (int i = 0; i < s->out.n; i++) {
      int id = s->out.label[i];
      bool found = false;
      for (size_t j = 0; j < s->n_in && !found; j++)
        for (int q = 0; q < s->in[j].n; q++) found |= s->in[j].label[q] == id;
      if (!found || seen[id]) {
        st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "node '%s' (Einsum): output label %d of '%s' is repeated or not in any input",
                        s->node, i, eq);
        goto fail;
      }
      seen[id] = true;
    }
  }
  out_dtypes[0] = s->dtype;
  *state = s;
  return OCTET_OK;
fail:
  octet_free(s);
  return st;
}

/* Labels and sizes of one call. */
typedef struct ein_bind {
  int64_t size[EIN_MAXL];
  int ell_rank;
  ein_view op[EIN_MAX_OPERANDS];
  int n_out;
  int out_label[EIN_MAXL];
} ein_bind;

static octet_status ein_bind_shapes(const ein_state *s, const octet_tensor *const *in, size_t n_in,
                                    ein_bind *bd, octet_error *err) {
  if (n_in != s->n_in)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (Einsum): expected %zu inputs",
                      s->node, s->n_in);
  for (int l = 0; l < EIN_MAXL; l++) bd->size[l] = -1;
  bd->ell_rank = 0;
  for (size_t k = 0; k < n_in; k++) {
    const ein_term *t = &s->in[k];
    if (!in[k]) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (Einsum): input %zu missing", s->node, k);
    int e = in[k]->rank - t->n;
    if (e < 0 || (e > 0 && t->ell_pos < 0))
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s' (Einsum): input %zu has rank %d, which its term does not match",
                        s->node, k, (int)in[k]->rank);
    if (e > bd->ell_rank) bd->ell_rank = e;
  }
  /* Sizes: a label's size is the largest seen; 1 broadcasts. */
  int64_t lab_of_dim[EIN_MAX_OPERANDS][OCTET_MAX_RANK];
  for (size_t k = 0; k < n_in; k++) {
    const ein_term *t = &s->in[k];
    int e = in[k]->rank - t->n, dim = 0;
    for (int i = 0; i <= t->n; i++) {
      if (i == t->ell_pos)
        for (int j = 0; j < e; j++) lab_of_dim[k][dim++] = EIN_LETTERS + (bd->ell_rank - e + j);
      if (i < t->n) lab_of_dim[k][dim++] = t->label[i];
    }
    for (int i = 0; i < in[k]->rank; i++) {
      int l = (int)lab_of_dim[k][i];
      int64_t d = in[k]->dims[i];
      if (d < 0) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (Einsum): negative dim", s->node);
      if (bd->size[l] < 0 || bd->size[l] == 1) bd->size[l] = d;
      else if (d != 1 && d != bd->size[l])
        return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                          "node '%s' (Einsum): input %zu dim %d is %lld but its label has size %lld",
                          s->node, k, i, (long long)d, (long long)bd->size[l]);
    }
  }
  for (size_t k = 0; k < n_in; k++) {
    ein_view *v = &bd->op[k];
    v->n = 0;
    v->data = in[k]->data;
    int64_t stride = 1;
    for (int i = in[k]->rank - 1; i >= 0; i--) {
      int l = (int)lab_of_dim[k][i];
      int64_t d = in[k]->dims[i];
      int64_t st = (d == 1 && bd->size[l] != 1) ? 0 : stride;
      int q = 0;
      while (q < v->n && v->label[q] != l) q++;
      if (q == v->n) {
        v->label[v->n] = l;
        v->stride[v->n++] = st;
      } else {
        v->stride[q] += st; /* repeated label: walk the diagonal */
      }
      stride *= d;
    }
    /* Labels were collected right to left; restore the written order. */
    for (int a = 0, b = v->n - 1; a < b; a++, b--) {
      int tl = v->label[a];
      v->label[a] = v->label[b];
      v->label[b] = tl;
      int64_t ts = v->stride[a];
      v->stride[a] = v->stride[b];
      v->stride[b] = ts;
    }
  }
  bd->n_out = 0;
  if (s->explicit_out) {
    const ein_term *t = &s->out;
    /* Without "..." in the output, the dims it covers in the inputs are summed. */
    for (int i = 0; i <= t->n; i++) {
      if (i == t->ell_pos)
        for (int j = 0; j < bd->ell_rank; j++) bd->out_label[bd->n_out++] = EIN_LETTERS + j;
      if (i < t->n) bd->out_label[bd->n_out++] = t->label[i];
    }
  } else {
    int count[EIN_LETTERS] = {0};
    for (size_t k = 0; k < n_in; k++)
      for (int i = 0; i < s->in[k].n; i++) count[s->in[k].label[i]]++;
    for (int j = 0; j < bd->ell_rank; j++) bd->out_label[bd->n_out++] = EIN_LETTERS + j;
    for (int r = 0; r < EIN_LETTERS; r++)
      for (int id = 0; id < EIN_LETTERS; id++)
        if (ascii_rank(id) == r && count[id] == 1) bd->out_label[bd->n_out++] = id;
  }
  for (int i = 0; i < bd->n_out; i++)
    if (bd->size[bd->out_label[i]] < 0) bd->size[bd->out_label[i]] = 1;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_einsum_infer);
OCTET_K_RUN(octet_k_einsum_run);

/* ---- typed arithmetic ---- */

/* dst[o] = sum over r of src[o·ost + r·rst], dst dense in the order of the o dims. */
#define EIN_REDUCE(T)                                                                          \
  static void reduce_##T(const T *src, T *dst, int np, const int64_t *osz, const int64_t *ost, \
                         int nr, const int64_t *rsz, const int64_t *rst) {                     \
    int64_t oi[EIN_MAXL] = {0}, ri[EIN_MAXL];                                                   \
    size_t total = 1, rtotal = 1;                                                               \
    for (int i = 0; i < np; i++) total *= (size_t)osz[i];                                       \
    for (int i = 0; i < nr; i++) rtotal *= (size_t)rsz[i];                                      \
    int64_t base = 0;                                                                           \
    for (size_t o = 0; o < total; o++) {                                                        \
      T acc = 0;                                                                                \
      int64_t off = base;                                                                       \
      memset(ri, 0, sizeof(int64_t) * (size_t)(nr > 0 ? nr : 1));                               \
      for (size_t r = 0; r < rtotal; r++) {                                                     \
        acc += src[off];                                                                        \
        for (int i = nr - 1; i >= 0; i--) {                                                     \
          off += rst[i];                                                                        \
          if (++ri[i] < rsz[i]) break;                                                          \
          off -= rst[i] * rsz[i];                                                               \
          ri[i] = 0;                                                                            \
        }                                                                                       \
      }                                                                                         \
      dst[o] = acc;                                                                             \
      for (int i = np - 1; i >= 0; i--) {                                                       \
        base += ost[i];                                                                         \
        if (++oi[i] < osz[i]) break;                                                            \
        base -= ost[i] * osz[i];                                                                \
        oi[i] = 0;                                                                              \
      }                                                                                         \
    }                                                                                           \
  }
EIN_REDUCE(float)
EIN_REDUCE(double)
EIN_REDUCE(int32_t)
EIN_REDUCE(int64_t)

#define EIN_GEMM(T)                                                                            \
  static void gemm_##T(bool ta, bool tb, size_t M, size_t N, size_t K, const T *A, size_t lda,  \
                       const T *B, size_t ldb, T *C, size_t ldc) {                              \
    for (size_t m = 0; m < M; m++)                                                              \
      for (size_t n = 0; n < N; n++) {                                                          \
        T acc = 0;                                                                              \
        for (size_t k = 0; k < K; k++)                                                          \
          acc += (ta ? A[k * lda + m] : A[m * lda + k]) * (tb ? B[n * ldb + k] : B[k * ldb + n]); \
        C[m * ldc + n] = acc;                                                                   \
      }                                                                                         \
  }
EIN_GEMM(double)
EIN_GEMM(int32_t)
EIN_GEMM(int64_t)

static void ein_reduce(int32_t dtype, const void *src, void *dst, int np, const int64_t *osz,
                       const int64_t *ost, int nr, const int64_t *rsz, const int64_t *rst) {
  switch (dtype) {
  case OCTET_DTYPE_FLOAT: reduce_float(src, dst, np, osz, ost, nr, rsz, rst); break;
  case OCTET_DTYPE_DOUBLE: reduce_double(src, dst, np, osz, ost, nr, rsz, rst); break;
  case OCTET_DTYPE_INT32: reduce_int32_t(src, dst, np, osz, ost, nr, rsz, rst); break;
  default: reduce_int64_t(src, dst, np, osz, ost, nr, rsz, rst); break;
  }
}

static void ein_gemm(int32_t dtype, bool ta, bool tb, size_t M, size_t N, size_t K, const void *A,
                     size_t lda, const void *B, size_t ldb, void *C, size_t ldc,
                     const octet_host *host) {
  switch (dtype) {
  case OCTET_DTYPE_FLOAT:
    octet_sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc, host);
    break;
  case OCTET_DTYPE_DOUBLE: gemm_double(ta, tb, M, N, K, A, lda, B, ldb, C, ldc); break;
  case OCTET_DTYPE_INT32: gemm_int32_t(ta, tb, M, N, K, A, lda, B, ldb, C, ldc); break;
  default: gemm_int64_t(ta, tb, M, N, K, A, lda, B, ldb, C, ldc); break;
  }
}

/* ---- planning and execution: one walk serves infer (sizes only) and run ---- */

static int view_find(const ein_view *v, int label) {
  for (int i = 0; i < v->n; i++)
    if (v->label[i] == label) return i;
  return -1;
}

/* Stride of `label` in v: 0 when v lacks it (the operand is constant along it). */
static int64_t view_stride(const ein_view *v, int label) {
  int i = view_find(v, label);
  return i < 0 ? 0 : v->stride[i];
}

/* True when v, read in the label order given, is dense row-major. */
static bool view_dense(const ein_view *v, const ein_bind *bd, const int *order, int n) {
  int64_t expect = 1;
  for (int i = n - 1; i >= 0; i--) {
    int64_t sz = bd->size[order[i]];
    if (sz == 1) continue;
    if (view_find(v, order[i]) < 0 || view_stride(v, order[i]) != expect) return false;
    expect *= sz;
  }
  return true;
}

/* Gathers v in the label order given into dst (dense). */
static void view_pack(int32_t dtype, const ein_view *v, const ein_bind *bd, const int *order, int n,
                      void *dst) {
  int64_t osz[EIN_MAXL], ost[EIN_MAXL];
  for (int i = 0; i < n; i++) {
    osz[i] = bd->size[order[i]];
    ost[i] = view_stride(v, order[i]);
  }
  ein_reduce(dtype, v->data, dst, n, osz, ost, 0, NULL, NULL);
}

static size_t labels_numel(const ein_bind *bd, const int *labels, int n) {
  size_t p = 1;
  for (int i = 0; i < n; i++) p *= (size_t)bd->size[labels[i]];
  return p;
}

static bool label_needed_after(const ein_bind *bd, size_t k, size_t n_ops, int label) {
  for (int i = 0; i < bd->n_out; i++)
    if (bd->out_label[i] == label) return true;
  for (size_t j = k + 1; j < n_ops; j++)
    if (view_find(&bd->op[j], label) >= 0) return true;
  return false;
}

/* Runs (or, with out == NULL, sizes) the contraction. Workspace layout: [packA | packB | C0 | C1]. */
static octet_status ein_walk(const ein_state *s, ein_bind *bd, void *out, void *ws, size_t *ws_bytes,
                             const octet_host *host, octet_error *err) {
  const size_t es = octet_dtype_size(s->dtype);
  size_t max_a = 0, max_b = 0, max_c = 0;
  /* Check element counts once: every intermediate is bounded by the product of all sizes. */
  size_t all = 1;
  for (int l = 0; l < EIN_MAXL; l++)
    if (bd->size[l] > 0 && !octet_mul_size(all, (size_t)bd->size[l], &all))
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (Einsum): sizes overflow", s->node);
  if (!octet_mul_size(all, es * 4, &(size_t){0}))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (Einsum): sizes overflow", s->node);

  char *pack_a = NULL, *pack_b = NULL, *cbuf[2] = {NULL, NULL};
  size_t off_b = 0, off_c0 = 0, off_c1 = 0;
  if (out) {
    off_b = ws_bytes[1];
    off_c0 = ws_bytes[2];
    off_c1 = ws_bytes[3];
    pack_a = ws;
    pack_b = (char *)ws + off_b;
    cbuf[0] = (char *)ws + off_c0;
    cbuf[1] = (char *)ws + off_c1;
  }
  ein_view cur = bd->op[0];
  int which = 0;
  for (size_t k = 1; k < s->n_in; k++) {
    const ein_view *rhs = &bd->op[k];
    int batch[EIN_MAXL], mlab[EIN_MAXL], nlab[EIN_MAXL], klab[EIN_MAXL];
    int nb = 0, nm = 0, nn = 0, nk = 0;
    for (int i = 0; i < cur.n; i++) {
      int l = cur.label[i];
      bool in_b = view_find(rhs, l) >= 0, keep = label_needed_after(bd, k, s->n_in, l);
      if (!keep) klab[nk++] = l;
      else if (in_b) batch[nb++] = l;
      else mlab[nm++] = l;
    }
    for (int i = 0; i < rhs->n; i++) {
      int l = rhs->label[i];
      if (view_find(&cur, l) >= 0) continue;
      if (!label_needed_after(bd, k, s->n_in, l)) klab[nk++] = l;
      else nlab[nn++] = l;
    }
    size_t Bn = labels_numel(bd, batch, nb), M = labels_numel(bd, mlab, nm);
    size_t N = labels_numel(bd, nlab, nn), K = labels_numel(bd, klab, nk);
    /* A as [batch, M, K] (or [batch, K, M] transposed); B as [batch, K, N] or [batch, N, K]. */
    int ord[EIN_MAXL], n_ord;
    bool ta = false, tb = false, pa = false, pb = false;
    n_ord = 0;
    memcpy(ord, batch, sizeof(int) * nb), n_ord = nb;
    memcpy(ord + n_ord, mlab, sizeof(int) * nm), n_ord += nm;
    memcpy(ord + n_ord, klab, sizeof(int) * nk), n_ord += nk;
    if (!view_dense(&cur, bd, ord, n_ord)) {
      int ord2[EIN_MAXL];
      memcpy(ord2, batch, sizeof(int) * nb);
      memcpy(ord2 + nb, klab, sizeof(int) * nk);
      memcpy(ord2 + nb + nk, mlab, sizeof(int) * nm);
      if (view_dense(&cur, bd, ord2, n_ord)) ta = true;
      else pa = true;
    }
    int ordb[EIN_MAXL], ordb2[EIN_MAXL];
    memcpy(ordb, batch, sizeof(int) * nb);
    memcpy(ordb + nb, klab, sizeof(int) * nk);
    memcpy(ordb + nb + nk, nlab, sizeof(int) * nn);
    memcpy(ordb2, batch, sizeof(int) * nb);
    memcpy(ordb2 + nb, nlab, sizeof(int) * nn);
    memcpy(ordb2 + nb + nn, klab, sizeof(int) * nk);
    int n_ordb = nb + nk + nn;
    if (!view_dense(rhs, bd, ordb, n_ordb)) {
      if (view_dense(rhs, bd, ordb2, n_ordb)) tb = true;
      else pb = tb = true; /* pack as [batch, N, K]: the layout a packed GEMM reads best */
    }
    size_t na = Bn * M * K, nbn = Bn * K * N, nc = Bn * M * N;
    if (!out) {
      if (pa && na > max_a) max_a = na;
      if (pb && nbn > max_b) max_b = nbn;
      if (nc > max_c) max_c = nc;
    } else {
      const char *A = cur.data, *Bp = rhs->data;
      if (pa) {
        view_pack(s->dtype, &cur, bd, ord, n_ord, pack_a);
        A = pack_a;
      }
      if (pb) {
        view_pack(s->dtype, rhs, bd, ordb2, n_ordb, pack_b);
        Bp = pack_b;
      }
      char *C = cbuf[which];
      size_t lda = ta ? M : K, ldb = tb ? K : N;
      for (size_t b = 0; b < Bn; b++)
        ein_gemm(s->dtype, ta, tb, M, N, K, A + b * M * K * es, lda, Bp + b * K * N * es, ldb,
                 C + b * M * N * es, N, host);
      cur.data = C;
      which ^= 1;
    }
    /* The product's labels: [batch, M, N], dense. */
    cur.n = 0;
    int64_t stride = 1;
    int res[EIN_MAXL], nres = 0;
    memcpy(res, batch, sizeof(int) * nb), nres = nb;
    memcpy(res + nres, mlab, sizeof(int) * nm), nres += nm;
    memcpy(res + nres, nlab, sizeof(int) * nn), nres += nn;
    for (int i = nres - 1; i >= 0; i--) {
      cur.label[i] = res[i];
      cur.stride[i] = bd->size[res[i]] == 1 ? 0 : stride;
      stride *= bd->size[res[i]];
    }
    cur.n = nres;
  }
  if (!out) {
    ws_bytes[0] = max_a * es;
    ws_bytes[1] = (ws_bytes[0] + 63) & ~(size_t)63;
    ws_bytes[2] = (ws_bytes[1] + max_b * es + 63) & ~(size_t)63;
    ws_bytes[3] = (ws_bytes[2] + max_c * es + 63) & ~(size_t)63;
    ws_bytes[4] = ws_bytes[3] + max_c * es + 64;
    return OCTET_OK;
  }
  /* Final: permute to the output order, summing labels the output lacks. */
  int64_t osz[EIN_MAXL], ost[EIN_MAXL], rsz[EIN_MAXL], rst[EIN_MAXL];
  int nr = 0;
  for (int i = 0; i < bd->n_out; i++) {
    osz[i] = bd->size[bd->out_label[i]];
    ost[i] = view_stride(&cur, bd->out_label[i]);
  }
  for (int i = 0; i < cur.n; i++) {
    bool in_out = false;
    for (int j = 0; j < bd->n_out; j++) in_out |= bd->out_label[j] == cur.label[i];
    if (in_out) continue;
    rsz[nr] = bd->size[cur.label[i]];
    rst[nr++] = cur.stride[i];
  }
  ein_reduce(s->dtype, cur.data, out, bd->n_out, osz, ost, nr, rsz, rst);
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_einsum_infer) {
  ein_state *s = state;
  ein_bind bd;
  octet_status st = ein_bind_shapes(s, in, n_in, &bd, err);
  if (st) return st;
  if (bd.n_out > OCTET_MAX_RANK)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s' (Einsum): output rank %d too large",
                      s->node, bd.n_out);
  out[0].dtype = s->dtype;
  out[0].rank = bd.n_out;
  for (int i = 0; i < bd.n_out; i++) out[0].dims[i] = bd.size[bd.out_label[i]];
  size_t ws[5] = {0};
  if ((st = ein_walk(s, &bd, NULL, NULL, ws, NULL, err))) return st;
  *workspace = ws[4];
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_einsum_run) {
  ein_state *s = state;
  ein_bind bd;
  octet_status st = ein_bind_shapes(s, in, n_in, &bd, err);
  if (st) return st;
  size_t wsb[5] = {0};
  if ((st = ein_walk(s, &bd, NULL, NULL, wsb, NULL, err))) return st;
  return ein_walk(s, &bd, out[0].data, ws, wsb, host, err);
}
