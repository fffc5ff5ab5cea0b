/* thread-pool.c — a fixed pthread pool behind octet_host.parallel_for. Work is split into
 * n_threads contiguous ranges decided only by n and the thread count, so kernels see the same
 * split on every run. */
#include <pthread.h>
#include <unistd.h>

#include "runtime/runtime.h"

struct octet_rt_pool {
  uint32_t n_threads; /* including the caller */
  pthread_t *threads;
  size_t n_started;
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  uint64_t generation;
  bool stop;
  /* current job */
  size_t n;
  octet_task_fn task;
  void *arg;
  uint32_t parts;
  uint32_t pending;
};

static _Thread_local bool in_pool_task;

typedef struct worker_arg {
  octet_rt_pool *pool;
  uint32_t index; /* 1.. n_threads-1; the caller runs part 0 */
} worker_arg;

static void run_part(octet_rt_pool *p, uint32_t part) {
  size_t begin = (size_t)((unsigned __int128)p->n * part / p->parts);
  size_t end = (size_t)((unsigned __int128)p->n * (part + 1) / p->parts);
  if (begin < end) p->task(p->arg, begin, end);
}

static void *worker_main(void *varg) {
  worker_arg *wa = varg;
  octet_rt_pool *p = wa->pool;
  uint32_t index = wa->index;
  octet_free(wa);
  in_pool_task = true;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->lock);
    if (p->stop) break;
    seen = p->generation;
    bool mine = index < p->parts;
    pthread_mutex_unlock(&p->lock);
    if (mine) run_part(p, index);
    pthread_mutex_lock(&p->lock);
    if (mine && --p->pending == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

static void pool_parallel_for(void *ctx, size_t n, octet_task_fn task, void *arg) {
  octet_rt_pool *p = ctx;
  /* A task that calls parallel_for again runs its inner loop on its own thread. */
  if (in_pool_task || p->n_started == 0 || n < 2) {
    if (n) task(arg, 0, n);
    return;
  }
  uint32_t parts = p->n_threads;
  if ((size_t)parts > n) parts = (uint32_t)n;
  pthread_mutex_lock(&p->lock);
  p->n = n;
  p->task = task;
  p->arg = arg;
  p->parts = parts;
  p->pending = parts - 1;
  p->generation++;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  in_pool_task = true;
  run_part(p, 0);
  in_pool_task = false;
  pthread_mutex_lock(&p->lock);
  while (p->pending) pthread_cond_wait(&p->done, &p->lock);
  pthread_mutex_unlock(&p->lock);
}

uint32_t octet_rt_default_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > 256) n = 256;
  return (uint32_t)n;
}

octet_status octet_rt_pool_create(uint32_t n_threads, octet_rt_pool **out, octet_error *err) {
  if (n_threads == 0) n_threads = octet_rt_default_threads();
  if (n_threads > 1024)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "n_threads %u is too many (max 1024)",
                      n_threads);
  octet_rt_pool *p = octet_calloc(1, sizeof *p);
  if (!p) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory creating thread pool");
  p->n_threads = n_threads;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  if (n_threads > 1) {
    p->threads = octet_calloc(n_threads - 1, sizeof *p->threads);
    if (!p->threads) {
      octet_rt_pool_destroy(p);
      return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory creating thread pool");
    }
    for (uint32_t i = 1; i < n_threads; i++) {
      worker_arg *wa = octet_malloc(sizeof *wa);
      if (!wa) {
        octet_rt_pool_destroy(p);
        return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory creating thread pool");
      }
      wa->pool = p;
      wa->index = i;
      if (pthread_create(&p->threads[p->n_started], NULL, worker_main, wa)) {
        octet_free(wa);
        octet_rt_pool_destroy(p);
        return octet_fail(err, OCTET_STATUS_INTERNAL, "cannot start thread %u of %u", i,
                          n_threads);
      }
      p->n_started++;
    }
  }
  *out = p;
  return OCTET_OK;
}

void octet_rt_pool_destroy(octet_rt_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  p->stop = true;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (size_t i = 0; i < p->n_started; i++) pthread_join(p->threads[i], NULL);
  octet_free(p->threads);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  octet_free(p);
}

void octet_rt_pool_host(octet_rt_pool *p, octet_host *host) {
  host->ctx = p;
  /* Only as many threads as were started: a pool that failed to grow still runs correctly. */
  host->n_threads = p ? (uint32_t)p->n_started + 1 : 1;
  host->parallel_for = pool_parallel_for;
}
