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
	"strconv"
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
	// Exactly "kse-ko-small" or "kse-ko-mini" is the name of a model shipped
	// with kse, loaded from that same build or installed tree ($KSE_MODEL_DIR
	// is not consulted, nor the current directory: "./kse-ko-mini" is a
	// directory). kse-ko-mini is the default distilled into 6 layers: about
	// twice as fast, the same 384-d vectors, KorSTS dev 84.75 against 85.54.
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
	// Long selects what happens to a text longer than MaxTokens: LongTruncate
	// (the zero value, and the library's default) cuts it, LongError fails
	// the call with StatusInputTooLong, LongWindow encodes it in overlapping
	// windows (see LongPolicy).
	Long LongPolicy
	// WindowOverlap is, under LongWindow, how many tokens consecutive
	// windows share. 0 means the library's default, 32; since 0 is taken,
	// WindowOverlapNone asks for windows that share no tokens. It must be
	// less than the document tokens a window holds (MaxTokens less the
	// special and prefix tokens: 507 for the default model), else New fails
	// with StatusInvalidArgument. The other policies ignore it; a negative
	// value other than WindowOverlapNone is StatusInvalidArgument.
	WindowOverlap int
	// NoTruncate is the older spelling of Long: LongError, kept for
	// compatibility: true makes a text longer than MaxTokens fail the call
	// with StatusInputTooLong. It may be combined with Long: LongTruncate
	// (the zero value) or LongError; with LongWindow, New fails with
	// StatusInvalidArgument.
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
	// Truncated is how many texts were cut at MaxTokens (LongTruncate).
	Truncated int
	// Windowed is how many texts over MaxTokens were encoded in more than
	// one window (LongWindow).
	Windowed int
	// Windows is how many windows those Windowed texts took together.
	Windows int
}

// LongPolicy is what an encoder does with a text longer than MaxTokens (the
// C API's kse_options.truncation; docs/long-inputs.md defines each exactly).
type LongPolicy uint32

const (
	// LongTruncate keeps the first MaxTokens tokens; Stats.Truncated counts
	// the texts that were cut. The zero value and the library's default. A
	// huge text costs about as much as one of MaxTokens.
	LongTruncate LongPolicy = C.KSE_TRUNCATE
	// LongError fails the call with StatusInputTooLong.
	LongError LongPolicy = C.KSE_TRUNCATION_ERROR
	// LongWindow cuts the text into windows of MaxTokens overlapping by
	// Options.WindowOverlap tokens, runs every window and combines their
	// vectors into one, each window weighted by the tokens it adds;
	// Stats.Windowed and Stats.Windows count them.
	LongWindow LongPolicy = C.KSE_WINDOW
)

// String is the policy's name as the kse command line spells it
// ("truncate", "error", "window"), or "LongPolicy(N)".
func (p LongPolicy) String() string {
	switch p {
	case LongTruncate:
		return "truncate"
	case LongError:
		return "error"
	case LongWindow:
		return "window"
	}
	return "LongPolicy(" + strconv.FormatUint(uint64(p), 10) + ")"
}

// WindowOverlapNone is the Options.WindowOverlap that asks for windows
// sharing no tokens (Options.WindowOverlap 0 means the default, 32).
const WindowOverlapNone = -1

