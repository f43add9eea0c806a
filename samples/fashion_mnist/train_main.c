/* train_main.c: train the generated step (jtc --train, prefix `train`) on
 * Fashion-MNIST, then report test accuracy. The data are the uncompressed IDX
 * files of Debian's dataset-fashion-mnist; pixels scale to [-1, 1] as Jittor's
 * ImageNormalize(mean 0.5, std 0.5) does. Each epoch visits the training images
 * in the order of a Fisher-Yates shuffle driven by splitmix64(seed), the same
 * order bench/train_bench.py gives PyTorch; the last partial batch is dropped.
 *
 *   fashion_train DATA_DIR [--steps N] [--seed S] [--weights OUT.weights] [--no-test]
 *
 * Prints a progress line (batches/s, running loss, ETA) and, last, one line
 * "RESULT steps=.. seconds=.. loss=.. accuracy=.." for scripts; exit 1 on error.
 *
 * Built with -DJTC_MPI (mpicc) and run under mpirun -np R, the model's batch is
 * per rank: the global batch is R times it, every rank draws the same order and
 * takes its slice of each global batch, and rank 0 prints and saves. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train.h"

#ifdef JTC_MPI
#include <mpi.h>
#endif

enum { ROWS = 28, COLS = 28, PIXELS = ROWS * COLS, CLASSES = 10, WINDOW = 50 };

typedef struct { int n; unsigned char *pix, *label; } Set;

static double now_s(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static unsigned long be32(const unsigned char *p) {
  return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* A whole IDX file: magic (2051 images, 2049 labels), count, then (images) 28 x 28. */
static unsigned char *read_idx(const char *dir, const char *name, unsigned long magic, int *count) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "fashion_train: cannot open %s\n", path); return NULL; }
  unsigned char head[16];
  size_t hn = magic == 2051 ? 16 : 8;
  unsigned char *data = NULL;
  if (fread(head, 1, hn, f) != hn || be32(head) != magic) {
    fprintf(stderr, "fashion_train: %s is not an IDX %s file\n", path, magic == 2051 ? "image" : "label");
  } else if (magic == 2051 && (be32(head + 8) != ROWS || be32(head + 12) != COLS)) {
    fprintf(stderr, "fashion_train: %s: images are not 28x28\n", path);
  } else {
    unsigned long n = be32(head + 4);
    size_t bytes = n * (magic == 2051 ? PIXELS : 1);
    data = n && n < 1000000 ? malloc(bytes) : NULL;
    if (!data || fread(data, 1, bytes, f) != bytes) {
      fprintf(stderr, "fashion_train: %s: truncated or empty\n", path);
      free(data);
      data = NULL;
    } else {
      *count = (int)n;
    }
  }
  fclose(f);
  return data;
}

static int load_set(const char *dir, const char *images, const char *labels, Set *s) {
  int ni = 0, nl = 0;
  s->pix = read_idx(dir, images, 2051, &ni);
  s->label = s->pix ? read_idx(dir, labels, 2049, &nl) : NULL;
  if (!s->label) return -1;
  if (ni != nl) { fprintf(stderr, "fashion_train: %s has %d images, %s %d labels\n", images, ni, labels, nl); return -1; }
  s->n = ni;
  return 0;
}

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static void fill_batch(const Set *s, const int *idx, int count, int batch, float *x, int64_t *y) {
  memset(x, 0, (size_t)batch * PIXELS * sizeof *x);
  for (int b = 0; b < count; b++) {
    const unsigned char *p = s->pix + (size_t)idx[b] * PIXELS;
    for (int i = 0; i < PIXELS; i++) x[(size_t)b * PIXELS + i] = (p[i] / 255.0f - 0.5f) / 0.5f;
    if (y) y[b] = s->label[idx[b]];
  }
}

