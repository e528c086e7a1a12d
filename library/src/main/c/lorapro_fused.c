/*
 * The native kernel of the fused full-mode LoRA-Pro AdamW step (ai.lorapro.optim.NativeAdamKernel):
 * the same one pass over the moments as VectorAdamKernel, with AVX2 and FMA intrinsics. The moments
 * are fp32, or bfloat16 bit patterns (read exactly, written rounded to nearest even, a positive
 * second moment never rounded to zero: bit for bit ai.lorapro.optim.Bf16). Per element
 * (i, j) of the m x n moments, with t = (1 - beta1) g~ formed from its low-rank factors:
 *
 *   t_ij  = sum_q left_iq right_qj                        (left m x 2r, right 2r x n)
 *   m_ij <- beta1 m_ij + t_ij
 *   v_ij <- beta2 v_ij + scale t_ij^2                      (scale = (1 - beta2) / (1 - beta1)^2)
 *   u_ij  = m_ij / (sqrt(v_ij) + eps)
 *   (B^T u)_kj += B_ik u_ij        (u A^T)_ik += u_ij A_kj
 *
 * Rows go in groups of four (the rest one at a time), each group in three phases over its columns:
 *   1. t = left_i right, one strip of 2 x 8 columns at a time, the group's accumulators in registers;
 *   2. the moments of the group's rows updated in place, t becoming u;
 *   3. B^T u (this part's partial sums) and u A^T (per-lane partial sums, folded at the row's end).
 * right, A and the partial B^T u are packed strip by strip (a strip holds its rows of 16 floats) and
 * padded with zeros to whole strips; the moments are the caller's memory, read and written once, the
 * columns past the last whole strip by scalar code. Java threads call `rows` on disjoint row ranges
 * ("parts") of one step; `finish` adds the parts' B^T u in part order, so the result depends on the
 * shape only, never on the threads.
 *
 * Built by the library's Maven build where gcc is found (library/pom.xml, profile native-kernel),
 * without -mavx2: only the functions between the target pragmas use AVX2, and Java calls them only
 * after cpuSupported() said yes. -ffp-contract=off keeps the rounding to the fused multiply-adds
 * written here.
 */
#include <jni.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ai_lorapro_optim_NativeAdamKernel.h"

#define LANES 8
#define STRIP (2 * LANES)
#define GROUP 4

/* One step of one pair: its factors (packed), constants and outputs. Freed by release(). */
typedef struct {
    int rows, cols, rank, parts;
    int padded;                          /* columns rounded up to whole strips */
    int finished;                        /* finish() ran: the parts' sums are added up */
    int bf16;                            /* moments stored as bfloat16 bit patterns, else fp32 */
    float b1, b2, scale, eps;
    float *left;  /* rows x 2r */
    float *right; /* packed: strip s holds its 2r rows of STRIP floats */
    float *a;     /* r x padded, packed the same way */
    float *b;     /* rows x r */
    float *btu;   /* parts x (r x padded), packed as a */
    float *uat;   /* rows x r */
} Step;

static float *floats(size_t count) {
    size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes == 0 ? 64 : bytes);
    if (p != NULL) {
        memset(p, 0, bytes == 0 ? 64 : bytes);
    }
    return p;
}

static void release(Step *s) {
    if (s == NULL) {
        return;
    }
    free(s->left);
    free(s->right);
    free(s->a);
    free(s->b);
    free(s->btu);
    free(s->uat);
    free(s);
}

/* Packs the row-major `height` x `cols` matrix strip by strip into `packed` (zero padded). */
static void pack(float *packed, const float *matrix, int height, int cols, int padded) {
    for (int s = 0; s < padded / STRIP; s++) {
        for (int k = 0; k < height; k++) {
            for (int c = 0; c < STRIP; c++) {
                int j = s * STRIP + c;
                packed[((size_t) s * height + k) * STRIP + c] = j < cols ? matrix[(size_t) k * cols + j] : 0.0f;
            }
        }
    }
}

static void throw_new(JNIEnv *env, const char *type, const char *message) {
    jclass c = (*env)->FindClass(env, type);
    if (c != NULL) {
        (*env)->ThrowNew(env, c, message);
    }
}

