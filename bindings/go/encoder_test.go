package kse_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	kse "github.com/kse-project/kse/bindings/go"
)

func TestVersion(t *testing.T) {
	if got := kse.VersionNumber(); got != kse.HeaderVersionNumber {
		t.Fatalf("libkse is version %d (%s), kse.h says %d", got, kse.Version(), kse.HeaderVersionNumber)
	}
	if v := kse.Version(); strings.Count(v, ".") != 2 {
		t.Fatalf("Version() = %q, want major.minor.patch", v)
	}
}

func TestEncodeBasic(t *testing.T) {
	enc := defaultEncoder(t)
	if enc.Dim() != 384 || enc.MaxTokens() != 512 || enc.ModelName() != defaultModelName {
		t.Fatalf("Dim %d, MaxTokens %d, ModelName %q; want 384, 512, %s",
			enc.Dim(), enc.MaxTokens(), enc.ModelName(), defaultModelName)
	}
	texts := []string{"한 남자가 기타를 치고 있다.", "남자가 기타를 연주한다.", "한 여자가 양파를 썰고 있다."}
	vecs, err := enc.Encode(texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("got %d vectors for %d texts", len(vecs), len(texts))
	}
	for i, v := range vecs {
		if len(v) != enc.Dim() || cap(v) != enc.Dim() {
			t.Fatalf("vector %d: len %d cap %d, want %d", i, len(v), cap(v), enc.Dim())
		}
		if n := math.Sqrt(dot(v, v)); math.Abs(n-1) > 1e-5 {
			t.Fatalf("vector %d has norm %v; the default model's vectors are L2-normalised", i, n)
		}
	}
	// The paraphrase is closer than the unrelated sentence.
	if para, other := dot(vecs[0], vecs[1]), dot(vecs[0], vecs[2]); para <= other {
		t.Fatalf("cos(guitar, guitar paraphrase) = %v <= cos(guitar, onion) = %v", para, other)
	}

	// The flat variants return the same numbers, row-major.
	flat, err := enc.EncodeFlat(texts)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, len(texts)*enc.Dim()+5)
	for i := range dst {
		dst[i] = 42
	}
	stats, err := enc.EncodeIntoStats(dst, texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs {
		row := flat[i*enc.Dim() : (i+1)*enc.Dim()]
		if d := maxAbsDiff(v, row); d != 0 {
			t.Fatalf("Encode and EncodeFlat differ by %g in row %d", d, i)
		}
		if d := maxAbsDiff(v, dst[i*enc.Dim():(i+1)*enc.Dim()]); d != 0 {
			t.Fatalf("Encode and EncodeIntoStats differ by %g in row %d", d, i)
		}
	}
	for _, x := range dst[len(texts)*enc.Dim():] {
		if x != 42 {
			t.Fatal("EncodeInto wrote past len(texts)*Dim()")
		}
	}
	if stats.Tokens <= 3*len(texts) || stats.Truncated != 0 {
		t.Fatalf("stats %+v: want more than 3 tokens per text and nothing truncated", stats)
	}

	// No texts: no vectors, no error.
	if v, err := enc.Encode(nil); err != nil || len(v) != 0 {
		t.Fatalf("Encode(nil) = %d vectors, %v", len(v), err)
	}
}

// A text's vector must not depend on the other texts in its call (beyond
// float rounding), nor on the batch splitting that BatchTokens causes.
func TestBatchedEqualsOneByOne(t *testing.T) {
	for _, tc := range []struct {
		name string
		enc  *kse.Encoder
	}{
		{"default", defaultEncoder(t)},
		{"default/batch_tokens=64", newEncoder(t, kse.Options{ModelDir: defaultModelDir(t), BatchTokens: 64})},
		{"tiny-seed", newEncoder(t, kse.Options{ModelDir: testModelDir(t, "tiny-seed")})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch, err := tc.enc.Encode(sentences)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range sentences {
				one, err := tc.enc.Encode([]string{s})
				if err != nil {
					t.Fatal(err)
				}
				if d := maxAbsDiff(batch[i], one[0]); d > 1e-6 {
					t.Errorf("text %d %q: batched and alone differ by %g (> 1e-6)", i, s, d)
				}
			}
		})
	}
}