// Chunk is one chunk of a document from EncodeChunks or Chunks.
type Chunk struct {
	// Start and End are byte offsets into the document, on UTF-8 character
	// boundaries, End exclusive: doc[c.Start:c.End] is the chunk's text,
	// without leading or trailing whitespace.
	Start, End int
	// Tokens is the number of ids the model saw for the chunk, special and
	// prefix tokens included (at most the chunkTokens asked for).
	Tokens int
	// Vector is the chunk's embedding, Dim() float32s (nil from Chunks).
	// The vectors of one call share one allocation.
	Vector []float32
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

// Version is the version of the loaded libkse, e.g. "0.2.0".
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
		if f.v < 0 || uint64(f.v) > math.MaxUint32 { // uint64: compiles where int is 32 bits
			return nil, &Error{Status: StatusInvalidArgument, Message: "Options." + f.name + " is out of range"}
		}
		if f.v != 0 { // 0 keeps kse_options_init's default
			*f.dst = C.uint32_t(f.v)
		}
	}
	policy := opts.Long
	if opts.NoTruncate {
		switch policy {
		case LongTruncate, LongError:
			policy = LongError
		default:
			return nil, &Error{Status: StatusInvalidArgument,
				Message: "Options.NoTruncate (the older spelling of Long: LongError) conflicts with Options.Long " + policy.String()}
		}
	}
	// Any other value goes to libkse, which names the valid ones.
	co.truncation = C.kse_truncation(policy)
	switch {
	case opts.WindowOverlap == WindowOverlapNone:
		co.window_overlap = 0
	case opts.WindowOverlap < 0 || uint64(opts.WindowOverlap) > math.MaxUint32:
		return nil, &Error{Status: StatusInvalidArgument,
			Message: "Options.WindowOverlap is " + strconv.Itoa(opts.WindowOverlap) + "; use 0 (the default, 32), WindowOverlapNone or a positive count"}
	case opts.WindowOverlap > 0: // 0 keeps kse_options_init's default
		co.window_overlap = C.uint32_t(opts.WindowOverlap)
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
	n       C.size_t // the count kse_tokenize, kse_count_tokens or kse_encode_chunks writes
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
	return Stats{
		Tokens:    int(sc.stats.tokens),
		Truncated: int(sc.stats.truncated),
		Windowed:  int(sc.stats.windowed),
		Windows:   int(sc.stats.windows),
	}, nil
}

// textPtr is a C view of a Go string's bytes, passed with len(text). The
// bytes hold no Go pointers and libkse only reads them during the call, so
// they are passed in place (the caller keeps text alive over the call); an
// empty string is a static non-NULL pointer.
func textPtr(text string) *C.char {
	if len(text) == 0 {
		return C.kse_go_empty_ptr()
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(text)))
}

// Tokenize returns the token ids the model sees for text: prefix added,
// special tokens in place, cut at MaxTokens (StatusInputTooLong under
// LongError; the first window's ids under LongWindow). CountTokens gives the
// uncut count.
func (e *Encoder) Tokenize(text string) ([]int32, error) {
	ptr := textPtr(text)
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
			(*C.int32_t)(unsafe.Pointer(&ids[0])), C.size_t(len(ids)), &sc.n, &sc.err)
		e.mu.RUnlock()
		runtime.KeepAlive(e)
		runtime.KeepAlive(text)
		n := int(sc.n)
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

// CountTokens returns how many ids the model would see for text without
// truncation: prefix and special tokens included, as Tokenize would return
// them if the model had no token limit, whatever Options.Long is. It runs
// the tokenizer only, never the model.
func (e *Encoder) CountTokens(text string) (int, error) {
	ptr := textPtr(text)
	sc := scratchPool.Get().(*scratch)
	defer putScratch(sc)
	e.mu.RLock()
	h := e.enc
	if h == nil {
		e.mu.RUnlock()
		return 0, ErrClosed
	}
	st := C.kse_count_tokens(h, ptr, C.size_t(len(text)), &sc.n, &sc.err)
	e.mu.RUnlock()
	runtime.KeepAlive(e)
	runtime.KeepAlive(text)
	if st != C.KSE_OK {
		return 0, newError(st, &sc.err)
	}
	return int(sc.n), nil
}

