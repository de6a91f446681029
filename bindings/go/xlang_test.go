package kse_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Cross-language agreement: the sentences of target/xlang/sentences.txt,
// encoded through this binding with the default model, equal the embeddings
// of the independent Python pipeline (target/xlang/reference.f32) within 1e-5.
func TestCrossLanguageReference(t *testing.T) {
	dir := filepath.Join(repoRoot, "target", "xlang")
	for _, f := range []string{"sentences.txt", "reference.json", "reference.f32"} {
		requirePath(t, filepath.Join(dir, f), "make xlang-reference")
	}
	text, err := os.ReadFile(filepath.Join(dir, "sentences.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// One sentence per line; the last line ends with "\n". Empty and
	// whitespace-only lines are sentences too.
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")

	var meta struct {
		N         int      `json:"n"`
		Dim       int      `json:"dim"`
		Sentences []string `json:"sentences"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatalf("reference.json: %v", err)
	}
	if meta.N != len(lines) || len(meta.Sentences) != len(lines) {
		t.Fatalf("sentences.txt has %d lines, reference.json says n=%d with %d sentences", len(lines), meta.N, len(meta.Sentences))
	}
	for i := range lines {
		if lines[i] != meta.Sentences[i] {
			t.Fatalf("line %d of sentences.txt differs from reference.json", i)
		}
	}

	enc := defaultEncoder(t)
	if meta.Dim != enc.Dim() {
		t.Fatalf("reference is %d-d, the default model %d-d", meta.Dim, enc.Dim())
	}
	refBytes, err := os.ReadFile(filepath.Join(dir, "reference.f32"))
	if err != nil {
		t.Fatal(err)
	}
	if len(refBytes) != 4*meta.N*meta.Dim {
		t.Fatalf("reference.f32 holds %d bytes, want %d x %d float32", len(refBytes), meta.N, meta.Dim)
	}
	ref := make([]float32, meta.N*meta.Dim)
	for i := range ref {
		ref[i] = math.Float32frombits(binary.LittleEndian.Uint32(refBytes[4*i:]))
	}

	got := make([]float32, len(ref))
	stats, err := enc.EncodeIntoStats(got, lines)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Truncated != 1 {
		t.Fatalf("stats %+v: the reference holds exactly one sentence over 512 tokens", stats)
	}
	worst := maxAbsDiff(got, ref)
	t.Logf("Go: %d sentences, max abs difference vs Python reference %g", meta.N, worst)
	if !(worst <= 1e-5) {
		for i := 0; i < meta.N; i++ {
			if d := maxAbsDiff(got[i*meta.Dim:(i+1)*meta.Dim], ref[i*meta.Dim:(i+1)*meta.Dim]); d > 1e-5 {
				t.Errorf("sentence %d %q differs by %g", i, lines[i], d)
			}
		}
		t.Fatalf("max abs difference %g > 1e-5", worst)
	}
}
