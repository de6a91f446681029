/*
 * A stand-in for an ONNX Runtime that is too old: it exports OrtGetApiBase
 * like the real library but reports version 1.20.0 and offers no API. kse
 * must refuse it with KSE_ERR_RUNTIME_UNAVAILABLE, not crash.
 */
#include <stddef.h>
#include <stdint.h>

typedef struct OrtApi OrtApi;
typedef struct OrtApiBase {
    const OrtApi *(*GetApi)(uint32_t version);
    const char *(*GetVersionString)(void);
} OrtApiBase;

static const OrtApi *get_api(uint32_t version) {
    (void)version;
    return NULL;
}

static const char *version_string(void) { return "1.20.0"; }

static const OrtApiBase base = {get_api, version_string};

const OrtApiBase *OrtGetApiBase(void) { return &base; }
