/* table-read.c — reads a calibration table (the JSON `octet calibrate -o` writes) back into a
 * calibrator as fixed ranges, for `octet quantize --calibration-table`. The JSON parser is the
 * smallest one that reads any well-formed document safely (depth and size limits, every byte
 * checked); hostile files get a message with the byte offset, never a crash. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/calibrator.h"

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
enum { MAX_DEPTH = 64 };
#define MAX_TABLE_BYTES ((size_t)1 << 30)

typedef struct jv {
  int type;
  double num; /* J_NUM, J_BOOL (0/1) */
  char *str;  /* J_STR */
  size_t n;   /* J_ARR, J_OBJ: items */
  struct jv *items;
  char **keys; /* J_OBJ */
} jv;

typedef struct jparser {
  const char *s, *end, *start;
  octet_arena *arena;
  octet_error *err;
  const char *path;
} jparser;

static octet_status jfail(jparser *p, const char *what) {
  return octet_fail(p->err, OCTET_STATUS_INVALID_ARGUMENT, "calibration table '%s': %s at byte %zu", p->path,
                    what, (size_t)(p->s - p->start));
}

static void skip_ws(jparser *p) {
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\n' || *p->s == '\r' || *p->s == '\t')) p->s++;
}

static octet_status parse_value(jparser *p, jv *v, int depth);

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Strings: escapes decoded; \u escapes become UTF-8 (surrogate pairs joined). */
static octet_status parse_string(jparser *p, char **out) {
  p->s++; /* opening quote */
  const char *q = p->s;
  size_t len = 0;
  while (q < p->end && *q != '"') {
    if (*q == '\\') q++;
    q++;
    len++;
  }
  if (q >= p->end) return jfail(p, "unterminated string");
  char *d = octet_arena_alloc(p->arena, 4 * len + 1);
  if (!d) return octet_fail(p->err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  char *w = d;
  while (*p->s != '"') {
    unsigned char c = (unsigned char)*p->s++;
    if (c < 0x20) return jfail(p, "control character in string");
    if (c != '\\') {
      *w++ = (char)c;
      continue;
    }
    char e = *p->s++;
    switch (e) {
    case '"': case '\\': case '/': *w++ = e; break;
    case 'b': *w++ = '\b'; break;
    case 'f': *w++ = '\f'; break;
    case 'n': *w++ = '\n'; break;
    case 'r': *w++ = '\r'; break;
    case 't': *w++ = '\t'; break;
    case 'u': {
      uint32_t cp = 0;
      for (int k = 0; k < 4; k++) {
        int h = p->s < p->end ? hexval(*p->s++) : -1;
        if (h < 0) return jfail(p, "bad \\u escape");
        cp = cp << 4 | (uint32_t)h;
      }
      if (cp >= 0xd800 && cp < 0xdc00 && p->end - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u') {
        uint32_t lo = 0;
        int ok = 1;
        for (int k = 0; k < 4; k++) {
          int h = hexval(p->s[2 + k]);
          ok &= h >= 0;
          lo = lo << 4 | (uint32_t)(h < 0 ? 0 : h);
        }
        if (ok && lo >= 0xdc00 && lo < 0xe000) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          p->s += 6;
        }
      }
      if (cp == 0) return jfail(p, "NUL in string");
      if (cp < 0x80) *w++ = (char)cp;
      else if (cp < 0x800) *w++ = (char)(0xc0 | cp >> 6), *w++ = (char)(0x80 | (cp & 0x3f));
      else if (cp < 0x10000)
        *w++ = (char)(0xe0 | cp >> 12), *w++ = (char)(0x80 | (cp >> 6 & 0x3f)), *w++ = (char)(0x80 | (cp & 0x3f));
      else
        *w++ = (char)(0xf0 | cp >> 18), *w++ = (char)(0x80 | (cp >> 12 & 0x3f)),
        *w++ = (char)(0x80 | (cp >> 6 & 0x3f)), *w++ = (char)(0x80 | (cp & 0x3f));
      break;
    }
    default: return jfail(p, "bad escape in string");
    }
  }
  p->s++; /* closing quote */
  *w = 0;
  *out = d;
  return OCTET_OK;
}

static octet_status parse_number(jparser *p, jv *v) {
  const char *q = p->s;
  if (q < p->end && *q == '-') q++;
  if (q >= p->end || *q < '0' || *q > '9') return jfail(p, "unexpected character");
  while (q < p->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-'))
    q++;
  char buf[64];
  size_t n = (size_t)(q - p->s);
  if (n >= sizeof buf) return jfail(p, "number too long");
  memcpy(buf, p->s, n);
  buf[n] = 0;
  char *endp;
  errno = 0;
  v->num = strtod(buf, &endp);
  if (endp != buf + n) return jfail(p, "bad number");
  v->type = J_NUM;
  p->s = q;
  return OCTET_OK;
}

static bool literal(jparser *p, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n)) return false;
  p->s += n;
  return true;
}