/* The fp32 value of a bfloat16 bit pattern (exact). */
static inline float bf16_decode(uint16_t bits) {
    uint32_t x = (uint32_t) bits << 16;
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

/*
 * The bfloat16 nearest to f, ties to even, NaN kept quiet; with `variance`, a positive value that
 * rounds to zero becomes the smallest positive bfloat16. Bit for bit ai.lorapro.optim.Bf16.
 */
static inline uint16_t bf16_encode(float f, int variance) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) {
        return (uint16_t) ((x >> 16) | 0x0040u);
    }
    uint16_t r = (uint16_t) ((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
    return variance && r == 0 && f > 0 ? 1 : r;
}

#pragma GCC push_options
#pragma GCC target("avx2,fma")

/* Eight moments from p: fp32, or bfloat16 widened exactly (bf16 is a constant where inlined). */
static inline __attribute__((always_inline)) __m256 load_moments(const void *p, int bf16) {
    if (!bf16) {
        return _mm256_loadu_ps((const float *) p);
    }
    __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *) p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

/* Stores eight moments at p: fp32, or as bf16_encode does it lane by lane. */
static inline __attribute__((always_inline)) void store_moments(void *p, __m256 values, int bf16, int variance) {
    if (!bf16) {
        _mm256_storeu_ps((float *) p, values);
        return;
    }
    __m256i x = _mm256_castps_si256(values);
    __m256i high = _mm256_srli_epi32(x, 16);
    __m256i rounded = _mm256_srli_epi32(
            _mm256_add_epi32(_mm256_add_epi32(x, _mm256_and_si256(high, _mm256_set1_epi32(1))), _mm256_set1_epi32(0x7FFF)), 16);
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7FFFFFFF)), _mm256_set1_epi32(0x7F800000));
    rounded = _mm256_blendv_epi8(rounded, _mm256_or_si256(high, _mm256_set1_epi32(0x0040)), nan);
    if (variance) {
        /* max(rounded, min(bits, 1)) raises only a positive value rounded to 0 (as in VectorAdamKernel) */
        rounded = _mm256_max_epi32(rounded, _mm256_min_epi32(x, _mm256_set1_epi32(1)));
    }
    /* the eight 16-bit halves in order: pack within 128-bit lanes, then gather quadwords 0 and 2 */
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(rounded, rounded), 0x08);
    _mm_storeu_si128((__m128i *) p, _mm256_castsi256_si128(packed));
}

/*
 * The rows [i, i + count) of one group (count is GROUP or 1, bf16 0 or 1; constants where it is
 * inlined), m and v pointing at row i's moments, t a scratch of GROUP x padded floats, lanes of
 * GROUP x r x LANES floats, btu this part's partial sums.
 */
