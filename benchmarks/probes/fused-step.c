/*
 * The fused full-mode pass of VectorAdamKernel, written in C with AVX-512 or AVX2 intrinsics (the
 * widest the compiler targets; `vector_bits` in the output says which): a probe that
 * answers "would a native kernel be faster?" on the machine it runs on. It is not part of the
 * library and no build step compiles it; `benchmarks/run.sh native-probe` does, and records its
 * JSON lines beside the Java kernel's (docs/benchmarks.md, "A native kernel?"). The library's own
 * native kernel, grown from it (any r, m and n; AVX2 only), is library/src/main/c/lorapro_fused.c.
 *
 * Per element of an m x n matrix (r = 8), the same work in the same phases as the Java kernel, four
 * rows at a time (the Java kernel now sweeps fp32 moments one row at a time in phase 2, which made
 * its sweep faster on Java 25; here the four rows side by side already run at C's speed):
 *   1. t = left_i right (2r multiply-adds; left m x 2r, right 2r x n packed strip by strip);
 *   2. m = b1 m + t, v = b2 v + s t^2 in place, t becoming u = m / (sqrt(v) + eps);
 *   3. (B^T u)_k += B_ik u_i and (u A^T)_ik += u_i A_k (r multiply-adds each).
 * Options it adds that Java cannot express: 64-byte-aligned scratch, and software prefetch of the
 * next group's moment rows, spread over phases 1 and 3 (`--prefetch l1|l2|llc`). `--moments hot`
 * sweeps each thread's first eight rows again and again, so the moments never leave the cache: the
 * pass without its memory traffic.
 *
 * Build: gcc -O3 -march=native -pthread fused-step.c -o fused-step -lm   (x86-64 with AVX-512F, or AVX2 and FMA)
 * Run:   fused-step [--rows 4096] [--cols 4096] [--threads 1] [--prefetch none|l1|l2|llc]
 *                   [--moments cold|hot] [--steps 30] [--warmup 5] [--commit ID]
 * Prints one JSON line, with the machine and the commit given (run.sh passes `git describe`). Before timing, it checks the vector pass against plain scalar loops on a
 * small matrix and exits 1 if they differ by more than 1e-5 of the largest value of any output.
 */
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RANK 8
#define TERMS (2 * RANK)
#define GROUP 4

/* One vector: 512 bits where the compiler targets AVX-512F (-march=native on such a CPU), else 256 (AVX2). */
#if defined(__AVX512F__)
#define LANES 16
#define ISA "avx512f"
typedef __m512 vf;
#define V_ZERO() _mm512_setzero_ps()
#define V_SET1(x) _mm512_set1_ps(x)
#define V_LOAD(p) _mm512_load_ps(p)
#define V_LOADU(p) _mm512_loadu_ps(p)
#define V_STORE(p, x) _mm512_store_ps(p, x)
#define V_STOREU(p, x) _mm512_storeu_ps(p, x)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_DIV(a, b) _mm512_div_ps(a, b)
#define V_SQRT(a) _mm512_sqrt_ps(a)
#elif defined(__AVX2__) && defined(__FMA__)
#define LANES 8
#define ISA "avx2"
typedef __m256 vf;
#define V_ZERO() _mm256_setzero_ps()
#define V_SET1(x) _mm256_set1_ps(x)
#define V_LOAD(p) _mm256_load_ps(p)
#define V_LOADU(p) _mm256_loadu_ps(p)
#define V_STORE(p, x) _mm256_store_ps(p, x)
#define V_STOREU(p, x) _mm256_storeu_ps(p, x)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_DIV(a, b) _mm256_div_ps(a, b)
#define V_SQRT(a) _mm256_sqrt_ps(a)
#else
#error "build with -march=native on an x86-64 CPU with AVX-512F, or AVX2 and FMA"
#endif
#define STRIP (2 * LANES)

typedef struct {
    int rows, cols;
    float *m, *v;          /* rows x cols moments, updated in place */
    const float *left;     /* rows x 2r */
    const float *right;    /* 2r x cols, packed: strip s holds its 2r rows of STRIP floats */
    const float *a;        /* r x cols, packed the same way */
    const float *b;        /* rows x r */
    float b1, b2, scale, eps;
    int prefetch;          /* 0: none, else the _MM_HINT_* to use */
    int hot;               /* sweep rows (i mod 8) instead of i: moments stay in cache */
} Pass;

