package kse

/*
#cgo pkg-config: kse
#include <stdlib.h>
#include <kse.h>

// Non-NULL pointers for empty inputs and outputs (passed with length 0).
static const char kse_go_empty_text[1] = "";
static float kse_go_empty_out[1];
static const char *kse_go_empty_ptr(void) { return kse_go_empty_text; }
static float *kse_go_empty_out_ptr(void) { return kse_go_empty_out; }
*/
import "C"

import (
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Options configure New. The zero value of every field means "the library's
// default", so Options{} (the default model) and Options{ModelDir: dir} are
// complete, sensible configurations.
type Options struct {
	// ModelDir is the model directory (kse.json, model.onnx, tokenizer.json).
	// "" means the library's default model, kse-ko-small: the directory in
	// $KSE_MODEL_DIR if set, else models/kse-ko-small of the build tree or
	// share/kse/models/kse-ko-small of the installed tree that libkse sits in
	// (StatusModelNotFound, naming the places looked at, if none has it).
	ModelDir string
	// IntraThreads is ONNX Runtime's intra-op thread count per session;
	// 0 means the machine's cores divided among the sessions.
	IntraThreads int
	// Sessions is how many Encode calls on this encoder run at the same
	// time (more wait); 0 means 1. Each session keeps its own working memory;
	// the weights are shared.
	Sessions int
	// BatchTokens bounds (texts in a batch) x (longest text's tokens) per
	// model run, which bounds memory; 0 means 512. A text longer than this
	// runs alone.
	BatchTokens int
	// NoTruncate selects what happens to a text longer than MaxTokens.
	// false (the zero value, and the library's default): the text is cut at
	// MaxTokens and Stats.Truncated counts it. true: the call fails with
	// StatusInputTooLong. (This is the C API's kse_options.truncation,
	// KSE_TRUNCATE or KSE_TRUNCATION_ERROR; it is phrased as a negative so
	// that the zero value truncates.)
	NoTruncate bool
	// ORTLibrary is the path of the ONNX Runtime shared library to load;
	// "" searches: $KSE_ORT_LIBRARY, then libonnxruntime.so.1 beside
	// libkse.so (or in kse/ beside it), then the system library path. The
	// first ONNX Runtime loaded serves the whole process.
	ORTLibrary string
}

// Stats are the counts of one encode call.
type Stats struct {
	// Tokens fed to the model, special tokens included, padding excluded.
	Tokens int
	// Truncated is how many texts were cut at MaxTokens.
	Truncated int
}

// Encoder is a loaded model. It is safe for concurrent use by multiple
// goroutines. Release it with Close.
type Encoder struct {
	// mu guards enc: every call holds it shared while it uses enc, Close
	// holds it exclusively to free it, so kse_free never runs during a call.
	mu      sync.RWMutex
	enc     *C.kse_encoder // nil once closed
	cleanup runtime.Cleanup

	dim       int
	maxTokens int
	name      string
}

// liveEncoders counts encoders created and not yet freed (by Close or by the
// cleanup); the tests read it.
var liveEncoders atomic.Int64

// ErrClosed is returned by every call on an Encoder after Close. It is an
// *Error with StatusInvalidHandle, so errors.As finds it like any other
// failure, and errors.Is(err, ErrClosed) identifies it.
var ErrClosed error = &Error{Status: StatusInvalidHandle, Message: "encoder is closed"}

// Version is the version of the loaded libkse, e.g. "0.1.0".
func Version() string { return C.GoString(C.kse_version()) }

// VersionNumber is the loaded libkse's version as major*10000 + minor*100 + patch.
func VersionNumber() int { return int(C.kse_version_number()) }

// HeaderVersionNumber is the version of the kse.h this package was compiled
// against, in VersionNumber's form.
const HeaderVersionNumber = int(C.KSE_VERSION_NUMBER)

// New loads the model directory in opts.ModelDir (or, when it is "", the
// default model kse-ko-small; see Options.ModelDir) and creates an encoder.
// Loading takes about a second for the default model: do it once and share
// the encoder between goroutines.
func New(opts Options) (*Encoder, error) {
	if abi := C.kse_abi_version(); abi != C.KSE_ABI_VERSION {
		return nil, &Error{Status: StatusUnsupportedVersion,
			Message: "libkse's ABI version differs from the kse.h this package was built with"}
	}
	var co C.kse_options
	if st := C.kse_options_init(&co, C.sizeof_kse_options); st != C.KSE_OK {
		return nil, &Error{Status: Status(st), Message: "kse_options_init refused this package's kse_options layout"}
	}
	for _, f := range []struct {
		name string
		v    int
		dst  *C.uint32_t
	}{
		{"IntraThreads", opts.IntraThreads, &co.intra_threads},
		{"Sessions", opts.Sessions, &co.sessions},
		{"BatchTokens", opts.BatchTokens, &co.batch_tokens},
	} {
		if f.v < 0 || f.v > math.MaxUint32 {
			return nil, &Error{Status: StatusInvalidArgument, Message: "Options." + f.name + " is out of range"}
		}
		if f.v != 0 { // 0 keeps kse_options_init's default
			*f.dst = C.uint32_t(f.v)
		}
	}
	if opts.NoTruncate {
		co.truncation = C.KSE_TRUNCATION_ERROR
	} else {
		co.truncation = C.KSE_TRUNCATE
	}
	if strings.IndexByte(opts.ModelDir, 0) >= 0 || strings.IndexByte(opts.ORTLibrary, 0) >= 0 {
		return nil, &Error{Status: StatusInvalidArgument, Message: "Options.ModelDir or Options.ORTLibrary contains a NUL byte"}
	}
	// co is Go memory holding C pointers, which cgo allows; the strings are
	// NUL-terminated C copies, freed on return since kse_create only reads
	// them while it runs. An empty ModelDir stays NULL: the default model.
	if opts.ModelDir != "" {
		co.model_dir = C.CString(opts.ModelDir)
		defer C.free(unsafe.Pointer(co.model_dir))
	}
	if opts.ORTLibrary != "" {
		co.ort_library_path = C.CString(opts.ORTLibrary)
		defer C.free(unsafe.Pointer(co.ort_library_path))
	}

	var h *C.kse_encoder
	var cerr C.kse_error
	if st := C.kse_create(&co, &h, &cerr); st != C.KSE_OK {
		return nil, newError(st, &cerr)
	}
	liveEncoders.Add(1)
	e := &Encoder{
		enc:       h,
		dim:       int(C.kse_dim(h)),
		maxTokens: int(C.kse_max_tokens(h)),
		name:      C.GoString(C.kse_model_name(h)),
	}
	// Safety net for an Encoder dropped without Close. The cleanup gets the
	// C handle, not e (which would keep e reachable forever); Close stops it,
	// so a handle is never freed twice (a freed address may be reused by a
	// later encoder).
	e.cleanup = runtime.AddCleanup(e, freeHandle, h)
	return e, nil
}

func freeHandle(h *C.kse_encoder) {
	C.kse_free(h)
	liveEncoders.Add(-1)
}

// Close frees the encoder. It waits for calls in progress on other
// goroutines to finish; later calls return ErrClosed. Close is idempotent and
// always returns nil (it satisfies io.Closer).
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc == nil {
		return nil
	}
	e.cleanup.Stop()
	freeHandle(e.enc)
	e.enc = nil
	return nil
}

