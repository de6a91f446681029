// Package kse is the Go binding of kse, the Korean Sentence Encoder: it turns
// sentences into embedding vectors in-process through libkse's C ABI
// (include/kse.h) and ONNX Runtime.
//
//	enc, err := kse.New(kse.Options{}) // the default model, kse-ko-small
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer enc.Close()
//	vecs, err := enc.Encode([]string{"한 남자가 기타를 치고 있다.", "남자가 기타를 연주한다."})
//	// vecs[i] has enc.Dim() float32s (384 for the default model), L2-normalised.
//
// Options.ModelDir names a model directory (kse.New(kse.Options{ModelDir:
// "models/kse-ko-small"})); left empty, libkse loads its default model,
// kse-ko-small: $KSE_MODEL_DIR if set, else models/kse-ko-small of the build
// tree or share/kse/models/kse-ko-small of the installed tree that libkse
// sits in, so it works from any working directory. ModelDir "kse-ko-small"
// or "kse-ko-mini" (exactly) names a model shipped with kse, found the same
// way beside libkse (not through $KSE_MODEL_DIR): kse.New(kse.Options{ModelDir:
// "kse-ko-mini"}) loads the 6-layer distilled model, about twice as fast with
// the same 384-d output ("./kse-ko-mini" is a directory).
//
// # Building
//
// The package uses cgo and finds libkse with pkg-config (`#cgo pkg-config: kse`).
//
// After `make install PREFIX=/opt/kse`, point pkg-config at the installed kse.pc:
//
//	PKG_CONFIG_PATH=/opt/kse/lib/pkgconfig go build ./...
//
// kse.pc's Libs carry -Wl,-rpath,<prefix>/lib (cgo's flag allowlist accepts
// it), so the program finds libkse.so.0 at run time with no LD_LIBRARY_PATH,
// CGO_LDFLAGS or ldconfig, whatever the prefix. ONNX Runtime is found by
// libkse itself in lib/kse/ beside it; no environment variable is needed.
// Go's build cache does not notice a change of PKG_CONFIG_PATH or kse.pc
// (golang/go#24544): after switching to another kse install, build once
// with `go build -a` (or `go clean -cache`).
//
// Against a source checkout (after `make setup`), bindings/go/run_tests.sh
// writes target/go/pkgconfig/kse.pc, whose Libs carry
// -Wl,-rpath,<checkout>/target/release, and exports PKG_CONFIG_PATH to it.
//
// # Long inputs
//
// Options.Long chooses what happens to a text over MaxTokens: LongTruncate
// (the zero value) cuts it, LongError fails with StatusInputTooLong,
// LongWindow encodes it in windows overlapping by Options.WindowOverlap
// tokens (0 means 32; WindowOverlapNone asks for none) and combines them
// into one vector (Stats.Windowed, Stats.Windows). CountTokens counts a
// text's tokens without truncation. EncodeChunks splits a document at
// sentence ends into chunks of at most chunkTokens tokens, each with its
// byte range in the document and its vector:
//
//	chunks, err := enc.EncodeChunks(doc, 128, 16)
//	// doc[chunks[i].Start:chunks[i].End] is chunk i's text; chunks[i].Vector its embedding.
//
// docs/long-inputs.md in the kse repository defines each exactly.
//
// # Concurrency
//
// An *Encoder is safe for concurrent use by any number of goroutines.
// Options.Sessions calls run at the same time; the others wait inside libkse,
// each holding its OS thread while it waits. Close waits for the calls in
// progress, then frees the encoder; any call after Close returns ErrClosed.
// An Encoder that becomes unreachable without Close is freed by a cleanup
// (runtime.AddCleanup) eventually, but call Close: the model holds hundreds of
// megabytes the Go garbage collector cannot see.
//
// # Errors
//
// Every failure is an *Error carrying the library's Status and message:
//
//	var kerr *kse.Error
//	if errors.As(err, &kerr) && kerr.Status == kse.StatusModelNotFound { ... }
package kse
