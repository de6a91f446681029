package kse_test

import (
	"fmt"
	"sync"
	"testing"

	kse "github.com/kse-project/kse/bindings/go"
)

// hammer runs goroutines x calls Encode calls on one encoder at once, each on
// a different slice of the test sentences, and checks every vector against
// the sentence encoded alone beforehand.
func hammer(t *testing.T, enc *kse.Encoder, goroutines, calls int) {
	want := make([][]float32, len(sentences))
	for i, s := range sentences {
		v, err := enc.Encode([]string{s})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = v[0]
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Go(func() {
			dst := make([]float32, 3*enc.Dim())
			for c := 0; c < calls; c++ {
				// 1 to 3 texts starting at a sentence that depends on g and c.
				k := 1 + (g+c)%3
				idx := make([]int, k)
				texts := make([]string, k)
				for j := range idx {
					idx[j] = (g*7 + c*5 + j*3) % len(sentences)
					texts[j] = sentences[idx[j]]
				}
				var err error
				var rows [][]float32
				if c%2 == 0 {
					rows, err = enc.Encode(texts)
				} else { // EncodeInto reusing one buffer per goroutine
					err = enc.EncodeInto(dst, texts)
					for j := range texts {
						rows = append(rows, dst[j*enc.Dim():(j+1)*enc.Dim()])
					}
				}
				if err != nil {
					errs <- fmt.Errorf("goroutine %d call %d: %w", g, c, err)
					return
				}
				for j, i := range idx {
					if d := maxAbsDiff(rows[j], want[i]); d > 1e-6 {
						errs <- fmt.Errorf("goroutine %d call %d: sentence %d differs by %g", g, c, i, d)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestConcurrentTiny(t *testing.T) {
	hammer(t, tinyEncoder(t), 32, 100)
}

func TestConcurrentDefault(t *testing.T) {
	hammer(t, defaultEncoder(t), 8, 4)
}
