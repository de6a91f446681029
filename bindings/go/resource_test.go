package kse_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	kse "github.com/kse-project/kse/bindings/go"
)

const mib = 1 << 20

// Creating and closing encoders returns their memory: after a warm-up, RSS
// grows by less than 48 MiB over 40 more create+encode+Close cycles (one
// tiny-seed encoder alone takes about 30 MiB, so leaking even a part of each
// shows).
func TestCreateCloseReleasesMemory(t *testing.T) {
	dir := testModelDir(t, "tiny-seed")
	base := kse.LiveEncoders()
	cycle := func() {
		enc, err := kse.New(kse.Options{ModelDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := enc.Encode([]string{"만들고 닫기", "create and close"}); err != nil {
			t.Fatal(err)
		}
		enc.Close()
	}
	for i := 0; i < 10; i++ {
		cycle()
	}
	runtime.GC()
	before := rssBytes(t)
	for i := 0; i < 40; i++ {
		cycle()
	}
	runtime.GC()
	after := rssBytes(t)
	t.Logf("RSS %d MiB -> %d MiB over 40 create/Close cycles", before/mib, after/mib)
	if after-before > 48*mib {
		t.Fatalf("RSS grew by %d MiB over 40 create/Close cycles (bound 48 MiB)", (after-before)/mib)
	}
	if live := kse.LiveEncoders(); live != base {
		t.Fatalf("%d encoders still live after Close, want %d", live, base)
	}
}

// Encoders dropped without Close are freed by their cleanup once the garbage
// collector finds them unreachable.
func TestCleanupFreesDroppedEncoders(t *testing.T) {
	dir := testModelDir(t, "tiny-seed")
	base := kse.LiveEncoders()
	for i := 0; i < 5; i++ {
		enc, err := kse.New(kse.Options{ModelDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := enc.Encode([]string{"버려진 인코더"}); err != nil {
			t.Fatal(err)
		}
		// enc is dropped here without Close.
	}
	if live := kse.LiveEncoders(); live != base+5 {
		t.Fatalf("%d live encoders, want %d", live, base+5)
	}
	deadline := time.Now().Add(10 * time.Second)
	for kse.LiveEncoders() != base {
		if time.Now().After(deadline) {
			t.Fatalf("%d encoders still live 10 s after being dropped; the cleanup did not free them", kse.LiveEncoders()-base)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// Encoding 100,000 short sentences (1,000 calls of 100) with one tiny-e5
// encoder leaves RSS within 32 MiB of where it was after the first 10,000:
// the packing buffers, outputs and libkse's per-call memory are all released.
func TestManySentencesBoundedMemory(t *testing.T) {
	enc := tinyEncoder(t)
	const batch, calls = 100, 1000
	texts := make([]string, batch)
	dst := make([]float32, batch*enc.Dim())
	run := func(from, to int) {
		for c := from; c < to; c++ {
			for i := range texts {
				texts[i] = fmt.Sprintf("문장 %d번: 짧은 예시", c*batch+i)
			}
			if c%2 == 0 {
				if err := enc.EncodeInto(dst, texts); err != nil {
					t.Fatal(err)
				}
			} else if _, err := enc.Encode(texts); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(0, 100)
	runtime.GC()
	before := rssBytes(t)
	run(100, calls)
	runtime.GC()
	after := rssBytes(t)
	t.Logf("RSS %d MiB -> %d MiB over %d more sentences", before/mib, after/mib, (calls-100)*batch)
	if after-before > 32*mib {
		t.Fatalf("RSS grew by %d MiB while encoding %d sentences (bound 32 MiB)", (after-before)/mib, (calls-100)*batch)
	}
}