static int run(int argc, char **argv, int rank, int ranks) {
  const char *dir = NULL, *save = NULL;
  bool test = true;
  long steps = -1;
  uint64_t seed = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--weights") && i + 1 < argc) save = argv[++i];
    else if (!strcmp(argv[i], "--no-test")) test = false;
    else if (argv[i][0] != '-' && !dir) dir = argv[i];
    else { fprintf(stderr, "usage: fashion_train DATA_DIR [--steps N] [--seed S] [--weights OUT.weights] [--no-test]\n"); return 2; }
  }
  if (!dir) { fprintf(stderr, "usage: fashion_train DATA_DIR [--steps N] [--seed S] [--weights OUT.weights] [--no-test]\n"); return 2; }
  const int batch = (int)(train_input_sizes[0] / (PIXELS * sizeof(float)));
  if (train_input_sizes[0] != (size_t)batch * PIXELS * sizeof(float) || train_target_sizes[0] != (size_t)batch * sizeof(int64_t) ||
      train_output_sizes[0] != (size_t)batch * CLASSES * sizeof(float)) {
    fprintf(stderr, "fashion_train: the generated model is not [N,1,28,28] -> [N,10] with int64 targets\n");
    return 1;
  }
  Set tr = {0}, te = {0};
  if (load_set(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", &tr) ||
      load_set(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", &te))
    return 1;
  int global = batch * ranks, per_epoch = tr.n / global;
  if (steps < 0) steps = per_epoch;
  int *order = malloc((size_t)tr.n * sizeof *order), *idx = malloc((size_t)batch * sizeof *idx);
  float *x = malloc((size_t)batch * PIXELS * sizeof *x), *scores = malloc((size_t)batch * CLASSES * sizeof *scores);
  int64_t *y = malloc((size_t)batch * sizeof *y);
  if (!order || !idx || !x || !scores || !y) { fprintf(stderr, "fashion_train: out of memory\n"); return 1; }
  if (train_init(NULL)) { fprintf(stderr, "fashion_train: %s\n", train_last_error()); return 1; }

  float window[WINDOW] = {0}, running = 0;
  double t0 = now_s(), shown = t0;
  uint64_t rng = seed;
  for (long s = 0; s < steps; s++) {
    int pos = (int)(s % per_epoch);
    if (pos == 0) { /* a new epoch: shuffle */
      for (int i = 0; i < tr.n; i++) order[i] = i;
      for (int i = tr.n - 1; i > 0; i--) {
        int j = (int)(splitmix64(&rng) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
    }
    for (int b = 0; b < batch; b++) idx[b] = order[pos * global + rank * batch + b];
    fill_batch(&tr, idx, batch, batch, x, y);
    const void *in[1] = {x}, *tg[1] = {y};
    float loss;
    if (train_train_step(in, tg, &loss)) { fprintf(stderr, "\nfashion_train: step %ld: %s\n", s, train_last_error()); return 1; }
    window[s % WINDOW] = loss;
    int nw = s + 1 < WINDOW ? (int)s + 1 : WINDOW;
    running = 0;
    for (int k = 0; k < nw; k++) running += window[k] / nw;
    double t = now_s();
    if (rank == 0 && (t - shown >= 1.0 || s + 1 == steps)) {
      double rate = (s + 1) / (t - t0);
      fprintf(stderr, "batch %ld/%ld  %.1f batches/s  loss %.4f (mean of last %d)  ETA %.0f s\n", s + 1, steps, rate,
              running, nw, (steps - s - 1) / rate);
      shown = t;
    }
  }
  double seconds = now_s() - t0;

  int correct = 0;
  for (int at = 0; test && at < te.n; at += batch) {
    int count = te.n - at < batch ? te.n - at : batch;
    for (int b = 0; b < count; b++) idx[b] = at + b;
    fill_batch(&te, idx, count, batch, x, NULL);
    const void *in[1] = {x};
    void *out[1] = {scores};
    if (train_run(in, out)) { fprintf(stderr, "fashion_train: %s\n", train_last_error()); return 1; }
    for (int b = 0; b < count; b++) {
      int best = 0;
      for (int c = 1; c < CLASSES; c++)
        if (scores[b * CLASSES + c] > scores[b * CLASSES + best]) best = c;
      correct += best == te.label[at + b];
    }
  }
  if (save && train_save_weights(save)) { fprintf(stderr, "fashion_train: %s\n", train_last_error()); return 1; }
  if (rank == 0) {
    printf("trained %ld steps of batch %d in %.1f s (%.1f s per epoch of %d steps)", steps, global, seconds,
           seconds * per_epoch / steps, per_epoch);
    if (test) printf("; test accuracy %.2f%% (%d/%d)\n", 100.0 * correct / te.n, correct, te.n);
    else printf("\n");
    printf("RESULT steps=%ld seconds=%.3f loss=%.5f accuracy=%.4f\n", steps, seconds, running, test ? (double)correct / te.n : -1.0);
  }
  train_free();
  free(order); free(idx); free(x); free(scores); free(y);
  free(tr.pix); free(tr.label); free(te.pix); free(te.label);
  return 0;
}

int main(int argc, char **argv) {
  int rank = 0, ranks = 1;
#ifdef JTC_MPI
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
#endif
  int rc = run(argc, argv, rank, ranks);
#ifdef JTC_MPI
  if (rc) MPI_Abort(MPI_COMM_WORLD, rc);
  MPI_Finalize();
#endif
  return rc;
}