func TestTokenize(t *testing.T) {
	enc := defaultEncoder(t)
	ids, err := enc.Tokenize("안녕하세요")
	if err != nil {
		t.Fatal(err)
	}
	// XLM-R ids: <s> = 0 first, </s> = 2 last, "query: " prefix in between.
	if len(ids) < 4 || ids[0] != 0 || ids[len(ids)-1] != 2 {
		t.Fatalf("Tokenize(안녕하세요) = %v; want <s>=0 ... </s>=2", ids)
	}
	empty, err := enc.Tokenize("")
	if err != nil {
		t.Fatal(err)
	}
	if len(empty) < 2 || empty[0] != 0 || empty[len(empty)-1] != 2 || len(empty) > len(ids) {
		t.Fatalf("Tokenize(\"\") = %v; want <s>, the prefix and </s> only (안녕하세요: %v)", empty, ids)
	}
	// The number of ids is what the encoder feeds the model.
	for _, s := range sentences {
		ids, err := enc.Tokenize(s)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]float32, enc.Dim())
		st, err := enc.EncodeIntoStats(dst, []string{s})
		if err != nil {
			t.Fatal(err)
		}
		if st.Tokens != len(ids) {
			t.Fatalf("%q: Tokenize gives %d ids, Encode fed %d tokens", s, len(ids), st.Tokens)
		}
	}
	// Over MaxTokens: cut, and the ids buffer is sized by MaxTokens.
	long := strings.Repeat("가나다 ", 400)
	ids, err = enc.Tokenize(long)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != enc.MaxTokens() {
		t.Fatalf("long text: %d ids, want MaxTokens = %d (truncated)", len(ids), enc.MaxTokens())
	}
}

func TestTruncation(t *testing.T) {
	long := strings.Repeat("한 남자가 기타를 치고 있다. ", 60)
	enc := defaultEncoder(t)
	dst := make([]float32, 2*enc.Dim())
	st, err := enc.EncodeIntoStats(dst, []string{"짧은 문장", long})
	if err != nil {
		t.Fatal(err)
	}
	if st.Truncated != 1 {
		t.Fatalf("stats %+v: want exactly 1 truncated text", st)
	}

	strict := newEncoder(t, kse.Options{ModelDir: testModelDir(t, "tiny-seed"), NoTruncate: true})
	_, err = strict.Encode([]string{"짧은 문장", long})
	var kerr *kse.Error
	if !errors.As(err, &kerr) || kerr.Status != kse.StatusInputTooLong {
		t.Fatalf("NoTruncate, over-long text: err = %v; want *kse.Error with StatusInputTooLong", err)
	}
	if _, err := strict.Tokenize(long); !errors.As(err, &kerr) || kerr.Status != kse.StatusInputTooLong {
		t.Fatalf("NoTruncate, Tokenize(over-long): err = %v; want StatusInputTooLong", err)
	}
	if _, err := strict.Encode([]string{"짧은 문장"}); err != nil {
		t.Fatalf("NoTruncate, short text: %v", err)
	}
}

func TestErrorModelNotFound(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-model")
	enc, err := kse.New(kse.Options{ModelDir: missing})
	if enc != nil {
		t.Fatal("New returned an encoder for a missing model directory")
	}
	var kerr *kse.Error
	if !errors.As(err, &kerr) {
		t.Fatalf("err = %T %v; want *kse.Error", err, err)
	}
	if kerr.Status != kse.StatusModelNotFound || !strings.Contains(kerr.Message, "no-such-model") {
		t.Fatalf("err = %v; want StatusModelNotFound naming the directory", kerr)
	}
	if !strings.Contains(err.Error(), "KSE_ERR_MODEL_NOT_FOUND") {
		t.Fatalf("Error() = %q; want the status name in it", err.Error())
	}
}