// EncodeChunks splits one document into chunks of at most chunkTokens
// tokens each (special and prefix tokens included; 0 means MaxTokens), cut
// at sentence ends where it can (. ? ! … before a space, 。？！, line breaks)
// and at token boundaries where one sentence alone is too long, consecutive
// chunks sharing overlap tokens, and embeds each chunk: one Chunk per chunk,
// in document order, with its byte range in doc (doc[c.Start:c.End] is its
// text), its token count and its vector. docs/long-inputs.md defines the
// cuts exactly. Options.Long does not apply: every chunk fits the model.
//
// An empty or whitespace-only document has no chunks: an empty slice and a
// nil error. chunkTokens above MaxTokens or not above the special and prefix
// tokens (5 for the default model), or overlap not below the document
// tokens a chunk holds (chunkTokens less those), is StatusInvalidArgument;
// a doc that is not valid UTF-8 is StatusInvalidUTF8.
func (e *Encoder) EncodeChunks(doc string, chunkTokens, overlap int) ([]Chunk, error) {
	return e.chunks(doc, chunkTokens, overlap, true)
}

// Chunks is EncodeChunks without the vectors (every Chunk.Vector is nil):
// the same ranges and token counts, from the tokenizer alone, without
// running the model.
func (e *Encoder) Chunks(doc string, chunkTokens, overlap int) ([]Chunk, error) {
	return e.chunks(doc, chunkTokens, overlap, false)
}

func (e *Encoder) chunks(doc string, chunkTokens, overlap int, vectors bool) ([]Chunk, error) {
	if chunkTokens < 0 || overlap < 0 {
		return nil, &Error{Status: StatusInvalidArgument,
			Message: "chunkTokens is " + strconv.Itoa(chunkTokens) + " and overlap " + strconv.Itoa(overlap) + "; neither may be negative"}
	}
	ptr, length := textPtr(doc), C.size_t(len(doc))
	ct, ov := C.size_t(chunkTokens), C.size_t(overlap)
	sc := scratchPool.Get().(*scratch)
	defer putScratch(sc)
	var spans []C.kse_chunk // pointer-free Go memory that C fills
	var flat []float32
	e.mu.RLock()
	h := e.enc
	if h == nil {
		e.mu.RUnlock()
		return nil, ErrClosed
	}
	// The sizing call: chunks = NULL, chunks_capacity = 0 sets the count
	// (KSE_ERR_BUFFER_TOO_SMALL, or KSE_OK for a document without chunks)
	// and runs the tokenizer only. The read lock is held over both calls.
	st := C.kse_encode_chunks(h, ptr, length, ct, ov, nil, 0, nil, 0, &sc.n, &sc.err)
	n := int(sc.n)
	if (st == C.KSE_ERR_BUFFER_TOO_SMALL || st == C.KSE_OK) && n > 0 {
		spans = make([]C.kse_chunk, n)
		// out = NULL, out_capacity = 0: the ranges only, no model run.
		var outPtr *C.float
		if vectors {
			flat = make([]float32, n*e.dim)
			outPtr = (*C.float)(unsafe.Pointer(&flat[0]))
		}
		st = C.kse_encode_chunks(h, ptr, length, ct, ov, &spans[0], C.size_t(n),
			outPtr, C.size_t(len(flat)), &sc.n, &sc.err)
	}
	e.mu.RUnlock()
	runtime.KeepAlive(e)
	runtime.KeepAlive(doc)
	if st != C.KSE_OK {
		return nil, newError(st, &sc.err)
	}
	if int(sc.n) != n { // the same document gives the same chunks
		return nil, &Error{Status: StatusInternal,
			Message: "kse_encode_chunks counted " + strconv.Itoa(n) + " chunks, then wrote " + strconv.Itoa(int(sc.n))}
	}
	chunks := make([]Chunk, n)
	for i, c := range spans {
		chunks[i] = Chunk{Start: int(c.start), End: int(c.end), Tokens: int(c.tokens)}
		if vectors {
			chunks[i].Vector = flat[i*e.dim : (i+1)*e.dim : (i+1)*e.dim]
		}
	}
	return chunks, nil
}
