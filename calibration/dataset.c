/* dataset.c — calibration samples from .npy/.npz arrays, .pb files, ONNX test-data folders and
 * images, read a batch at a time so memory stays flat however many samples there are. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "onnx_io/npy.h"
#include "calibration/image.h"

typedef enum { DS_ARRAY, DS_FILES, DS_IMAGES } ds_kind;

struct octet_dataset {
  ds_kind kind;
  char *path;
  /* DS_ARRAY: a mapped .npy (or .npz member), or inflated bytes of a compressed member */
  const unsigned char *map;
  size_t map_size;
  unsigned char *inflated;
  octet_tensor shape; /* dtype and dims of the whole array; data unused */
  size_t data_offset; /* of the array's first element within map */
  /* DS_FILES / DS_IMAGES: one file per sample */
  char **files;
  size_t n_files;
  octet_image_options image;
};

uint64_t octet_dataset_count(const octet_dataset *ds) {
  if (ds->kind == DS_ARRAY) return ds->shape.rank ? (uint64_t)ds->shape.dims[0] : 1;
  return ds->n_files;
}

void octet_dataset_destroy(octet_dataset *ds) {
  if (!ds) return;
  if (ds->map) munmap((void *)ds->map, ds->map_size);
  octet_free(ds->inflated);
  for (size_t i = 0; i < ds->n_files; i++) octet_free(ds->files[i]);
  octet_free(ds->files);
  octet_free(ds->path);
  octet_free(ds);
}

/* ---- .npy header ---- */

static octet_status array_header(octet_dataset *ds, const unsigned char *b, size_t size,
                                 octet_error *err) {
  size_t offset;
  octet_status st = octet_npy_header(ds->path, b, size, &ds->shape, &offset, err);
  if (st) return st;
  ds->data_offset += offset;
  return OCTET_OK;
}

/* ---- .npz: a zip of .npy members, stored or deflated ---- */

static uint32_t rd16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const unsigned char *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static octet_status npz_member(octet_dataset *ds, const char *member, octet_error *err) {
  const unsigned char *b = ds->map;
  size_t size = ds->map_size, eocd = SIZE_MAX;
  for (size_t back = 22; back <= size && back <= 22 + 65535; back++)
    if (rd32(b + size - back) == 0x06054b50u) {
      eocd = size - back;
      break;
    }
  if (eocd == SIZE_MAX)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: not a .npz (zip) file", ds->path);
  uint64_t n = rd16(b + eocd + 10), cd = rd32(b + eocd + 16);
  if (cd == 0xffffffffu && eocd >= 20 && rd32(b + eocd - 20) == 0x07064b50u) { /* zip64 */
    uint64_t loc = rd64(b + eocd - 20 + 8);
    if (loc + 56 > size || rd32(b + loc) != 0x06064b50u)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: corrupt zip64 directory", ds->path);
    n = rd64(b + loc + 32);
    cd = rd64(b + loc + 48);
  }
  char want[512];
  snprintf(want, sizeof want, "%s.npy", member ? member : "");
  size_t p = cd;
  for (uint64_t i = 0; i < n; i++) {
    if (p + 46 > size || rd32(b + p) != 0x02014b50u)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: corrupt zip directory", ds->path);
    uint32_t method = rd16(b + p + 10), name_len = rd16(b + p + 28), extra_len = rd16(b + p + 30),
             comment_len = rd16(b + p + 32);
    uint64_t csize = rd32(b + p + 20), usize = rd32(b + p + 24), local = rd32(b + p + 42);
    if (p + 46 + name_len + extra_len > size)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: corrupt zip directory", ds->path);
    const char *name = (const char *)b + p + 46;
    /* zip64 sizes live in extra field 0x0001, in the order of the 0xffffffff fields */
    for (size_t e = 0; e + 4 <= extra_len;) {
      const unsigned char *x = b + p + 46 + name_len + e;
      uint32_t id = rd16(x), len = rd16(x + 2);
      if (id == 1) {
        size_t k = 4;
        if (usize == 0xffffffffu && k + 8 <= 4 + len) usize = rd64(x + k), k += 8;
        if (csize == 0xffffffffu && k + 8 <= 4 + len) csize = rd64(x + k), k += 8;
        if (local == 0xffffffffu && k + 8 <= 4 + len) local = rd64(x + k);
      }
      e += 4 + len;
    }
    bool match = member ? (name_len == strlen(want) && !memcmp(name, want, name_len))
                        : (name_len > 4 && !memcmp(name + name_len - 4, ".npy", 4));
    if (match) {
      if (local + 30 > size || rd32(b + local) != 0x04034b50u)
        return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: corrupt zip entry", ds->path);
      uint64_t data = local + 30 + rd16(b + local + 26) + rd16(b + local + 28);
      if (data > size || csize > size - data)
        return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: truncated zip entry", ds->path);
      if (method == 0) {
        ds->data_offset = data;
        return array_header(ds, b + data, csize, err);
      }
      if (method != 8)
        return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: zip compression method %u", ds->path, method);
      /* Deflated members are inflated whole: use .npy or np.savez (stored) for huge data. */
      if (usize > (uint64_t)SIZE_MAX / 2 || !(ds->inflated = octet_malloc(usize ? usize : 1)))
        return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "%s: cannot inflate %llu bytes", ds->path,
                          (unsigned long long)usize);
      z_stream z = {0};
      z.next_in = (unsigned char *)b + data;
      z.avail_in = (uInt)csize;
      z.next_out = ds->inflated;
      z.avail_out = (uInt)usize;
      int zr = inflateInit2(&z, -15);
      if (zr == Z_OK) zr = inflate(&z, Z_FINISH);
      inflateEnd(&z);
      if (zr != Z_STREAM_END || z.total_out != usize)
        return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: corrupt deflated member", ds->path);
      ds->data_offset = 0;
      return array_header(ds, ds->inflated, usize, err);
    }
    p += 46 + name_len + extra_len + comment_len;
  }
  return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: no array named '%s' in the .npz",
                    ds->path, member ? member : "(any)");
}