/* Arrays and objects: items collected in a growing buffer, then copied into the arena. */
static octet_status parse_container(jparser *p, jv *v, int depth, bool object) {
  p->s++;
  size_t cap = 8, n = 0;
  jv *items = octet_malloc(cap * sizeof *items);
  char **keys = object ? octet_malloc(cap * sizeof *keys) : NULL;
  octet_status st = OCTET_OK;
  if (!items || (object && !keys)) st = octet_fail(p->err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  skip_ws(p);
  bool first = true;
  while (!st) {
    skip_ws(p);
    if (p->s < p->end && *p->s == (object ? '}' : ']') && first) {
      p->s++;
      break;
    }
    if (n == cap) {
      cap *= 2;
      jv *ni = octet_realloc(items, cap * sizeof *items);
      if (ni) items = ni;
      char **nk = object && ni ? octet_realloc(keys, cap * sizeof *keys) : keys;
      if (nk) keys = nk;
      if (!ni || !nk) {
        st = octet_fail(p->err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
        break;
      }
    }
    if (object) {
      if (p->s >= p->end || *p->s != '"') {
        st = jfail(p, "expected a key");
        break;
      }
      if ((st = parse_string(p, &keys[n]))) break;
      skip_ws(p);
      if (p->s >= p->end || *p->s != ':') {
        st = jfail(p, "expected ':'");
        break;
      }
      p->s++;
    }
    if ((st = parse_value(p, &items[n], depth + 1))) break;
    n++;
    first = false;
    skip_ws(p);
    if (p->s < p->end && *p->s == ',') {
      p->s++;
      continue;
    }
    if (p->s < p->end && *p->s == (object ? '}' : ']')) {
      p->s++;
      break;
    }
    st = jfail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
  }
  if (!st) {
    v->type = object ? J_OBJ : J_ARR;
    v->n = n;
    v->items = octet_arena_alloc(p->arena, (n ? n : 1) * sizeof *items);
    v->keys = object ? octet_arena_alloc(p->arena, (n ? n : 1) * sizeof *keys) : NULL;
    if (!v->items || (object && !v->keys)) st = octet_fail(p->err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    else {
      if (n) memcpy(v->items, items, n * sizeof *items);
      if (object && n) memcpy(v->keys, keys, n * sizeof *keys);
    }
  }
  octet_free(items);
  octet_free(keys);
  return st;
}

static octet_status parse_value(jparser *p, jv *v, int depth) {
  memset(v, 0, sizeof *v);
  if (depth > MAX_DEPTH) return jfail(p, "nested too deeply");
  skip_ws(p);
  if (p->s >= p->end) return jfail(p, "unexpected end");
  switch (*p->s) {
  case '{': return parse_container(p, v, depth, true);
  case '[': return parse_container(p, v, depth, false);
  case '"': v->type = J_STR; return parse_string(p, &v->str);
  case 't': if (literal(p, "true")) { v->type = J_BOOL; v->num = 1; return OCTET_OK; } break;
  case 'f': if (literal(p, "false")) { v->type = J_BOOL; return OCTET_OK; } break;
  case 'n': if (literal(p, "null")) { v->type = J_NULL; return OCTET_OK; } break;
  default: return parse_number(p, v);
  }
  return jfail(p, "unexpected word");
}

static const jv *member(const jv *o, const char *key) {
  if (!o || o->type != J_OBJ) return NULL;
  for (size_t i = 0; i < o->n; i++)
    if (!strcmp(o->keys[i], key)) return &o->items[i];
  return NULL;
}

static octet_status read_all(const char *path, char **data, size_t *size, octet_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return octet_fail(err, OCTET_STATUS_IO, "cannot open calibration table '%s': %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = octet_malloc(cap);
  octet_status st = buf ? OCTET_OK : octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  while (!st) {
    if (n == cap) {
      if (cap >= MAX_TABLE_BYTES) {
        st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "calibration table '%s' is larger than 1 GiB", path);
        break;
      }
      char *nb = octet_realloc(buf, cap * 2);
      if (!nb) {
        st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) st = octet_fail(err, OCTET_STATUS_IO, "cannot read calibration table '%s'", path);
      break;
    }
  }
  fclose(f);
  if (st) {
    octet_free(buf);
    return st;
  }
  *data = buf;
  *size = n;
  return OCTET_OK;
}

static bool finite_num(const jv *v) { return v && v->type == J_NUM && isfinite(v->num); }

static octet_status load_tensor(octet_calibrator *c, const char *path, const char *name, const jv *t,
                                octet_error *err) {
  const jv *mn = member(t, "min"), *mx = member(t, "max"), *ranges = member(t, "ranges");
  if (t->type != J_OBJ || !finite_num(mn) || !finite_num(mx) || !ranges || ranges->type != J_OBJ)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "calibration table '%s': tensor '%s' needs numbers \"min\", \"max\" and an object \"ranges\"",
                      path, name);
  if (octet_calibrator_find(c, name))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "calibration table '%s': tensor '%s' appears twice", path,
                      name);
  octet_calib_entry *e;
  octet_status st = octet_calibrator_entry(c, name, &e, err);
  if (st) return st;
  e->from_table = true;
  const jv *rank = member(t, "rank");
  if (finite_num(rank) && rank->num >= 0 && rank->num <= 64) e->rank = (int32_t)rank->num;
  e->hist.min = (float)mn->num;
  e->hist.max = (float)mx->num;
  for (size_t i = 0; i < ranges->n; i++) {
    octet_range_method m;
    octet_error ignored = {0};
    /* a method this build does not know is skipped: asking for it later gives the message */
    if (octet_range_method_parse(ranges->keys[i], &m, &ignored)) continue;
    const jv *r = &ranges->items[i];
    if (r->type != J_ARR || r->n != 2 || !finite_num(&r->items[0]) || !finite_num(&r->items[1]) ||
        r->items[0].num > 0 || r->items[1].num < 0)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "calibration table '%s': tensor '%s': range \"%s\" must be [lo, hi] with lo <= 0 <= hi",
                        path, name, ranges->keys[i]);
    e->table_range[m][0] = r->items[0].num;
    e->table_range[m][1] = r->items[1].num;
    e->table_has[m] = true;
  }
  return OCTET_OK;
}

