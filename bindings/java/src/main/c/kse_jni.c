/*
 * JNI shim between dev.kse.Native and the kse C API (include/kse.h).
 *
 * Built as libkse_jni.so, linked against libkse.so.0 with RUNPATH $ORIGIN so
 * the copy beside it is used. The prototypes come from the header javac
 * generates for dev.kse.Native (javac -h), so a signature mismatch between
 * the Java and C sides fails the build.
 *
 * Conventions: fallible calls return the kse_status and copy the error
 * message into the caller's byte[] (UTF-8, NUL-padded), so no message text
 * crosses JNI as "modified UTF-8". Java arrays are copied in and out with
 * Get/Set<Type>ArrayRegion around the library call: no array is pinned or
 * held in a critical region while the model runs (which would stall the
 * garbage collector), and on failure the Java output array is not touched.
 * A failed native allocation throws OutOfMemoryError.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jni.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "dev_kse_Native.h"
#include "kse.h"

static kse_encoder *as_encoder(jlong handle) { return (kse_encoder *)(intptr_t)handle; }

static void throw_oom(JNIEnv *env, const char *what) {
    jclass cls = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
    if (cls != NULL) (*env)->ThrowNew(env, cls, what);
}

/* Copies a kse_error message (bytes up to its NUL) into the Java byte[]. */
static void put_error(JNIEnv *env, jbyteArray out, const kse_error *err) {
    if (out == NULL) return;
    jsize cap = (*env)->GetArrayLength(env, out);
    size_t len = strnlen(err->message, sizeof err->message);
    if (len > (size_t)cap) len = (size_t)cap;
    (*env)->SetByteArrayRegion(env, out, 0, (jsize)len, (const jbyte *)err->message);
}

static jint fail(JNIEnv *env, jbyteArray out, kse_status status, const char *message) {
    kse_error err;
    err.status = status;
    strncpy(err.message, message, sizeof err.message - 1);
    err.message[sizeof err.message - 1] = '\0';
    put_error(env, out, &err);
    return status;
}

/* A malloc'd copy of the first len bytes of a Java byte[] (at least one byte,
   so never NULL on success); len must not exceed the array's length. */
static char *copy_prefix(JNIEnv *env, jbyteArray arr, jsize len) {
    char *buf = malloc((size_t)len + 1);
    if (buf == NULL) {
        throw_oom(env, "kse_jni: cannot copy a byte array");
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, arr, 0, len, (jbyte *)buf);
    buf[len] = '\0';
    return buf;
}

/* A malloc'd copy of a Java byte[] (at least one byte, so never NULL on success). */
static char *copy_bytes(JNIEnv *env, jbyteArray arr, jsize *len_out) {
    jsize len = (*env)->GetArrayLength(env, arr);
    if (len_out) *len_out = len;
    return copy_prefix(env, arr, len);
}

static jbyteArray bytes_of(JNIEnv *env, const char *s) {
    if (s == NULL) s = "";
    jsize len = (jsize)strlen(s);
    jbyteArray arr = (*env)->NewByteArray(env, len);
    if (arr != NULL) (*env)->SetByteArrayRegion(env, arr, 0, len, (const jbyte *)s);
    return arr;
}

JNIEXPORT jint JNICALL Java_dev_kse_Native_headerAbiVersion(JNIEnv *env, jclass cls) {
    (void)env, (void)cls;
    return KSE_ABI_VERSION;
}

JNIEXPORT jint JNICALL Java_dev_kse_Native_abiVersion(JNIEnv *env, jclass cls) {
    (void)env, (void)cls;
    return (jint)kse_abi_version();
}

JNIEXPORT jint JNICALL Java_dev_kse_Native_versionNumber(JNIEnv *env, jclass cls) {
    (void)env, (void)cls;
    return (jint)kse_version_number();
}

JNIEXPORT jbyteArray JNICALL Java_dev_kse_Native_version(JNIEnv *env, jclass cls) {
    (void)cls;
    return bytes_of(env, kse_version());
}

JNIEXPORT jbyteArray JNICALL Java_dev_kse_Native_statusName(JNIEnv *env, jclass cls, jint status) {
    (void)cls;
    return bytes_of(env, kse_status_name((kse_status)status));
}

/* Bytes the C heap has handed out and not taken back (all malloc arenas plus
   mmapped chunks), or -1 where the C library cannot say; for leak tests. */