/* ---- folders ---- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcasecmp(s + n - k, suffix);
}

static octet_status add_file(octet_dataset *ds, size_t *cap, const char *dir, const char *name,
                             octet_error *err) {
  if (ds->n_files == *cap) {
    *cap = *cap ? 2 * *cap : 64;
    char **f = octet_realloc(ds->files, *cap * sizeof *f);
    if (!f) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    ds->files = f;
  }
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = octet_malloc(n);
  if (!p) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  snprintf(p, n, "%s/%s", dir, name);
  ds->files[ds->n_files++] = p;
  return OCTET_OK;
}

static octet_status scan_folder(octet_dataset *ds, const char *member, octet_error *err) {
  DIR *d = opendir(ds->path);
  if (!d) return octet_fail(err, OCTET_STATUS_IO, "cannot read folder '%s': %s", ds->path, strerror(errno));
  size_t cap = 0, n_pb = 0, n_img = 0, n_sets = 0;
  octet_status st = OCTET_OK;
  char input[64];
  snprintf(input, sizeof input, "input_%s.pb", member ? member : "0");
  struct dirent *e;
  /* First pass: what kind of folder is it? */
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (!strncmp(e->d_name, "test_data_set_", 14)) n_sets++;
    else if (has_suffix(e->d_name, ".pb")) n_pb++;
    else if (has_suffix(e->d_name, ".png") || has_suffix(e->d_name, ".jpg") ||
             has_suffix(e->d_name, ".jpeg"))
      n_img++;
  }
  rewinddir(d);
  if (n_sets) {
    ds->kind = DS_FILES;
    while (!st && (e = readdir(d)))
      if (!strncmp(e->d_name, "test_data_set_", 14)) {
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", e->d_name, input);
        st = add_file(ds, &cap, ds->path, sub, err);
      }
  } else if (n_pb || n_img) {
    if (n_pb && n_img) st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                                       "folder '%s' mixes .pb tensors and images", ds->path);
    ds->kind = n_pb ? DS_FILES : DS_IMAGES;
    while (!st && (e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      bool take = n_pb ? has_suffix(e->d_name, ".pb")
                       : (has_suffix(e->d_name, ".png") || has_suffix(e->d_name, ".jpg") ||
                          has_suffix(e->d_name, ".jpeg"));
      if (take) st = add_file(ds, &cap, ds->path, e->d_name, err);
    }
  } else {
    st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                    "folder '%s' has no .pb tensors, test_data_set_* folders or PNG/JPEG images",
                    ds->path);
  }
  closedir(d);
  if (!st) qsort(ds->files, ds->n_files, sizeof *ds->files, cmp_str);
  return st;
}

