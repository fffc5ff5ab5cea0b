/* test-cli-run.c — `octet run` as users call it: exit codes (0 ok, 1 failure, 2 usage), the
 * messages for missing/extra/wrong inputs, output files, and finding the kernel module next to
 * the executable when neither --plugin nor $OCTET_PLUGIN is given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static char out_text[16384];

/* Runs `octet run ARGS` (no plugin in the environment) and returns its exit status; stdout and
 * stderr land in out_text. */
static int octet_run(const char *args) {
  const char *build = getenv("OCTET_BUILD_ROOT");
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "OCTET_PLUGIN= '%s/octet' run %s 2>&1", build ? build : ".", args);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out_text, 1, sizeof out_text - 1, p);
  out_text[n] = 0;
  int status = pclose(p);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

static const char *example(const char *name) {
  static char buf[4][1024];
  static int k;
  char *p = buf[k++ % 4];
  const char *root = getenv("OCTET_SOURCE_ROOT");
  snprintf(p, 1024, "%s/examples/%s", root ? root : ".", name);
  return p;
}

static void contains(const char *text) {
  if (!strstr(out_text, text)) fail_msg("output lacks '%s':\n%s", text, out_text);
}

static void runs_a_model_and_writes_outputs(void **state) {
  (void)state;
  char dir[] = "/tmp/octet-cli-run-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char args[2048];
  snprintf(args, sizeof args, "'%s' --input 'input=%s' --output-dir '%s' --repeat 3 --threads 2 --profile",
           example("digits_mlp.onnx"), example("digits_mlp.test_x.npy"), dir);
  assert_int_equal(octet_run(args), 0);
  contains("logits: float[397,10] min=");
  contains("time: median");
  contains("over 3 runs");
  contains("Gemm");
  char path[1100];
  snprintf(path, sizeof path, "%s/output_0.npy", dir);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  /* 397x10 floats after an npy header of a few dozen bytes. */
  assert_true(st.st_size > 397 * 10 * 4 && st.st_size <= 397 * 10 * 4 + 256);
  remove(path);
  rmdir(dir);
}

static void input_errors_name_the_input_and_exit_1(void **state) {
  (void)state;
  char args[2048];
  snprintf(args, sizeof args, "'%s'", example("digits_mlp.onnx"));
  assert_int_equal(octet_run(args), 1);
  contains("missing input 'input'");
  snprintf(args, sizeof args, "'%s' --input 'nope=%s'", example("digits_mlp.onnx"), example("digits_mlp.test_y.npy"));
  assert_int_equal(octet_run(args), 1);
  contains("no input 'nope'");
  snprintf(args, sizeof args, "'%s' --input 'input=%s'", example("digits_mlp.onnx"), example("digits_mlp.test_y.npy"));
  assert_int_equal(octet_run(args), 1);
  contains("input 'input': expected float[batch,64], got uint8[397]");
}

static void bad_usage_exits_2(void **state) {
  (void)state;
  assert_int_equal(octet_run(""), 2);
  contains("no model given");
  assert_int_equal(octet_run("model.onnx --frobnicate"), 2);
  contains("unknown option '--frobnicate'");
  assert_int_equal(octet_run("model.onnx --repeat 0"), 2);
  assert_int_equal(octet_run("model.onnx --input novalue"), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(runs_a_model_and_writes_outputs),
    cmocka_unit_test(input_errors_name_the_input_and_exit_1),
    cmocka_unit_test(bad_usage_exits_2),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