typedef struct {
    const Pass *pass;
    int from, to;          /* rows [from, to), a multiple of GROUP */
    float *t;              /* GROUP x cols scratch, 64-byte aligned */
    float *packedBtu;      /* this part's B^T u, packed as a */
    float *lanes;          /* GROUP x r x LANES partial u A^T */
    float *uat;            /* rows x r: u A^T */
} Part;

static float *aligned_floats(size_t count) {
    size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (p == NULL) {
        fprintf(stderr, "fused-step: cannot allocate %zu bytes\n", bytes);
        exit(2);
    }
    memset(p, 0, bytes);
    return p;
}

/* Prefetches `count` of the next group's cache lines, from line *next on (m's lines, then v's). */
static inline void prefetch_lines(const Pass *p, const char *nm, const char *nv,
        long lines, long *next, long count) {
    for (long z = 0; z < count && *next < 2 * lines; z++, (*next)++) {
        const char *at = *next < lines ? nm + *next * 64 : nv + (*next - lines) * 64;
        switch (p->prefetch) {
            case _MM_HINT_T0: _mm_prefetch(at, _MM_HINT_T0); break;
            case _MM_HINT_T1: _mm_prefetch(at, _MM_HINT_T1); break;
            default: _mm_prefetch(at, _MM_HINT_T2); break;
        }
    }
}

static void *run_part(void *arg) {
    Part *part = arg;
    const Pass *p = part->pass;
    const int n = p->cols, strips = n / STRIP;
    const vf b1 = V_SET1(p->b1), b2 = V_SET1(p->b2);
    const vf scale = V_SET1(p->scale), eps = V_SET1(p->eps);
    float *t = part->t;
    for (int i = part->from; i < part->to; i += GROUP) {
        /* hot: this part's own first eight rows, again and again (parts never share a cache line) */
        int row = p->hot ? part->from + (i - part->from) % (2 * GROUP) : i;
        float *mr = p->m + (size_t) row * n, *vr = p->v + (size_t) row * n;
        int next_row = p->hot ? part->from + (i + GROUP - part->from) % (2 * GROUP) : i + GROUP;
        long lines = (long) GROUP * n * sizeof(float) / 64, next = 0;
        long per_strip = p->prefetch && i + GROUP < part->to ? (2 * lines + 2 * strips - 1) / (2 * strips) : 0;
        const char *nm = (const char *) (p->m + (size_t) next_row * n), *nv = (const char *) (p->v + (size_t) next_row * n);
        const float *l = p->left + (size_t) i * TERMS;

        /* 1. t = left_i right, strip by strip, four rows of two vectors in registers */
        for (int s = 0; s < strips; s++) {
            vf acc[GROUP][2];
            for (int g = 0; g < GROUP; g++) {
                acc[g][0] = acc[g][1] = V_ZERO();
            }
            const float *r = p->right + (size_t) s * TERMS * STRIP;
            for (int q = 0; q < TERMS; q++) {
                vf r0 = V_LOAD(r + q * STRIP), r1 = V_LOAD(r + q * STRIP + LANES);
                for (int g = 0; g < GROUP; g++) {
                    vf c = V_SET1(l[g * TERMS + q]);
                    acc[g][0] = V_FMA(c, r0, acc[g][0]);
                    acc[g][1] = V_FMA(c, r1, acc[g][1]);
                }
            }
            for (int g = 0; g < GROUP; g++) {
                V_STORE(t + g * n + s * STRIP, acc[g][0]);
                V_STORE(t + g * n + s * STRIP + LANES, acc[g][1]);
            }
            prefetch_lines(p, nm, nv, lines, &next, per_strip);
        }

        /* 2. the moments of the four rows side by side, t becoming u */
        for (int j = 0; j < n; j += LANES) {
            for (int g = 0; g < GROUP; g++) {
                float *mj = mr + (size_t) g * n + j, *vj = vr + (size_t) g * n + j, *tj = t + g * n + j;
                vf x = V_LOAD(tj);
                vf m = V_FMA(V_LOADU(mj), b1, x);
                vf v = V_FMA(V_LOADU(vj), b2, V_MUL(V_MUL(x, x), scale));
                V_STOREU(mj, m);
                V_STOREU(vj, v);
                V_STORE(tj, V_DIV(m, V_ADD(V_SQRT(v), eps)));
            }
        }

        /* 3. B^T u (partial sums in memory, packed) and u A^T (lanes in memory), strip by strip */
        memset(part->lanes, 0, sizeof(float) * GROUP * RANK * LANES);
        const float *bi = p->b + (size_t) i * RANK;
        for (int s = 0; s < strips; s++) {
            vf u[GROUP][2];
            for (int g = 0; g < GROUP; g++) {
                u[g][0] = V_LOAD(t + g * n + s * STRIP);
                u[g][1] = V_LOAD(t + g * n + s * STRIP + LANES);
            }
            float *btu = part->packedBtu + (size_t) s * RANK * STRIP;
            const float *ak = p->a + (size_t) s * RANK * STRIP;
            for (int k = 0; k < RANK; k++) {
                vf p0 = V_LOAD(btu + k * STRIP), p1 = V_LOAD(btu + k * STRIP + LANES);
                vf a0 = V_LOAD(ak + k * STRIP), a1 = V_LOAD(ak + k * STRIP + LANES);
                for (int g = 0; g < GROUP; g++) {
                    vf c = V_SET1(bi[g * RANK + k]);
                    p0 = V_FMA(c, u[g][0], p0);
                    p1 = V_FMA(c, u[g][1], p1);
                    float *lane = part->lanes + (g * RANK + k) * LANES;
                    V_STORE(lane, V_FMA(u[g][1], a1, V_FMA(u[g][0], a0, V_LOAD(lane))));
                }
                V_STORE(btu + k * STRIP, p0);
                V_STORE(btu + k * STRIP + LANES, p1);
            }
            prefetch_lines(p, nm, nv, lines, &next, per_strip);
        }
        for (int g = 0; g < GROUP; g++) {
            for (int k = 0; k < RANK; k++) {
                float sum = 0;
                for (int q = 0; q < LANES; q++) {
                    sum += part->lanes[(g * RANK + k) * LANES + q];
                }
                part->uat[(size_t) (i + g) * RANK + k] = sum;
            }
        }
    }
    return NULL;
}