static inline __attribute__((always_inline)) void group(const Step *s, int i, int count, int bf16, char *m, char *v,
        float *t, float *lanes, float *btu) {
    const int n = s->cols, padded = s->padded, terms = 2 * s->rank, rank = s->rank;
    const size_t size = bf16 ? sizeof(uint16_t) : sizeof(float);
    const int whole = n / STRIP * STRIP;
    const float *l = s->left + (size_t) i * terms;

    /* 1. t = left_i right, strip by strip, the group's two vectors per row in registers */
    for (int st = 0; st < padded / STRIP; st++) {
        __m256 acc[GROUP][2];
        for (int g = 0; g < count; g++) {
            acc[g][0] = acc[g][1] = _mm256_setzero_ps();
        }
        const float *r = s->right + (size_t) st * terms * STRIP;
        for (int q = 0; q < terms; q++) {
            __m256 r0 = _mm256_load_ps(r + q * STRIP), r1 = _mm256_load_ps(r + q * STRIP + LANES);
            for (int g = 0; g < count; g++) {
                __m256 c = _mm256_set1_ps(l[g * terms + q]);
                acc[g][0] = _mm256_fmadd_ps(c, r0, acc[g][0]);
                acc[g][1] = _mm256_fmadd_ps(c, r1, acc[g][1]);
            }
        }
        for (int g = 0; g < count; g++) {
            _mm256_store_ps(t + (size_t) g * padded + st * STRIP, acc[g][0]);
            _mm256_store_ps(t + (size_t) g * padded + st * STRIP + LANES, acc[g][1]);
        }
    }

    /* 2. the moments, the group's rows side by side; t becomes u (the padding keeps t = u = 0) */
    const __m256 b1 = _mm256_set1_ps(s->b1), b2 = _mm256_set1_ps(s->b2);
    const __m256 scale = _mm256_set1_ps(s->scale), eps = _mm256_set1_ps(s->eps);
    for (int j = 0; j < whole; j += LANES) {
        for (int g = 0; g < count; g++) {
            char *mj = m + ((size_t) g * n + j) * size, *vj = v + ((size_t) g * n + j) * size;
            float *tj = t + (size_t) g * padded + j;
            __m256 x = _mm256_load_ps(tj);
            __m256 mm = _mm256_fmadd_ps(load_moments(mj, bf16), b1, x);
            __m256 vv = _mm256_fmadd_ps(load_moments(vj, bf16), b2, _mm256_mul_ps(_mm256_mul_ps(x, x), scale));
            store_moments(mj, mm, bf16, 0);
            store_moments(vj, vv, bf16, 1);
            /* u from the fp32 moments, before any rounding to bf16 (as the Java kernels do) */
            _mm256_store_ps(tj, _mm256_div_ps(mm, _mm256_add_ps(_mm256_sqrt_ps(vv), eps)));
        }
    }
    for (int g = 0; g < count; g++) {
        for (int j = whole; j < n; j++) {
            size_t at = (size_t) g * n + j;
            float *tj = t + (size_t) g * padded + j;
            float x = *tj;
            float m0 = bf16 ? bf16_decode(((uint16_t *) m)[at]) : ((float *) m)[at];
            float v0 = bf16 ? bf16_decode(((uint16_t *) v)[at]) : ((float *) v)[at];
            float mm = fmaf(m0, s->b1, x);
            float vv = fmaf(v0, s->b2, x * x * s->scale);
            if (bf16) {
                ((uint16_t *) m)[at] = bf16_encode(mm, 0);
                ((uint16_t *) v)[at] = bf16_encode(vv, 1);
            } else {
                ((float *) m)[at] = mm;
                ((float *) v)[at] = vv;
            }
            *tj = mm / (sqrtf(vv) + s->eps);
        }
    }

    /* 3. B^T u into this part's sums and u A^T into lanes, strip by strip */
    memset(lanes, 0, sizeof(float) * (size_t) GROUP * rank * LANES);
    const float *bi = s->b + (size_t) i * rank;
    for (int st = 0; st < padded / STRIP; st++) {
        __m256 u[GROUP][2];
        for (int g = 0; g < count; g++) {
            u[g][0] = _mm256_load_ps(t + (size_t) g * padded + st * STRIP);
            u[g][1] = _mm256_load_ps(t + (size_t) g * padded + st * STRIP + LANES);
        }
        float *p = btu + (size_t) st * rank * STRIP;
        const float *ak = s->a + (size_t) st * rank * STRIP;
        for (int k = 0; k < rank; k++) {
            __m256 p0 = _mm256_load_ps(p + k * STRIP), p1 = _mm256_load_ps(p + k * STRIP + LANES);
            __m256 a0 = _mm256_load_ps(ak + k * STRIP), a1 = _mm256_load_ps(ak + k * STRIP + LANES);
            for (int g = 0; g < count; g++) {
                __m256 c = _mm256_set1_ps(bi[g * rank + k]);
                p0 = _mm256_fmadd_ps(c, u[g][0], p0);
                p1 = _mm256_fmadd_ps(c, u[g][1], p1);
                float *lane = lanes + ((size_t) g * rank + k) * LANES;
                _mm256_store_ps(lane, _mm256_fmadd_ps(u[g][1], a1, _mm256_fmadd_ps(u[g][0], a0, _mm256_load_ps(lane))));
            }
            _mm256_store_ps(p + k * STRIP, p0);
            _mm256_store_ps(p + k * STRIP + LANES, p1);
        }
    }
    for (int g = 0; g < count; g++) {
        for (int k = 0; k < rank; k++) {
            const float *lane = lanes + ((size_t) g * rank + k) * LANES;
            float sum = 0;
            for (int q = 0; q < LANES; q++) {
                sum += lane[q];
            }
            s->uat[(size_t) (i + g) * rank + k] = sum;
        }
    }
}