JNIEXPORT jlong JNICALL Java_dev_kse_Native_heapInUse(JNIEnv *env, jclass cls) {
    (void)env, (void)cls;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return (jlong)(mi.uordblks + mi.hblkhd);
#else
    return -1;
#endif
}

JNIEXPORT jint JNICALL Java_dev_kse_Native_create(JNIEnv *env, jclass cls, jbyteArray model_dir,
                                                  jbyteArray ort_library, jint intra_threads,
                                                  jint sessions, jint batch_tokens, jint truncation,
                                                  jint window_overlap, jlongArray handle_out,
                                                  jbyteArray err_out) {
    (void)cls;
    kse_options opts;
    kse_status status = KSE_OPTIONS_INIT(&opts);
    if (status != KSE_OK) return fail(env, err_out, status, "kse_options_init refused the options layout of kse.h this shim was built with");
    if (handle_out == NULL) return fail(env, err_out, KSE_ERR_INVALID_ARGUMENT, "handle_out is required");
    /* model_dir null: NULL to kse_create, which loads the default model. */
    char *dir = NULL;
    if (model_dir != NULL) {
        dir = copy_bytes(env, model_dir, NULL);
        if (dir == NULL) return -1;
    }
    char *ort = NULL;
    if (ort_library != NULL) {
        ort = copy_bytes(env, ort_library, NULL);
        if (ort == NULL) {
            free(dir);
            return -1;
        }
    }
    /* Negative values mean "keep the library's default". */
    if (intra_threads >= 0) opts.intra_threads = (uint32_t)intra_threads;
    if (sessions >= 0) opts.sessions = (uint32_t)sessions;
    if (batch_tokens >= 0) opts.batch_tokens = (uint32_t)batch_tokens;
    if (truncation >= 0) opts.truncation = (kse_truncation)truncation;
    if (window_overlap >= 0) opts.window_overlap = (uint32_t)window_overlap;
    opts.model_dir = dir;
    opts.ort_library_path = ort;

    kse_encoder *enc = NULL;
    kse_error err;
    status = kse_create(&opts, &enc, &err);
    free(dir);
    free(ort);
    if (status != KSE_OK) {
        put_error(env, err_out, &err);
        return status;
    }
    jlong handle = (jlong)(intptr_t)enc;
    (*env)->SetLongArrayRegion(env, handle_out, 0, 1, &handle);
    return KSE_OK;
}

JNIEXPORT void JNICALL Java_dev_kse_Native_free(JNIEnv *env, jclass cls, jlong handle) {
    (void)env, (void)cls;
    kse_free(as_encoder(handle));
}

JNIEXPORT jint JNICALL Java_dev_kse_Native_dim(JNIEnv *env, jclass cls, jlong handle) {
    (void)env, (void)cls;
    return (jint)kse_dim(as_encoder(handle));
}

JNIEXPORT jint JNICALL Java_dev_kse_Native_maxTokens(JNIEnv *env, jclass cls, jlong handle) {
    (void)env, (void)cls;
    return (jint)kse_max_tokens(as_encoder(handle));
}

JNIEXPORT jbyteArray JNICALL Java_dev_kse_Native_modelName(JNIEnv *env, jclass cls, jlong handle) {
    (void)cls;
    return bytes_of(env, kse_model_name(as_encoder(handle)));
}

