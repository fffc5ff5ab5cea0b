/* peak-avx2.c — the machine's exact-int8 peak on AVX2: independent chains of the micro-kernel's
 * core sequence (vpmaddwd + vpaddd, 16 MAC each), timed. Built with -mavx2 for bench-qgemm. */
#include <stdint.h>
#include <time.h>

double octet_bench_peak_avx2(void);

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* int8 MAC per second (best of a few 20M-instruction runs). */
double octet_bench_peak_avx2(void) {
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    const long iters = 4000000;
    long n_left = iters;
    double t0 = now();
    /* eight independent vpmaddwd -> vpaddd chains per iteration: written in asm so the
     * compiler can neither merge the products nor spill the accumulators */
    __asm__ volatile(
        "vpxor %%ymm8, %%ymm8, %%ymm8\n\tvpxor %%ymm9, %%ymm9, %%ymm9\n\t"
        "vpxor %%ymm10, %%ymm10, %%ymm10\n\tvpxor %%ymm11, %%ymm11, %%ymm11\n\t"
        "vpxor %%ymm12, %%ymm12, %%ymm12\n\tvpxor %%ymm13, %%ymm13, %%ymm13\n\t"
        "vpxor %%ymm14, %%ymm14, %%ymm14\n\tvpxor %%ymm15, %%ymm15, %%ymm15\n\t"
        "vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\tvpabsw %%ymm0, %%ymm1\n\t"
        "1:\n\t"
        "vpmaddwd %%ymm0, %%ymm1, %%ymm2\n\tvpaddd %%ymm2, %%ymm8, %%ymm8\n\t"
        "vpmaddwd %%ymm0, %%ymm1, %%ymm3\n\tvpaddd %%ymm3, %%ymm9, %%ymm9\n\t"
        "vpmaddwd %%ymm0, %%ymm1, %%ymm4\n\tvpaddd %%ymm4, %%ymm10, %%ymm10\n\t"
        "vpmaddwd %%ymm0, %%ymm1, %%ymm5\n\tvpaddd %%ymm5, %%ymm11, %%ymm11\n\t"
        "vpmaddwd %%ymm0, %%ymm1, %%ymm6\n\tvpaddd %%ymm6, %%ymm12, %%ymm12\n\t"
        "vpmaddwd %%ymm0, %%ymm1, %%ymm7\n\tvpaddd %%ymm7, %%ymm13, %%ymm13\n\t"
        "vpmaddwd %%ymm0, %%ymm1, %%ymm2\n\tvpaddd %%ymm2, %%ymm14, %%ymm14\n\t"
        "vpmaddwd %%ymm0, %%ymm1, %%ymm3\n\tvpaddd %%ymm3, %%ymm15, %%ymm15\n\t"
        "dec %0\n\tjnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(n_left)
        :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
          "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
    double t = now() - t0;
    double r = (double)iters * 8 * 16 / t;
    if (r > best) best = r;
  }
  return best;
}