/* A matrix of `height` rows of `cols`, packed strip by strip as the Java kernel packs it. */
static float *pack(const float *matrix, int height, int cols) {
    float *packed = aligned_floats((size_t) height * cols);
    for (int s = 0; s < cols / STRIP; s++) {
        for (int k = 0; k < height; k++) {
            memcpy(packed + ((size_t) s * height + k) * STRIP, matrix + (size_t) k * cols + s * STRIP, STRIP * sizeof(float));
        }
    }
    return packed;
}

static float draw(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return ((*state >> 8) / 16777216.0f - 0.5f) * 0.2f;
}

typedef struct {
    Pass pass;
    float *left, *right, *a, *b, *uat, *btu; /* right and a unpacked, for the check; btu summed over parts */
    Part *parts;
    int threads;
} Problem;

static void setup(Problem *pr, int rows, int cols, int threads, int prefetch, int hot) {
    unsigned seed = 12345u;
    pr->threads = threads;
    pr->left = aligned_floats((size_t) rows * TERMS);
    pr->right = aligned_floats((size_t) TERMS * cols);
    pr->a = aligned_floats((size_t) RANK * cols);
    pr->b = aligned_floats((size_t) rows * RANK);
    pr->uat = aligned_floats((size_t) rows * RANK);
    pr->btu = aligned_floats((size_t) RANK * cols);
    for (size_t x = 0; x < (size_t) rows * TERMS; x++) pr->left[x] = draw(&seed);
    for (size_t x = 0; x < (size_t) TERMS * cols; x++) pr->right[x] = draw(&seed);
    for (size_t x = 0; x < (size_t) RANK * cols; x++) pr->a[x] = draw(&seed);
    for (size_t x = 0; x < (size_t) rows * RANK; x++) pr->b[x] = draw(&seed);
    Pass *p = &pr->pass;
    p->rows = rows;
    p->cols = cols;
    p->m = aligned_floats((size_t) rows * cols);
    p->v = aligned_floats((size_t) rows * cols);
    for (size_t x = 0; x < (size_t) rows * cols; x++) {
        p->m[x] = draw(&seed) * 1e-2f;
        p->v[x] = fabsf(draw(&seed)) * 1e-4f;
    }
    p->left = pr->left;
    p->right = pack(pr->right, TERMS, cols);
    p->a = pack(pr->a, RANK, cols);
    p->b = pr->b;
    p->b1 = 0.9f;
    p->b2 = 0.999f;
    p->scale = 1e-3f;
    p->eps = 1e-8f;
    p->prefetch = prefetch;
    p->hot = hot;
    pr->parts = calloc(threads, sizeof(Part));
    for (int w = 0; w < threads; w++) {
        Part *part = &pr->parts[w];
        part->pass = p;
        part->from = (int) ((long) rows / GROUP * w / threads) * GROUP;
        part->to = (int) ((long) rows / GROUP * (w + 1) / threads) * GROUP;
        part->t = aligned_floats((size_t) GROUP * cols);
        part->packedBtu = aligned_floats((size_t) RANK * cols);
        part->lanes = aligned_floats(GROUP * RANK * LANES);
        part->uat = pr->uat;
    }
}