JNIEXPORT jint JNICALL Java_dev_kse_Native_encodePacked(JNIEnv *env, jclass cls, jlong handle,
                                                        jbyteArray data, jlongArray offsets,
                                                        jfloatArray out, jlongArray stats_out,
                                                        jbyteArray err_out) {
    (void)cls;
    if (data == NULL || offsets == NULL || out == NULL)
        return fail(env, err_out, KSE_ERR_INVALID_ARGUMENT, "kse_jni: data, offsets and out are required");
    jsize n_offsets = (*env)->GetArrayLength(env, offsets);
    if (n_offsets < 1) return fail(env, err_out, KSE_ERR_INVALID_ARGUMENT, "kse_jni: offsets needs n + 1 entries");
    size_t n = (size_t)n_offsets - 1;
    jsize data_len = (*env)->GetArrayLength(env, data);
    jsize out_len = (*env)->GetArrayLength(env, out);

    size_t *offs = malloc((size_t)n_offsets * sizeof *offs);
    float *vectors = malloc(out_len > 0 ? (size_t)out_len * sizeof *vectors : 1);
    char *bytes = NULL;
    if (offs == NULL || vectors == NULL) {
        free(offs);
        free(vectors);
        throw_oom(env, "kse_jni: cannot allocate the encode buffers");
        return -1;
    }
    /* Offsets arrive as Java longs; each must lie within data, in order,
       since libkse cannot know the buffer's length. */
    jlong chunk[256];
    jlong prev = 0;
    for (jsize i = 0; i < n_offsets; i += 256) {
        jsize m = n_offsets - i < 256 ? n_offsets - i : 256;
        (*env)->GetLongArrayRegion(env, offsets, i, m, chunk);
        for (jsize k = 0; k < m; k++) {
            jlong o = chunk[k];
            if (o < prev || o > data_len) {
                free(offs);
                free(vectors);
                return fail(env, err_out, KSE_ERR_INVALID_ARGUMENT,
                            "kse_jni: offsets must be non-decreasing and within the data");
            }
            offs[i + k] = (size_t)o;
            prev = o;
        }
    }
    /* Only the bytes the texts use: the binding's buffer may be larger. */
    bytes = copy_prefix(env, data, (jsize)prev);
    if (bytes == NULL) {
        free(offs);
        free(vectors);
        return -1;
    }

    kse_encode_stats stats;
    memset(&stats, 0, sizeof stats);
    kse_error err;
    kse_status status = kse_encode_packed(as_encoder(handle), bytes, offs, n, vectors,
                                          (size_t)out_len, &stats, &err);
    free(bytes);
    free(offs);
    if (status == KSE_OK) {
        /* Only rows the library wrote (n * dim floats) are copied back. */
        size_t written = n * kse_dim(as_encoder(handle));
        if (written > (size_t)out_len) written = (size_t)out_len;
        (*env)->SetFloatArrayRegion(env, out, 0, (jsize)written, vectors);
        if (stats_out != NULL) {
            /* tokens, truncated, windowed, windows: as many as the array holds. */
            jlong s[4] = {(jlong)stats.tokens, (jlong)stats.truncated, (jlong)stats.windowed,
                          (jlong)stats.windows};
            jsize m = (*env)->GetArrayLength(env, stats_out);
            (*env)->SetLongArrayRegion(env, stats_out, 0, m < 4 ? m : 4, s);
        }
    } else {
        put_error(env, err_out, &err);
    }
    free(vectors);
    return status;
}

JNIEXPORT jint JNICALL Java_dev_kse_Native_tokenize(JNIEnv *env, jclass cls, jlong handle,
                                                    jbyteArray text, jintArray ids_out,
                                                    jlongArray count_out, jbyteArray err_out) {
    (void)cls;
    if (text == NULL || ids_out == NULL || count_out == NULL)
        return fail(env, err_out, KSE_ERR_INVALID_ARGUMENT, "kse_jni: text, ids and count are required");
    jsize cap = (*env)->GetArrayLength(env, ids_out);
    int32_t *ids = malloc(cap > 0 ? (size_t)cap * sizeof *ids : 1);
    if (ids == NULL) {
        throw_oom(env, "kse_jni: cannot allocate the token buffer");
        return -1;
    }
    jsize len = 0;
    char *bytes = copy_bytes(env, text, &len);
    if (bytes == NULL) {
        free(ids);
        return -1;
    }
    size_t n_ids = 0;
    kse_error err;
    kse_status status = kse_tokenize(as_encoder(handle), bytes, (size_t)len, ids, (size_t)cap, &n_ids, &err);
    free(bytes);
    if (status == KSE_OK || status == KSE_ERR_BUFFER_TOO_SMALL) {
        jlong count = (jlong)n_ids;
        (*env)->SetLongArrayRegion(env, count_out, 0, 1, &count);
    }
    if (status == KSE_OK) {
        (*env)->SetIntArrayRegion(env, ids_out, 0, (jsize)n_ids, (const jint *)ids);
    } else {
        put_error(env, err_out, &err);
    }
    free(ids);
    return status;
}

