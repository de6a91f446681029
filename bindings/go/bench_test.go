package kse_test

import (
	"testing"

	kse "github.com/kse-project/kse/bindings/go"
)

// The cost of crossing into C, to compare with the cost of encoding:
//
//	go test -run '^$' -bench . -benchmem
//
// BenchmarkCgoCall is a bare cgo call (kse_version_number); BenchmarkEncodeEmpty
// is the whole EncodeInto path for zero texts (pool, lock, cgo call, handle
// check in libkse); BenchmarkEncodeOne encodes one short sentence.

func BenchmarkCgoCall(b *testing.B) {
	for b.Loop() {
		if kse.VersionNumber() == 0 {
			b.Fatal("version 0")
		}
	}
}

func BenchmarkEncodeEmpty(b *testing.B) {
	enc := tinyEncoder(b)
	for b.Loop() {
		if err := enc.EncodeInto(nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEncodeOne(b *testing.B, enc *kse.Encoder) {
	dst := make([]float32, enc.Dim())
	texts := []string{"한 남자가 기타를 치고 있다."}
	for b.Loop() {
		if err := enc.EncodeInto(dst, texts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeOne(b *testing.B) {
	b.Run("tiny-e5", func(b *testing.B) { benchEncodeOne(b, tinyEncoder(b)) })
	b.Run("default", func(b *testing.B) { benchEncodeOne(b, defaultEncoder(b)) })
}

func BenchmarkEncodeBatch32Default(b *testing.B) {
	enc := defaultEncoder(b)
	texts := make([]string, 32)
	for i := range texts {
		texts[i] = sentences[i%len(sentences)]
	}
	dst := make([]float32, len(texts)*enc.Dim())
	for b.Loop() {
		if err := enc.EncodeInto(dst, texts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenize(b *testing.B) {
	enc := defaultEncoder(b)
	for b.Loop() {
		if _, err := enc.Tokenize("한 남자가 기타를 치고 있다."); err != nil {
			b.Fatal(err)
		}
	}
}