// An empty ModelDir passes NULL to kse_create: the library's default model
// (kse-ko-small), found beside the build tree's libkse when $KSE_MODEL_DIR is
// not set.
func TestDefaultModel(t *testing.T) {
	t.Setenv("KSE_MODEL_DIR", "") // restored after the test
	os.Unsetenv("KSE_MODEL_DIR")
	enc := newEncoder(t, kse.Options{})
	if enc.Dim() != 384 || enc.MaxTokens() != 512 || enc.ModelName() != defaultModelName {
		t.Fatalf("kse.New(Options{}): Dim %d, MaxTokens %d, ModelName %q; want 384, 512, %s",
			enc.Dim(), enc.MaxTokens(), enc.ModelName(), defaultModelName)
	}
	texts := []string{"한 남자가 기타를 치고 있다.", "남자가 기타를 연주한다."}
	got, err := enc.EncodeFlat(texts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := defaultEncoder(t).EncodeFlat(texts)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(got, want); d > 1e-6 {
		t.Fatalf("default model vs %s: vectors differ by %g", defaultModelDir(t), d)
	}
	// Other options apply with the default model too.
	withOpts := newEncoder(t, kse.Options{Sessions: 2, BatchTokens: 64})
	if withOpts.ModelName() != defaultModelName {
		t.Fatalf("kse.New(Options{Sessions: 2, BatchTokens: 64}): ModelName %q; want %s", withOpts.ModelName(), defaultModelName)
	}
}

// $KSE_MODEL_DIR names the default model's directory; a missing one is
// StatusModelNotFound naming it.
func TestDefaultModelEnvMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-model")
	t.Setenv("KSE_MODEL_DIR", missing)
	enc, err := kse.New(kse.Options{})
	if enc != nil {
		enc.Close()
		t.Fatal("New returned an encoder for a missing $KSE_MODEL_DIR")
	}
	var kerr *kse.Error
	if !errors.As(err, &kerr) || kerr.Status != kse.StatusModelNotFound || !strings.Contains(kerr.Message, missing) {
		t.Fatalf("err = %v; want StatusModelNotFound naming %s", err, missing)
	}
}