static void run(Problem *pr) {
    pthread_t ids[64];
    for (int w = 0; w < pr->threads; w++) {
        memset(pr->parts[w].packedBtu, 0, sizeof(float) * RANK * pr->pass.cols);
        pthread_create(&ids[w], NULL, run_part, &pr->parts[w]);
    }
    for (int w = 0; w < pr->threads; w++) {
        pthread_join(ids[w], NULL);
    }
}

/* Largest |x| of n doubles. */
static double max_abs(const double *x, size_t n) {
    double most = 0;
    for (size_t i = 0; i < n; i++) most = fmax(most, fabs(x[i]));
    return most;
}

/* The largest |actual - expected| over n values, relative to the largest |expected|. */
static double error(const double *expected, const float *actual, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(actual[i] - expected[i]));
    return worst / max_abs(expected, n);
}

/*
 * The vector pass against plain loops in double on a 16 x 96 matrix, over two threads: the worst of
 * the four outputs' errors, each relative to its largest value (sums of u A^T cancel, so an element's
 * own relative error says nothing of the pass).
 */
static double check(void) {
    Problem pr;
    int rows = 16, cols = 96;
    setup(&pr, rows, cols, 2, 0, 0);
    Pass *p = &pr.pass;
    size_t size = (size_t) rows * cols;
    double *m = malloc(size * sizeof(double)), *v = malloc(size * sizeof(double)), *u = malloc(size * sizeof(double));
    double *uat = calloc((size_t) rows * RANK, sizeof(double)), *btu = calloc((size_t) RANK * cols, sizeof(double));
    float *btu_got = calloc((size_t) RANK * cols, sizeof(float));
    for (size_t x = 0; x < size; x++) {
        m[x] = p->m[x];
        v[x] = p->v[x];
    }
    run(&pr);
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
            double t = 0;
            for (int q = 0; q < TERMS; q++) t += (double) pr.left[i * TERMS + q] * pr.right[q * cols + j];
            size_t x = (size_t) i * cols + j;
            m[x] = p->b1 * m[x] + t;
            v[x] = p->b2 * v[x] + p->scale * t * t;
            u[x] = m[x] / (sqrt(v[x]) + p->eps);
            for (int k = 0; k < RANK; k++) {
                uat[i * RANK + k] += u[x] * pr.a[k * cols + j];
                btu[k * cols + j] += pr.b[i * RANK + k] * u[x];
            }
        }
    }
    for (int k = 0; k < RANK; k++) {
        for (int j = 0; j < cols; j++) {
            for (int w = 0; w < pr.threads; w++) {
                btu_got[k * cols + j] += pr.parts[w].packedBtu[((j / STRIP) * RANK + k) * STRIP + j % STRIP];
            }
        }
    }
    double worst = fmax(fmax(error(m, p->m, size), error(v, p->v, size)),
            fmax(error(uat, pr.uat, (size_t) rows * RANK), error(btu, btu_got, (size_t) RANK * cols)));
    return worst;
}

/* "MODEL (family F model M), N cores, Linux x86_64, gcc V", as the Java benchmarks' machine field. */
static void describe_machine(char *out, size_t size) {
    char name[128] = "unknown CPU", family[16] = "?", model[16] = "?", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f != NULL) {
        while (fgets(line, sizeof line, f) != NULL) {
            char *colon = strchr(line, ':');
            if (colon == NULL) continue;
            char *value = colon + 2 <= line + strlen(line) ? colon + 2 : colon + 1;
            value[strcspn(value, "\n")] = 0;
            if (!strncmp(line, "model name", 10) && !strcmp(name, "unknown CPU")) snprintf(name, sizeof name, "%s", value);
            else if (!strncmp(line, "cpu family", 10) && !strcmp(family, "?")) snprintf(family, sizeof family, "%s", value);
            else if (!strncmp(line, "model\t", 6) && !strcmp(model, "?")) snprintf(model, sizeof model, "%s", value);
        }
        fclose(f);
    }
    for (char *c = name; *c; c++) {
        if (*c == '"' || *c == '\\') *c = ' ';
    }
    snprintf(out, size, "%s (family %s model %s), %ld cores, Linux x86_64, gcc %s", name, family, model,
            sysconf(_SC_NPROCESSORS_ONLN), __VERSION__);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int compare_doubles(const void *x, const void *y) {
    double a = *(const double *) x, b = *(const double *) y;
    return (a > b) - (a < b);
}