octet_status octet_dataset_open(const char *path, const char *member,
                                const octet_image_options *image, octet_dataset **out,
                                octet_error *err) {
  octet_dataset *ds = octet_calloc(1, sizeof *ds);
  if (!ds || !(ds->path = octet_strdup(path))) {
    octet_free(ds);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  if (image) ds->image = *image;
  octet_status st = OCTET_OK;
  struct stat sb;
  if (stat(path, &sb) != 0) {
    st = octet_fail(err, OCTET_STATUS_IO, "cannot open calibration data '%s': %s", path, strerror(errno));
  } else if (S_ISDIR(sb.st_mode)) {
    st = scan_folder(ds, member, err);
  } else if (has_suffix(path, ".pb")) {
    ds->kind = DS_FILES;
    size_t cap = 0;
    st = add_file(ds, &cap, ".", path, err);
    if (!st) { /* keep the path as given */
      octet_free(ds->files[0]);
      if (!(ds->files[0] = octet_strdup(path))) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    }
  } else if (has_suffix(path, ".png") || has_suffix(path, ".jpg") || has_suffix(path, ".jpeg")) {
    ds->kind = DS_IMAGES;
    size_t cap = 0;
    if (!(st = add_file(ds, &cap, ".", path, err))) {
      octet_free(ds->files[0]);
      if (!(ds->files[0] = octet_strdup(path))) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    }
  } else {
    ds->kind = DS_ARRAY;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
      st = octet_fail(err, OCTET_STATUS_IO, "cannot open '%s': %s", path, strerror(errno));
    } else {
      ds->map_size = (size_t)sb.st_size;
      void *m = ds->map_size ? mmap(NULL, ds->map_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
      close(fd);
      if (m == MAP_FAILED) {
        ds->map_size = 0;
        st = octet_fail(err, OCTET_STATUS_IO, "cannot map '%s' (empty or unreadable)", path);
      } else {
        ds->map = m;
        if (ds->map_size >= 4 && rd32(ds->map) == 0x04034b50u) st = npz_member(ds, member, err);
        else st = array_header(ds, ds->map, ds->map_size, err);
      }
    }
  }
  if (!st && octet_dataset_count(ds) == 0)
    st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "calibration data '%s' holds no samples", path);
  if (st) {
    octet_dataset_destroy(ds);
    return st;
  }
  *out = ds;
  return OCTET_OK;
}

/* ---- conversion ---- */

static octet_status convert(const void *src, int32_t sdt, void *dst, int32_t ddt, size_t n,
                            const char *path, octet_error *err) {
  if (sdt == ddt) {
    memcpy(dst, src, n * octet_dtype_size(sdt));
    return OCTET_OK;
  }
  if (ddt != OCTET_DTYPE_FLOAT)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: cannot convert %s samples to %s", path,
                      octet_dtype_name(sdt), octet_dtype_name(ddt));
  float *o = dst;
  switch (sdt) {
  case OCTET_DTYPE_FLOAT16:
    for (size_t i = 0; i < n; i++) o[i] = octet_half_to_float(((const uint16_t *)src)[i]);
    return OCTET_OK;
  case OCTET_DTYPE_DOUBLE:
    for (size_t i = 0; i < n; i++) o[i] = (float)((const double *)src)[i];
    return OCTET_OK;
  case OCTET_DTYPE_UINT8:
    for (size_t i = 0; i < n; i++) o[i] = ((const uint8_t *)src)[i];
    return OCTET_OK;
  case OCTET_DTYPE_INT8:
    for (size_t i = 0; i < n; i++) o[i] = ((const int8_t *)src)[i];
    return OCTET_OK;
  default:
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: cannot convert %s samples to float", path,
                      octet_dtype_name(sdt));
  }
}