/* Rows [first, first + count) of part `part`, their moments at m and v. Returns 0, or -1 if out of memory. */
static int run_rows(const Step *s, int part, int first, int count, char *m, char *v) {
    float *t = floats((size_t) GROUP * s->padded);
    float *lanes = floats((size_t) GROUP * s->rank * LANES);
    if (t == NULL || lanes == NULL) {
        free(t);
        free(lanes);
        return -1;
    }
    float *btu = s->btu + (size_t) part * s->rank * s->padded;
    size_t row = (size_t) s->cols * (s->bf16 ? sizeof(uint16_t) : sizeof(float));
    int i = 0;
    /* four specialisations of group(): the constants let the compiler unroll and drop the branches */
    for (; i + GROUP <= count; i += GROUP) {
        if (s->bf16) {
            group(s, first + i, GROUP, 1, m + i * row, v + i * row, t, lanes, btu);
        } else {
            group(s, first + i, GROUP, 0, m + i * row, v + i * row, t, lanes, btu);
        }
    }
    for (; i < count; i++) {
        if (s->bf16) {
            group(s, first + i, 1, 1, m + i * row, v + i * row, t, lanes, btu);
        } else {
            group(s, first + i, 1, 0, m + i * row, v + i * row, t, lanes, btu);
        }
    }
    free(t);
    free(lanes);
    return 0;
}

#pragma GCC pop_options

JNIEXPORT jboolean JNICALL Java_ai_lorapro_optim_NativeAdamKernel_cpuSupported(JNIEnv *env, jclass type) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? JNI_TRUE : JNI_FALSE;
}

JNIEXPORT jlong JNICALL Java_ai_lorapro_optim_NativeAdamKernel_open(JNIEnv *env, jclass type, jint rows, jint cols,
        jint rank, jint parts, jboolean bf16, jfloatArray left, jfloatArray right, jfloatArray a, jfloatArray b,
        jfloat beta1, jfloat beta2, jfloat scale, jfloat eps) {
    if (rows < 1 || cols < 1 || rank < 1 || parts < 1 || left == NULL || right == NULL || a == NULL || b == NULL
            || (*env)->GetArrayLength(env, left) != (jlong) rows * 2 * rank
            || (*env)->GetArrayLength(env, right) != (jlong) 2 * rank * cols
            || (*env)->GetArrayLength(env, a) != (jlong) rank * cols
            || (*env)->GetArrayLength(env, b) != (jlong) rows * rank) {
        throw_new(env, "java/lang/IllegalArgumentException", "native fused step: factor sizes disagree");
        return 0;
    }
    Step *s = calloc(1, sizeof(Step));
    if (s == NULL) {
        throw_new(env, "java/lang/OutOfMemoryError", "native fused step: no memory for the step");
        return 0;
    }
    s->rows = rows;
    s->cols = cols;
    s->rank = rank;
    s->parts = parts;
    s->padded = (cols + STRIP - 1) / STRIP * STRIP;
    s->b1 = beta1;
    s->b2 = beta2;
    s->scale = scale;
    s->eps = eps;
    s->bf16 = bf16 == JNI_TRUE;
    s->left = floats((size_t) rows * 2 * rank);
    s->b = floats((size_t) rows * rank);
    s->uat = floats((size_t) rows * rank);
    s->right = floats((size_t) 2 * rank * s->padded);
    s->a = floats((size_t) rank * s->padded);
    s->btu = floats((size_t) parts * rank * s->padded);
    float *rowMajor = floats((size_t) 2 * rank * cols);
    if (s->left == NULL || s->b == NULL || s->uat == NULL || s->right == NULL || s->a == NULL || s->btu == NULL
            || rowMajor == NULL) {
        free(rowMajor);
        release(s);
        throw_new(env, "java/lang/OutOfMemoryError", "native fused step: no memory for the step");
        return 0;
    }
    (*env)->GetFloatArrayRegion(env, left, 0, rows * 2 * rank, s->left);
    (*env)->GetFloatArrayRegion(env, b, 0, rows * rank, s->b);
    (*env)->GetFloatArrayRegion(env, right, 0, 2 * rank * cols, rowMajor);
    pack(s->right, rowMajor, 2 * rank, cols, s->padded);
    (*env)->GetFloatArrayRegion(env, a, 0, rank * cols, rowMajor);
    pack(s->a, rowMajor, rank, cols, s->padded);
    free(rowMajor);
    return (jlong) (intptr_t) s;
}

