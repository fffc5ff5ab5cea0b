/* arena.c — bump allocator in chunks; one call frees everything (ggml's lesson). */
#include <string.h>

#include "common/common.h"

#define ARENA_CHUNK (64u * 1024u)
#define ARENA_ALIGN 16u

typedef struct chunk {
  struct chunk *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
} chunk;

struct octet_arena {
  chunk *head; /* current small-allocation chunk first */
};

octet_arena *octet_arena_create(void) { return octet_calloc(1, sizeof(octet_arena)); }

static chunk *chunk_new(size_t cap) {
  size_t total;
  if (!octet_add_size(sizeof(chunk), cap, &total)) return NULL;
  chunk *c = octet_malloc(total);
  if (!c) return NULL;
  c->next = NULL;
  c->used = 0;
  c->cap = cap;
  return c;
}

void *octet_arena_alloc(octet_arena *a, size_t size) {
  size_t rounded;
  if (!octet_add_size(size, ARENA_ALIGN - 1, &rounded)) return NULL;
  rounded &= ~(size_t)(ARENA_ALIGN - 1);
  if (rounded == 0) rounded = ARENA_ALIGN;
  if (rounded > ARENA_CHUNK / 4) {
    /* A big block gets a private chunk linked behind the head so the head stays usable. */
    chunk *c = chunk_new(rounded);
    if (!c) return NULL;
    c->used = rounded;
    if (a->head) {
      c->next = a->head->next;
      a->head->next = c;
    } else {
      a->head = c;
    }
    memset(c->data, 0, rounded);
    return c->data;
  }
  if (!a->head || a->head->cap - a->head->used < rounded) {
    chunk *c = chunk_new(ARENA_CHUNK);
    if (!c) return NULL;
    c->next = a->head;
    a->head = c;
  }
  void *p = a->head->data + a->head->used;
  a->head->used += rounded;
  memset(p, 0, rounded);
  return p;
}

char *octet_arena_strndup(octet_arena *a, const char *s, size_t n) {
  char *d = octet_arena_alloc(a, n + 1);
  if (!d) return NULL;
  if (n) memcpy(d, s, n);
  d[n] = 0;
  return d;
}

char *octet_arena_strdup(octet_arena *a, const char *s) {
  return octet_arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

void octet_arena_destroy(octet_arena *a) {
  if (!a) return;
  for (chunk *c = a->head; c;) {
    chunk *next = c->next;
    octet_free(c);
    c = next;
  }
  octet_free(a);
}