// ModelDir "kse-ko-mini" is a shipped model's name: models/kse-ko-mini beside
// the build tree's libkse, not a directory of that name in the working
// directory nor $KSE_MODEL_DIR.
func TestShippedModelName(t *testing.T) {
	miniDir := filepath.Join(repoRoot, "models", "kse-ko-mini")
	requirePath(t, filepath.Join(miniDir, "kse.json"), "git checkout models/kse-ko-mini")
	here := t.TempDir()
	if err := os.Mkdir(filepath.Join(here, "kse-ko-mini"), 0o755); err != nil { // empty: never taken for the model
		t.Fatal(err)
	}
	t.Chdir(here)
	t.Setenv("KSE_MODEL_DIR", filepath.Join(here, "kse-ko-mini"))
	mini := newEncoder(t, kse.Options{ModelDir: "kse-ko-mini"})
	if mini.ModelName() != "kse-ko-mini" || mini.Dim() != 384 {
		t.Fatalf("kse.New(Options{ModelDir: \"kse-ko-mini\"}): ModelName %q, Dim %d; want kse-ko-mini, 384", mini.ModelName(), mini.Dim())
	}
	texts := []string{"한 남자가 기타를 치고 있다.", "남자가 기타를 연주한다.", "고양이가 창가에서 잠을 잔다."}
	got, err := mini.EncodeFlat(texts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := newEncoder(t, kse.Options{ModelDir: miniDir}).EncodeFlat(texts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("\"kse-ko-mini\" vs %s: vectors differ by %g", miniDir, maxAbsDiff(got, want))
	}
	small, err := defaultEncoder(t).EncodeFlat(texts)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(got, small) {
		t.Fatal("\"kse-ko-mini\" gave the default model's vectors")
	}
	// Written as a path, the name is the (empty) directory here.
	enc, err := kse.New(kse.Options{ModelDir: "./kse-ko-mini"})
	if enc != nil {
		enc.Close()
	}
	var kerr *kse.Error
	if !errors.As(err, &kerr) || kerr.Status != kse.StatusModelNotFound {
		t.Fatalf("kse.New(Options{ModelDir: \"./kse-ko-mini\"}): %v; want StatusModelNotFound", err)
	}
}

func TestErrorOptions(t *testing.T) {
	for _, opts := range []kse.Options{
		{ModelDir: testModelDir(t, "tiny-seed"), Sessions: -1},
		{ModelDir: testModelDir(t, "tiny-seed"), BatchTokens: -5},
		{ModelDir: "bad\x00dir"},
	} {
		_, err := kse.New(opts)
		var kerr *kse.Error
		if !errors.As(err, &kerr) || kerr.Status != kse.StatusInvalidArgument {
			t.Errorf("New(%+v): err = %v; want StatusInvalidArgument", opts, err)
		}
	}
}

func TestErrorInvalidUTF8(t *testing.T) {
	enc := defaultEncoder(t)
	dst := make([]float32, 3*enc.Dim())
	for i := range dst {
		dst[i] = -7
	}
	err := enc.EncodeInto(dst, []string{"괜찮은 문장", "깨진 \xff\xfe 문장", "또 다른 문장"})
	var kerr *kse.Error
	if !errors.As(err, &kerr) || kerr.Status != kse.StatusInvalidUTF8 {
		t.Fatalf("err = %v; want *kse.Error with StatusInvalidUTF8", err)
	}
	if !strings.Contains(kerr.Message, "text 1") {
		t.Fatalf("message %q does not name text 1", kerr.Message)
	}
	for _, x := range dst {
		if x != -7 {
			t.Fatal("a failed EncodeInto wrote to dst")
		}
	}
	if _, err := enc.Tokenize("\xc3\x28"); !errors.As(err, &kerr) || kerr.Status != kse.StatusInvalidUTF8 {
		t.Fatalf("Tokenize(invalid UTF-8): err = %v; want StatusInvalidUTF8", err)
	}
	// A NUL byte is valid UTF-8 and is passed on, not taken as the end.
	if _, err := enc.Encode([]string{"앞\x00뒤"}); err != nil {
		t.Fatalf("text with a NUL byte: %v", err)
	}
}

func TestErrorBufferTooSmall(t *testing.T) {
	enc := defaultEncoder(t)
	for _, n := range []int{0, enc.Dim(), 2*enc.Dim() - 1} {
		dst := make([]float32, n)
		err := enc.EncodeInto(dst, []string{"하나", "둘"})
		var kerr *kse.Error
		if !errors.As(err, &kerr) || kerr.Status != kse.StatusBufferTooSmall {
			t.Fatalf("len(dst) = %d: err = %v; want StatusBufferTooSmall", n, err)
		}
	}
}

func TestUseAfterClose(t *testing.T) {
	enc, err := kse.New(kse.Options{ModelDir: testModelDir(t, "tiny-seed")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Encode([]string{"닫기 전"}); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	check := func(what string, err error) {
		t.Helper()
		var kerr *kse.Error
		if !errors.Is(err, kse.ErrClosed) || !errors.As(err, &kerr) || kerr.Status != kse.StatusInvalidHandle {
			t.Fatalf("%s after Close: err = %v; want kse.ErrClosed (StatusInvalidHandle)", what, err)
		}
	}
	_, err = enc.Encode([]string{"닫은 뒤"})
	check("Encode", err)
	_, err = enc.Encode(nil)
	check("Encode(nil)", err)
	_, err = enc.EncodeFlat([]string{"닫은 뒤"})
	check("EncodeFlat", err)
	check("EncodeInto", enc.EncodeInto(make([]float32, enc.Dim()), []string{"닫은 뒤"}))
	_, err = enc.Tokenize("닫은 뒤")
	check("Tokenize", err)
	if enc.Dim() != 768 || enc.ModelName() != "tiny-seed" {
		t.Fatalf("after Close: Dim %d ModelName %q; want the cached 768, tiny-seed", enc.Dim(), enc.ModelName())
	}
}

// Close while other goroutines encode: each call either succeeds with the
// right vector or returns ErrClosed; nothing crashes, and the race detector
// sees the handle guarded.
func TestCloseWhileEncoding(t *testing.T) {
	enc, err := kse.New(kse.Options{ModelDir: testModelDir(t, "tiny-seed"), Sessions: 2})
	if err != nil {
		t.Fatal(err)
	}
	want, err := enc.Encode([]string{"경쟁 조건"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			<-start
			for {
				got, err := enc.Encode([]string{"경쟁 조건"})
				if errors.Is(err, kse.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Encode: %v", err)
					return
				}
				if d := maxAbsDiff(got[0], want[0]); d > 1e-6 {
					t.Errorf("vector differs by %g", d)
					return
				}
			}
		})
	}
	close(start)
	for i := 0; i < 10; i++ { // let the workers get going
		if _, err := enc.Tokenize("잠깐"); err != nil {
			t.Fatal(err)
		}
	}
	enc.Close()
	wg.Wait()
}
