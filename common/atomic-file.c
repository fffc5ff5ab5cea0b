/* atomic-file.c — outputs appear whole or not at all: temp file in the same folder + rename. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

octet_status octet_atomic_open(octet_atomic_file *af, const char *path, octet_error *err) {
  memset(af, 0, sizeof *af);
  struct stat sb;
  /* Renaming over a device or a folder would replace it: only regular files are outputs. */
  if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
    return octet_fail(err, OCTET_STATUS_IO, "cannot write '%s': it exists and is not a regular file", path);
  size_t n = strlen(path);
  af->path = octet_strdup(path);
  af->tmp_path = octet_malloc(n + 16);
  if (!af->path || !af->tmp_path) {
    octet_atomic_abort(af);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  snprintf(af->tmp_path, n + 16, "%s.tmp-XXXXXX", path);
  int fd = mkstemp(af->tmp_path);
  if (fd < 0) {
    int e = errno;
    octet_free(af->tmp_path);
    af->tmp_path = NULL;
    octet_atomic_abort(af);
    return octet_fail(err, OCTET_STATUS_IO, "cannot create a file beside '%s': %s", path,
                      strerror(e));
  }
  /* mkstemp creates 0600; outputs are ordinary files others may read (like `cp` would make). */
  (void)fchmod(fd, 0644);
  af->f = fdopen(fd, "wb");
  if (!af->f) {
    close(fd);
    octet_atomic_abort(af);
    return octet_fail(err, OCTET_STATUS_IO, "cannot open '%s' for writing", path);
  }
  return OCTET_OK;
}

octet_status octet_atomic_commit(octet_atomic_file *af, octet_error *err) {
  FILE *f = af->f;
  af->f = NULL;
  int bad = ferror(f) != 0;
  bad |= fflush(f) != 0;
  bad |= fsync(fileno(f)) != 0;
  bad |= fclose(f) != 0;
  if (bad || rename(af->tmp_path, af->path) != 0) {
    int e = errno;
    octet_status st = octet_fail(err, OCTET_STATUS_IO, "cannot write '%s': %s", af->path,
                                 strerror(e ? e : EIO));
    octet_atomic_abort(af);
    return st;
  }
  octet_free(af->tmp_path);
  af->tmp_path = NULL;
  octet_atomic_abort(af);
  return OCTET_OK;
}

void octet_atomic_abort(octet_atomic_file *af) {
  if (af->f) fclose(af->f);
  if (af->tmp_path) unlink(af->tmp_path);
  octet_free(af->tmp_path);
  octet_free(af->path);
  memset(af, 0, sizeof *af);
}