JNIEXPORT jint JNICALL Java_dev_kse_Native_countTokens(JNIEnv *env, jclass cls, jlong handle,
                                                       jbyteArray text, jlongArray count_out,
                                                       jbyteArray err_out) {
    (void)cls;
    if (text == NULL || count_out == NULL || (*env)->GetArrayLength(env, count_out) < 1)
        return fail(env, err_out, KSE_ERR_INVALID_ARGUMENT, "kse_jni: text and count are required");
    jsize len = 0;
    char *bytes = copy_bytes(env, text, &len);
    if (bytes == NULL) return -1;
    size_t n = 0;
    kse_error err;
    kse_status status = kse_count_tokens(as_encoder(handle), bytes, (size_t)len, &n, &err);
    free(bytes);
    if (status == KSE_OK) {
        jlong count = (jlong)n;
        (*env)->SetLongArrayRegion(env, count_out, 0, 1, &count);
    } else {
        put_error(env, err_out, &err);
    }
    return status;
}

/* kse_encode_chunks. chunks_out (may be NULL: capacity 0) receives
   start, end, tokens for each chunk, so it holds 3 * capacity longs; out (may
   be NULL: ranges only, no model run) receives n * dim floats. count_out[0]
   is set whenever the library sets *n_chunks (success or buffer too small). */
JNIEXPORT jint JNICALL Java_dev_kse_Native_encodeChunks(JNIEnv *env, jclass cls, jlong handle,
                                                        jbyteArray text, jlong chunk_tokens,
                                                        jlong overlap, jlongArray chunks_out,
                                                        jfloatArray out, jlongArray count_out,
                                                        jbyteArray err_out) {
    (void)cls;
    if (text == NULL || count_out == NULL || (*env)->GetArrayLength(env, count_out) < 1)
        return fail(env, err_out, KSE_ERR_INVALID_ARGUMENT, "kse_jni: text and count are required");
    if (chunk_tokens < 0 || overlap < 0)
        return fail(env, err_out, KSE_ERR_INVALID_ARGUMENT, "kse_jni: chunk_tokens and overlap must be >= 0");
    size_t capacity = chunks_out == NULL ? 0 : (size_t)(*env)->GetArrayLength(env, chunks_out) / 3;
    jsize out_len = out == NULL ? 0 : (*env)->GetArrayLength(env, out);
    kse_chunk *chunks = NULL;
    float *vectors = NULL;
    if (capacity > 0) {
        chunks = malloc(capacity * sizeof *chunks);
        if (chunks == NULL) {
            throw_oom(env, "kse_jni: cannot allocate the chunk buffer");
            return -1;
        }
    }
    if (out != NULL) {
        vectors = malloc(out_len > 0 ? (size_t)out_len * sizeof *vectors : 1);
        if (vectors == NULL) {
            free(chunks);
            throw_oom(env, "kse_jni: cannot allocate the vector buffer");
            return -1;
        }
    }
    jsize len = 0;
    char *bytes = copy_bytes(env, text, &len);
    if (bytes == NULL) {
        free(chunks);
        free(vectors);
        return -1;
    }
    size_t n = 0;
    kse_error err;
    kse_status status = kse_encode_chunks(as_encoder(handle), bytes, (size_t)len, (size_t)chunk_tokens,
                                          (size_t)overlap, chunks, capacity, vectors, (size_t)out_len, &n,
                                          &err);
    free(bytes);
    if (status == KSE_OK || status == KSE_ERR_BUFFER_TOO_SMALL) {
        jlong count = (jlong)n;
        (*env)->SetLongArrayRegion(env, count_out, 0, 1, &count);
    }
    if (status == KSE_OK) {
        /* Only what the library wrote: n chunks and, with out, n * dim floats. */
        size_t copied = n < capacity ? n : capacity;
        jlong buf[3 * 128];
        for (size_t i = 0; i < copied; i += 128) {
            size_t m = copied - i < 128 ? copied - i : 128;
            for (size_t k = 0; k < m; k++) {
                buf[3 * k] = (jlong)chunks[i + k].start;
                buf[3 * k + 1] = (jlong)chunks[i + k].end;
                buf[3 * k + 2] = (jlong)chunks[i + k].tokens;
            }
            (*env)->SetLongArrayRegion(env, chunks_out, (jsize)(3 * i), (jsize)(3 * m), buf);
        }
        if (out != NULL) {
            size_t written = n * kse_dim(as_encoder(handle));
            if (written > (size_t)out_len) written = (size_t)out_len;
            (*env)->SetFloatArrayRegion(env, out, 0, (jsize)written, vectors);
        }
    } else {
        put_error(env, err_out, &err);
    }
    free(chunks);
    free(vectors);
    return status;
}