// Dim is the width of each embedding (float32s per text). It stays
// available after Close.
func (e *Encoder) Dim() int { return e.dim }

// MaxTokens is the model's maximum tokens per text, special tokens included.
func (e *Encoder) MaxTokens() int { return e.maxTokens }

// ModelName is the model's name from its manifest.
func (e *Encoder) ModelName() string { return e.name }

// Encode embeds texts (UTF-8) and returns one vector of Dim() float32s per
// text. The rows share one allocation. Empty texts are valid; a text that is
// not valid UTF-8 fails the call with StatusInvalidUTF8.
func (e *Encoder) Encode(texts []string) ([][]float32, error) {
	flat, err := e.EncodeFlat(texts)
	if err != nil {
		return nil, err
	}
	rows := make([][]float32, len(texts))
	for i := range rows {
		rows[i] = flat[i*e.dim : (i+1)*e.dim : (i+1)*e.dim]
	}
	return rows, nil
}

// EncodeFlat embeds texts into one row-major slice of len(texts)*Dim()
// float32s: row i is text i.
func (e *Encoder) EncodeFlat(texts []string) ([]float32, error) {
	out := make([]float32, len(texts)*e.dim)
	if _, err := e.EncodeIntoStats(out, texts); err != nil {
		return nil, err
	}
	return out, nil
}

// EncodeInto embeds texts into dst, which must hold at least
// len(texts)*Dim() float32s (otherwise StatusBufferTooSmall); row i of dst
// is text i. On error dst is left untouched.
func (e *Encoder) EncodeInto(dst []float32, texts []string) error {
	_, err := e.EncodeIntoStats(dst, texts)
	return err
}