/*
 * The address of byte `at` of the direct buffer, or NULL (with an exception) if [at, at + bytes) is
 * not in it or `at` is not a multiple of `size`.
 */
static char *address(JNIEnv *env, jobject buffer, jlong at, jlong bytes, jlong size) {
    char *base = (*env)->GetDirectBufferAddress(env, buffer);
    jlong capacity = (*env)->GetDirectBufferCapacity(env, buffer);
    if (base == NULL || at < 0 || at % size != 0 || at + bytes > capacity) {
        throw_new(env, "java/lang/IllegalArgumentException", "native fused step: the rows are not in the moment's buffer");
        return NULL;
    }
    return base + at;
}

JNIEXPORT void JNICALL Java_ai_lorapro_optim_NativeAdamKernel_rows(JNIEnv *env, jclass type, jlong handle, jint part,
        jint first, jint count, jobject m, jlong mAt, jobject v, jlong vAt) {
    const Step *s = (const Step *) (intptr_t) handle;
    if (s == NULL || s->finished || part < 0 || part >= s->parts || first < 0 || count < 0
            || count > s->rows - first) {
        throw_new(env, "java/lang/IllegalArgumentException", "native fused step: rows out of range");
        return;
    }
    jlong size = s->bf16 ? sizeof(uint16_t) : sizeof(float);
    jlong bytes = (jlong) count * s->cols * size;
    char *mp = address(env, m, mAt, bytes, size);
    char *vp = mp == NULL ? NULL : address(env, v, vAt, bytes, size);
    if (vp == NULL) {
        return;
    }
    if (run_rows(s, part, first, count, mp, vp) != 0) {
        throw_new(env, "java/lang/OutOfMemoryError", "native fused step: no memory for a part's scratch");
    }
}

JNIEXPORT void JNICALL Java_ai_lorapro_optim_NativeAdamKernel_finish(JNIEnv *env, jclass type, jlong handle,
        jfloatArray btuOut, jfloatArray uatOut) {
    Step *s = (Step *) (intptr_t) handle;
    if (s == NULL || s->finished || btuOut == NULL || uatOut == NULL) {
        throw_new(env, "java/lang/IllegalArgumentException", "native fused step: no step to finish");
        return;
    }
    if ((*env)->GetArrayLength(env, btuOut) != (jlong) s->rank * s->cols
            || (*env)->GetArrayLength(env, uatOut) != (jlong) s->rows * s->rank) {
        throw_new(env, "java/lang/IllegalArgumentException", "native fused step: output sizes disagree");
        return;
    }
    s->finished = 1;
    size_t size = (size_t) s->rank * s->padded;
    for (int p = 1; p < s->parts; p++) {
        const float *from = s->btu + (size_t) p * size;
        for (size_t x = 0; x < size; x++) {
            s->btu[x] += from[x];
        }
    }
    float *row = malloc(sizeof(float) * (size_t) s->cols);
    if (row == NULL) {
        throw_new(env, "java/lang/OutOfMemoryError", "native fused step: no memory for the result");
        return;
    }
    for (int k = 0; k < s->rank; k++) {
        for (int j = 0; j < s->cols; j++) {
            row[j] = s->btu[((size_t) (j / STRIP) * s->rank + k) * STRIP + j % STRIP];
        }
        (*env)->SetFloatArrayRegion(env, btuOut, k * s->cols, s->cols, row);
    }
    free(row);
    (*env)->SetFloatArrayRegion(env, uatOut, 0, s->rows * s->rank, s->uat);
}

JNIEXPORT void JNICALL Java_ai_lorapro_optim_NativeAdamKernel_release(JNIEnv *env, jclass type, jlong handle) {
    release((Step *) (intptr_t) handle);
}
