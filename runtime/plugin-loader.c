/* plugin-loader.c — finds and dlopens the kernel module (liboctet-kernels.so) once per path per
 * process, and looks kernels up in its table. */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime.h"

#define MODULE_NAME "liboctet-kernels.so"

/* Modules stay loaded until exit: kernels' code must outlive every session and the table is
 * small, so a handful of paths never grows into a leak worth tracking. */
typedef struct loaded_module {
  char *path;
  void *handle;
  const octet_plugin *plugin;
  struct loaded_module *next;
} loaded_module;

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static loaded_module *modules;

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir of `file` + "/" + MODULE_NAME into out; false when it does not fit. */
static bool sibling_path(const char *file, char *out, size_t size) {
  const char *slash = strrchr(file, '/');
  size_t dir_len = slash ? (size_t)(slash - file) : 1;
  const char *dir = slash ? file : ".";
  int n = snprintf(out, size, "%.*s/%s", (int)dir_len, dir, MODULE_NAME);
  return n > 0 && (size_t)n < size;
}

static octet_status resolve_path(const char *explicit_path, char *out, size_t size,
                                 octet_error *err) {
  const char *given = explicit_path;
  const char *source = "plugin_path";
  if (!given || !*given) {
    given = getenv("OCTET_PLUGIN");
    source = "$OCTET_PLUGIN";
  }
  if (given && *given) {
    if (strlen(given) >= size)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "kernel module path from %s is too long",
                        source);
    if (!file_exists(given))
      return octet_fail(err, OCTET_STATUS_IO, "kernel module '%s' (from %s) does not exist", given,
                        source);
    strcpy(out, given);
    return OCTET_OK;
  }
  /* Next to the library that holds this code (liboctet.so, or the executable when linked
   * statically), then next to the running executable. */
  Dl_info info;
  if (dladdr((void *)&octet_rt_plugin_load, &info) && info.dli_fname &&
      sibling_path(info.dli_fname, out, size) && file_exists(out))
    return OCTET_OK;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    if (sibling_path(exe, out, size) && file_exists(out)) return OCTET_OK;
  }
  return octet_fail(err, OCTET_STATUS_IO,
                    "kernel module %s not found next to liboctet or the executable; set "
                    "$OCTET_PLUGIN or pass its path", MODULE_NAME);
}

static octet_status open_module(const char *path, loaded_module **out, octet_error *err) {
  dlerror();
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    return octet_fail(err, OCTET_STATUS_IO, "cannot load kernel module '%s': %s", path,
                      why ? why : "unknown dlopen error");
  }
  dlerror();
  void *sym = dlsym(handle, OCTET_PLUGIN_ENTRY);
  if (!sym) {
    dlclose(handle);
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "'%s' is not an octet kernel module: it does not export %s", path,
                      OCTET_PLUGIN_ENTRY);
  }
  octet_plugin_get_fn get;
  memcpy(&get, &sym, sizeof get); /* object-to-function pointer without a pedantic cast */
  const octet_plugin *plugin = get(OCTET_PLUGIN_ABI_VERSION);
  if (!plugin || plugin->abi_version != OCTET_PLUGIN_ABI_VERSION) {
    dlclose(handle);
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                      "kernel module '%s' does not speak plugin ABI version %u (built for another "
                      "octet version?)", path, OCTET_PLUGIN_ABI_VERSION);
  }
  if (plugin->n_kernels > 0 && !plugin->kernels) {
    dlclose(handle);
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "kernel module '%s' lists %zu kernels but no table", path, plugin->n_kernels);
  }
  loaded_module *m = octet_calloc(1, sizeof *m);
  char *p = octet_strdup(path);
  if (!m || !p) {
    octet_free(m);
    octet_free(p);
    dlclose(handle);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory loading '%s'", path);
  }
  m->path = p;
  m->handle = handle;
  m->plugin = plugin;
  *out = m;
  return OCTET_OK;
}

octet_status octet_rt_plugin_load(const char *explicit_path, const octet_plugin **plugin,
                                  octet_error *err) {
  char path[PATH_MAX];
  octet_status st = resolve_path(explicit_path, path, sizeof path, err);
  if (st) return st;
  char real[PATH_MAX];
  const char *key = realpath(path, real) ? real : path;
  pthread_mutex_lock(&modules_lock);
  loaded_module *m = modules;
  while (m && strcmp(m->path, key)) m = m->next;
  if (!m) {
    st = open_module(key, &m, err);
    if (!st) {
      m->next = modules;
      modules = m;
    }
  }
  pthread_mutex_unlock(&modules_lock);
  if (st) return st;
  *plugin = m->plugin;
  return OCTET_OK;
}

const octet_kernel *octet_rt_find_kernel(const octet_plugin *p, const char *domain,
                                         const char *op_type, int64_t opset) {
  /* ai.octet (what `octet quantize --format octet` writes for ONNX Runtime hosts) names the
   * same kernels as ai.onnx's QLinearConv/QLinearMatMul and com.microsoft's QGemm. */
  if (domain && !strcmp(domain, "ai.octet")) {
    const octet_kernel *k = octet_rt_find_kernel(p, "", op_type, INT64_MAX);
    return k ? k : octet_rt_find_kernel(p, "com.microsoft", op_type, INT64_MAX);
  }
  return octet_plugin_find(p, domain, op_type, opset);
}