static octet_status read_array(octet_dataset *ds, uint64_t first, uint64_t count, int32_t dtype,
                               octet_tensor *out, octet_error *err) {
  octet_tensor t = ds->shape;
  size_t per = 1, esize = octet_dtype_size(t.dtype);
  for (int32_t i = 1; i < t.rank; i++) per *= (size_t)t.dims[i];
  if (t.rank == 0) {
    t.rank = 1;
    t.dims[0] = 1;
  }
  t.dims[0] = (int64_t)count;
  t.dtype = dtype;
  size_t n = per * count;
  if (!(t.data = octet_malloc(n * octet_dtype_size(dtype) + 1)))
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory for %llu samples",
                      (unsigned long long)count);
  const unsigned char *base = ds->inflated ? ds->inflated : ds->map;
  const unsigned char *src = base + ds->data_offset + first * per * esize;
  octet_status st = convert(src, ds->shape.dtype, t.data, dtype, n, ds->path, err);
  if (st) {
    octet_free(t.data);
    return st;
  }
  if (!ds->inflated) {
    /* Drop the pages just read so resident memory does not grow with the data set. */
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)src & ~(uintptr_t)(page - 1);
    uintptr_t e = ((uintptr_t)src + n * esize) & ~(uintptr_t)(page - 1);
    if (e > a) madvise((void *)a, e - a, MADV_DONTNEED);
  }
  *out = t;
  return OCTET_OK;
}

static octet_status read_files(octet_dataset *ds, uint64_t first, uint64_t count, int32_t dtype,
                               octet_tensor *out, octet_error *err) {
  octet_tensor acc = {0};
  size_t used = 0, cap = 0;
  octet_status st = OCTET_OK;
  for (uint64_t i = first; i < first + count && !st; i++) {
    octet_tensor t = {0};
    const char *path = ds->files[i];
    if (ds->kind == DS_IMAGES) st = octet_image_load(path, &ds->image, &t, err);
    else st = octet_tensor_load(path, &t, NULL, err);
    if (st) break;
    /* A .pb may carry its own batch axis; an image is one sample: give it one. */
    if (ds->kind == DS_IMAGES || t.rank == 0) {
      if (t.rank == OCTET_MAX_RANK) {
        st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: rank too large", path);
      } else {
        memmove(t.dims + 1, t.dims, (size_t)t.rank * sizeof t.dims[0]);
        t.dims[0] = 1;
        t.rank++;
      }
    }
    if (!st && i == first) {
      acc = t;
      acc.dims[0] = 0;
      acc.data = NULL;
      acc.dtype = dtype;
    } else if (!st && (t.rank != acc.rank || memcmp(t.dims + 1, acc.dims + 1, (size_t)(t.rank - 1) * 8))) {
      st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "%s: sample shape differs from the first sample's (use --image-size for images)", path);
    }
    if (!st) {
      size_t n = octet_tensor_numel(&t), bytes = n * octet_dtype_size(dtype);
      if (used + bytes > cap) {
        size_t ncap = 2 * (used + bytes);
        void *nd = octet_realloc(acc.data, ncap);
        if (!nd) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
        else acc.data = nd, cap = ncap;
      }
      if (!st) st = convert(t.data, t.dtype, (char *)acc.data + used, dtype, n, path, err);
      used += bytes;
      acc.dims[0] += t.dims[0];
    }
    octet_tensor_free(&t);
  }
  if (st) {
    octet_free(acc.data);
    return st;
  }
  *out = acc;
  return OCTET_OK;
}

octet_status octet_dataset_read(octet_dataset *ds, uint64_t first, uint64_t count, int32_t dtype,
                                octet_tensor *out, octet_error *err) {
  uint64_t total = octet_dataset_count(ds);
  if (count == 0 || first > total || count > total - first)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: samples %llu..%llu out of %llu",
                      ds->path, (unsigned long long)first, (unsigned long long)(first + count),
                      (unsigned long long)total);
  if (ds->kind == DS_ARRAY) return read_array(ds, first, count, dtype, out, err);
  return read_files(ds, first, count, dtype, out, err);
}
