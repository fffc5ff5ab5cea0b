/* vad-stream.c — runs Silero VAD (v5/v6 interface) over a 16 kHz mono WAV with octet, carrying
 * the recurrent state across 512-sample frames (each with the previous 64 samples prepended),
 * and writes the per-frame speech probabilities to a .npy file.
 *   vad-stream MODEL.onnx IN.wav OUT.npy */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "octet/octet.h"

#define FRAME 512
#define CONTEXT 64

static float *read_wav(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char hdr[12];
  if (fread(hdr, 1, 12, f) != 12 || memcmp(hdr, "RIFF", 4) || memcmp(hdr + 8, "WAVE", 4)) {
    fclose(f);
    return NULL;
  }
  float *out = NULL;
  unsigned char ch[8];
  while (fread(ch, 1, 8, f) == 8) {
    unsigned len = ch[4] | ch[5] << 8 | ch[6] << 16 | (unsigned)ch[7] << 24;
    if (!memcmp(ch, "data", 4)) {
      short *pcm = malloc(len);
      if (!pcm || fread(pcm, 1, len, f) != len) break;
      *n = len / 2;
      out = malloc(*n * sizeof *out);
      for (size_t i = 0; i < *n; i++) out[i] = (float)pcm[i] / 32768.0f;
      free(pcm);
      break;
    }
    fseek(f, (long)(len + (len & 1)), SEEK_CUR);
  }
  fclose(f);
  return out;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: vad-stream MODEL.onnx IN.wav OUT.npy\n");
    return 2;
  }
  size_t n = 0;
  float *pcm = read_wav(argv[2], &n);
  if (!pcm) {
    fprintf(stderr, "vad-stream: cannot read %s\n", argv[2]);
    return 1;
  }
  octet_error err = {0};
  octet_model *m = NULL;
  octet_session *s = NULL;
  octet_session_options so = {.n_threads = 1};
  if (octet_model_load(argv[1], NULL, &m, &err) || octet_session_create(m, &so, &s, &err)) {
    fprintf(stderr, "vad-stream: %s\n", err.message);
    return 1;
  }
  size_t frames = n / FRAME;
  float *probs = calloc(frames ? frames : 1, sizeof *probs);
  float x[CONTEXT + FRAME] = {0}, state[2 * 128] = {0};
  int64_t sr = 16000;
  for (size_t f = 0; f < frames; f++) {
    memmove(x, x + FRAME, CONTEXT * sizeof *x); /* the previous frame's last 64 samples */
    memcpy(x + CONTEXT, pcm + f * FRAME, FRAME * sizeof *x);
    octet_tensor in[3] = {
      {.dtype = OCTET_DTYPE_FLOAT, .rank = 2, .dims = {1, CONTEXT + FRAME}, .data = x},
      {.dtype = OCTET_DTYPE_FLOAT, .rank = 3, .dims = {2, 1, 128}, .data = state},
      {.dtype = OCTET_DTYPE_INT64, .rank = 0, .data = &sr},
    };
    octet_tensor out[2];
    if (octet_session_run(s, in, 3, out, 2, &err)) {
      fprintf(stderr, "vad-stream: frame %zu: %s\n", f, err.message);
      return 1;
    }
    probs[f] = ((float *)out[0].data)[0];
    memcpy(state, out[1].data, sizeof state);
  }
  octet_tensor p = {.dtype = OCTET_DTYPE_FLOAT, .rank = 1, .dims = {(int64_t)frames}, .data = probs};
  if (octet_tensor_save(argv[3], &p, NULL, &err)) {
    fprintf(stderr, "vad-stream: %s\n", err.message);
    return 1;
  }
  octet_session_destroy(s);
  octet_model_destroy(m);
  free(probs);
  free(pcm);
  return 0;
}
