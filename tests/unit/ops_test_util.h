/* ops_test_util.h: what every test_ops*.c suite shares: the graph each test
 * builds in (made by setup, freed by teardown) and expect_fail. Included once
 * per suite, after <cmocka.h> and ir/ir.h. */
#ifndef JTC_OPS_TEST_UTIL_H
#define JTC_OPS_TEST_UTIL_H

static Graph *g;
static int setup(void **s) { (void)s; g = ir_graph_new(); return 0; }
static int teardown(void **s) { (void)s; ir_graph_free(g); return 0; }

/* Run f, expecting ir_fail with a message containing `want`. */
static void expect_fail(void (*f)(void), const char *want) {
  jmp_buf jb;
  g->on_error = &jb;
  if (setjmp(jb) == 0) {
    f();
    g->on_error = NULL;
    fail_msg("no error, expected '%s'", want);
  }
  g->on_error = NULL;
  if (!strstr(g->errmsg, want)) fail_msg("error '%s' lacks '%s'", g->errmsg, want);
}

#endif
