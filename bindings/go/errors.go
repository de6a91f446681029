package kse

// #include <kse.h>
import "C"

// Status is a kse_status: the result code of a libkse call.
type Status int32

// The statuses of include/kse.h. Later versions of libkse may add values;
// Status.String names any value.
const (
	StatusOK                 Status = C.KSE_OK
	StatusInvalidArgument    Status = C.KSE_ERR_INVALID_ARGUMENT    // an argument is missing or out of range
	StatusInvalidUTF8        Status = C.KSE_ERR_INVALID_UTF8        // a text is not valid UTF-8; the message gives its index and byte offset
	StatusBufferTooSmall     Status = C.KSE_ERR_BUFFER_TOO_SMALL    // the output slice is too short; nothing was written
	StatusInputTooLong       Status = C.KSE_ERR_INPUT_TOO_LONG      // a text exceeds MaxTokens and Options.Long is LongError
	StatusModelNotFound      Status = C.KSE_ERR_MODEL_NOT_FOUND     // the model directory or one of its files does not exist
	StatusModelInvalid       Status = C.KSE_ERR_MODEL_INVALID       // the model directory is malformed; the message names the field
	StatusRuntimeUnavailable Status = C.KSE_ERR_RUNTIME_UNAVAILABLE // ONNX Runtime is missing, unloadable or too old
	StatusRuntime            Status = C.KSE_ERR_RUNTIME             // ONNX Runtime failed creating a session or running the model
	StatusTokenizer          Status = C.KSE_ERR_TOKENIZER           // the tokenizer failed on a text
	StatusUnsupportedVersion Status = C.KSE_ERR_UNSUPPORTED_VERSION // kse.h and libkse disagree on a struct layout
	StatusInvalidHandle      Status = C.KSE_ERR_INVALID_HANDLE      // the encoder is closed (see ErrClosed)
	StatusInternal           Status = C.KSE_ERR_INTERNAL            // a bug in libkse; please report it
)

// String is the status's C name, e.g. "KSE_ERR_INVALID_UTF8"
// ("KSE_ERR_UNKNOWN" for values the loaded library does not define).
func (s Status) String() string { return C.GoString(C.kse_status_name(C.kse_status(s))) }

// Error is the error type of every failing call in this package. Use
// errors.As to reach it:
//
//	var kerr *kse.Error
//	if errors.As(err, &kerr) && kerr.Status == kse.StatusInvalidUTF8 { ... }
type Error struct {
	Status  Status // never StatusOK
	Message string // what went wrong, as libkse (or this package) put it
}

func (e *Error) Error() string { return "kse: " + e.Status.String() + ": " + e.Message }

// newError copies a failed call's kse_error; the status returned by the call
// is authoritative.
func newError(st C.kse_status, cerr *C.kse_error) *Error {
	return &Error{Status: Status(st), Message: C.GoString(&cerr.message[0])}
}