octet_status octet_calibrator_load_table(octet_calibrator *c, const char *path, octet_error *err) {
  if (!c || !path) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_calibrator_load_table: no calibrator or path");
  char *data = NULL;
  size_t size = 0;
  octet_status st = read_all(path, &data, &size, err);
  if (st) return st;
  octet_arena *arena = octet_arena_create();
  jparser p = {data, data + size, data, arena, err, path};
  jv root;
  if (!arena) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  if (!st) st = parse_value(&p, &root, 0);
  if (!st) {
    skip_ws(&p);
    if (p.s != p.end) st = jfail(&p, "text after the document");
  }
  const jv *fmt = st ? NULL : member(&root, "format"), *ver = st ? NULL : member(&root, "version");
  const jv *tensors = st ? NULL : member(&root, "tensors");
  if (!st && (!fmt || fmt->type != J_STR || strcmp(fmt->str, "octet-calibration") || !ver || ver->type != J_NUM))
    st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                    "'%s' is not an octet calibration table (no \"format\": \"octet-calibration\")", path);
  if (!st && ver->num != 1)
    st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "calibration table '%s' has version %g; this octet reads version 1",
                    path, ver->num);
  if (!st && (!tensors || tensors->type != J_OBJ))
    st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "calibration table '%s' has no \"tensors\" object", path);
  if (!st) {
    const jv *sym = member(&root, "symmetric"), *target = member(&root, "target"), *samples = member(&root, "samples");
    c->table.symmetric = sym && sym->type == J_BOOL && sym->num != 0;
    c->table.signed_target = target && target->type == J_STR && !strcmp(target->str, "int8");
    const jv *pct = member(&root, "percentile"), *eb = member(&root, "entropy_bins"),
             *el = member(&root, "entropy_levels");
    c->table.percentile = finite_num(pct) ? pct->num : 0;
    c->table.entropy_bins = finite_num(eb) && eb->num >= 0 && eb->num < 4294967296.0 ? (uint32_t)eb->num : 0;
    c->table.entropy_levels = finite_num(el) && el->num >= 0 && el->num < 4294967296.0 ? (uint32_t)el->num : 0;
    if (finite_num(samples) && samples->num >= 0) c->samples = (uint64_t)samples->num;
  }
  for (size_t i = 0; !st && i < tensors->n; i++) st = load_tensor(c, path, tensors->keys[i], &tensors->items[i], err);
  octet_arena_destroy(arena);
  octet_free(data);
  return st;
}

octet_status octet_calibration_table_range(const octet_calibrator *c, const octet_calib_entry *e,
                                           const octet_range_options *o, double *lo, double *hi,
                                           octet_error *err) {
  const char *mname = octet_range_method_name(o->method);
  if (!e->table_has[o->method])
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "the calibration table has no \"%s\" range for it (write the table with "
                      "`octet calibrate --method all`, or pick a --method it has)", mname);
  if (o->symmetric != c->table.symmetric || o->unsigned_target == c->table.signed_target)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "the calibration table was chosen for %s %s ranges, the quantizer asks for %s %s",
                      c->table.symmetric ? "symmetric" : "asymmetric", c->table.signed_target ? "int8" : "uint8",
                      o->symmetric ? "symmetric" : "asymmetric", o->unsigned_target ? "uint8" : "int8");
  if ((o->method == OCTET_RANGE_PERCENTILE && c->table.percentile > 0 && o->percentile != c->table.percentile) ||
      (o->method == OCTET_RANGE_ENTROPY && ((c->table.entropy_bins && o->entropy_bins != c->table.entropy_bins) ||
                                            (c->table.entropy_levels && o->entropy_levels != c->table.entropy_levels))))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "the calibration table's \"%s\" ranges were chosen with other settings (percentile %g, "
                      "entropy %u bins / %u levels) than the quantizer's (%g, %u / %u)", mname, c->table.percentile,
                      c->table.entropy_bins, c->table.entropy_levels, o->percentile, o->entropy_bins, o->entropy_levels);
  *lo = e->table_range[o->method][0];
  *hi = e->table_range[o->method][1];
  return OCTET_OK;
}