static void usage(const char *why) {
    fprintf(stderr, "fused-step: %s\nusage: fused-step [--rows N] [--cols N] [--threads N] [--prefetch none|l1|l2|llc] "
            "[--moments cold|hot] [--steps N] [--warmup N] [--commit ID]\n", why);
    exit(2);
}

int main(int argc, char **argv) {
    int rows = 4096, cols = 4096, threads = 1, steps = 30, warmup = 5, prefetch = 0, hot = 0;
    const char *prefetch_name = "none", *moments = "cold", *commit = "unknown";
    for (int x = 1; x < argc; x++) {
        if (x + 1 >= argc) usage("every option takes a value");
        const char *opt = argv[x], *val = argv[++x];
        if (!strcmp(opt, "--rows")) rows = atoi(val);
        else if (!strcmp(opt, "--cols")) cols = atoi(val);
        else if (!strcmp(opt, "--threads")) threads = atoi(val);
        else if (!strcmp(opt, "--steps")) steps = atoi(val);
        else if (!strcmp(opt, "--warmup")) warmup = atoi(val);
        else if (!strcmp(opt, "--commit")) commit = val;
        else if (!strcmp(opt, "--moments")) {
            if (strcmp(val, "cold") && strcmp(val, "hot")) usage("--moments is cold or hot");
            moments = val;
            hot = !strcmp(val, "hot");
        } else if (!strcmp(opt, "--prefetch")) {
            prefetch_name = val;
            if (!strcmp(val, "none")) prefetch = 0;
            else if (!strcmp(val, "l1")) prefetch = _MM_HINT_T0;
            else if (!strcmp(val, "l2")) prefetch = _MM_HINT_T1;
            else if (!strcmp(val, "llc")) prefetch = _MM_HINT_T2;
            else usage("--prefetch is none, l1, l2 or llc");
        } else usage("unknown option");
    }
    if (cols <= 0 || cols % STRIP) usage(STRIP == 32 ? "--cols must be a positive multiple of 32" : "--cols must be a positive multiple of 16");
    if (threads < 1 || threads > 64) usage("--threads must be 1 to 64");
    if (rows <= 0 || rows % (GROUP * threads)) usage("--rows must be a positive multiple of 4 x threads");
    if (steps < 1 || warmup < 0) usage("--steps must be positive and --warmup not negative");
    if (!__builtin_cpu_supports(ISA) || !__builtin_cpu_supports("fma")) {
        fprintf(stderr, "fused-step: this build needs %s and FMA, which this CPU lacks (build it on the machine it runs on)\n", ISA);
        return 2;
    }
    double err = check();
    if (!(err <= 1e-5)) {
        fprintf(stderr, "fused-step: the vector pass disagrees with the scalar loops (relative error %.3g)\n", err);
        return 1;
    }
    Problem pr;
    setup(&pr, rows, cols, threads, prefetch, hot);
    double *ms = malloc(steps * sizeof(double));
    for (int s = 0; s < warmup + steps; s++) {
        double start = now_ms();
        run(&pr);
        if (s >= warmup) ms[s - warmup] = now_ms() - start;
    }
    qsort(ms, steps, sizeof(double), compare_doubles);
    double median = ms[steps / 2];
    double load = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &load) != 1) load = -1;
        fclose(f);
    }
    char stamp[32];
    time_t wall = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&wall));
    char machine[256];
    describe_machine(machine, sizeof machine);
    for (char *c = (char *) commit; *c; c++) {
        if (*c == '"' || *c == '\\') *c = '_';
    }
    printf("{\"bench\":\"native-probe\",\"m\":%d,\"n\":%d,\"r\":%d,\"threads\":%d,\"prefetch\":\"%s\",\"moments\":\"%s\","
           "\"ms\":%.3f,\"min_ms\":%.3f,\"ns_per_element_per_thread\":%.3f,\"steps\":%d,\"warmup_steps\":%d,"
           "\"vector_bits\":%d,\"check_rel_error\":%.3g,\"commit\":\"%s\",\"timestamp\":\"%s\",\"machine\":\"%s\",\"load_avg_1m\":%.2f}\n",
           rows, cols, RANK, threads, prefetch_name, moments, median, ms[0],
           median * 1e6 * threads / ((double) rows * cols), steps, warmup, LANES * 32, err, commit, stamp, machine, load);
    return 0;
}