// scratch is one call's working memory, pooled so that a call allocates
// nothing in the steady state: the packed texts for kse_encode_packed, and
// the stats, count and error that C writes (Go memory whose address goes to
// C escapes to the heap, so these would otherwise be allocated per call).
type scratch struct {
	data    []byte
	offsets []C.size_t
	stats   C.kse_encode_stats
	nIDs    C.size_t
	err     C.kse_error
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Scratch buffers larger than this are dropped rather than pooled.
const maxPooledBytes = 1 << 20

func putScratch(sc *scratch) {
	if cap(sc.data) > maxPooledBytes || cap(sc.offsets)*int(unsafe.Sizeof(C.size_t(0))) > maxPooledBytes {
		return
	}
	scratchPool.Put(sc)
}

// EncodeIntoStats is EncodeInto that also returns the call's Stats.
func (e *Encoder) EncodeIntoStats(dst []float32, texts []string) (Stats, error) {
	// Pack the texts into one Go byte slice plus n+1 offsets. Both are Go
	// memory without Go pointers in it, which cgo lets C read during the
	// call (and libkse keeps no reference afterwards), so no C allocation or
	// C string per text is needed; the only copy is this one memcpy per text.
	sc := scratchPool.Get().(*scratch)
	defer putScratch(sc)
	total := 0
	for _, t := range texts {
		total += len(t)
	}
	if cap(sc.data) < total {
		sc.data = make([]byte, 0, total)
	}
	if cap(sc.offsets) < len(texts)+1 {
		sc.offsets = make([]C.size_t, 0, len(texts)+1)
	}
	data, offsets := sc.data[:0], append(sc.offsets[:0], 0)
	for _, t := range texts {
		data = append(data, t...)
		offsets = append(offsets, C.size_t(len(data)))
	}

	var dataPtr *C.char // NULL when every text is empty
	if len(data) > 0 {
		dataPtr = (*C.char)(unsafe.Pointer(&data[0]))
	}
	// An empty dst is a real buffer of capacity 0 (not NULL), so a call that
	// needs room fails with StatusBufferTooSmall like any short dst.
	outPtr := C.kse_go_empty_out_ptr()
	if len(dst) > 0 {
		outPtr = (*C.float)(unsafe.Pointer(&dst[0]))
	}

	e.mu.RLock()
	h := e.enc
	if h == nil {
		e.mu.RUnlock()
		return Stats{}, ErrClosed
	}
	// cgo checks each pointer argument: &offsets[0] and dataPtr point into
	// pointer-free arrays; &sc.stats and &sc.err are fields of scratch, and
	// for a field only the field's own memory counts, which has no pointers.
	st := C.kse_encode_packed(h, dataPtr, &offsets[0], C.size_t(len(texts)),
		outPtr, C.size_t(len(dst)), &sc.stats, &sc.err)
	e.mu.RUnlock()
	// e owns h: keep e (and so its cleanup) from running until the C call is
	// over, even when the caller drops the Encoder right after this call.
	runtime.KeepAlive(e)
	if st != C.KSE_OK {
		return Stats{}, newError(st, &sc.err)
	}
	return Stats{Tokens: int(sc.stats.tokens), Truncated: int(sc.stats.truncated)}, nil
}

// Tokenize returns the token ids the model sees for text: prefix added,
// special tokens in place, cut at MaxTokens (or StatusInputTooLong with
// Options.NoTruncate).
func (e *Encoder) Tokenize(text string) ([]int32, error) {
	// A Go string's bytes hold no Go pointers and kse_tokenize only reads
	// them during the call, so they are passed in place, with their length.
	ptr := C.kse_go_empty_ptr()
	if len(text) > 0 {
		ptr = (*C.char)(unsafe.Pointer(unsafe.StringData(text)))
	}
	// A token spans at least one byte, plus the prefix and special tokens:
	// len(text)+16 (at most MaxTokens) is almost always enough; if not, the
	// first call reports the count and the second uses it.
	capacity := min(len(text)+16, max(e.maxTokens, 16))
	sc := scratchPool.Get().(*scratch)
	defer putScratch(sc)
	for {
		ids := make([]int32, capacity)
		e.mu.RLock()
		h := e.enc
		if h == nil {
			e.mu.RUnlock()
			return nil, ErrClosed
		}
		st := C.kse_tokenize(h, ptr, C.size_t(len(text)),
			(*C.int32_t)(unsafe.Pointer(&ids[0])), C.size_t(len(ids)), &sc.nIDs, &sc.err)
		e.mu.RUnlock()
		runtime.KeepAlive(e)
		runtime.KeepAlive(text)
		n := int(sc.nIDs)
		switch {
		case st == C.KSE_OK:
			return ids[:n:n], nil
		case st == C.KSE_ERR_BUFFER_TOO_SMALL && n > capacity:
			capacity = n
		default:
			return nil, newError(st, &sc.err)
		}
	}
}
