package kse_test

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	kse "github.com/kse-project/kse/bindings/go"
)

// longReference is target/xlang/long/, written by
// tests/xlang/make_long_reference.py from the independent Python reference
// of docs/long-inputs.md on the default model.
type longReference struct {
	docs          []string
	dim           int
	windowOverlap int
	chunkTokens   int
	chunkOverlap  int
	counts        []int       // count_tokens per document
	windows       []int       // windows per document under KSE_WINDOW
	window        []float32   // [documents, dim]: the window-mode vectors
	chunks        [][]refSpan // per document, in order
	chunkVecs     []float32   // [chunks, dim], in chunks.tsv order
}

type refSpan struct{ start, end, tokens int }

func readLongReference(t *testing.T) *longReference {
	t.Helper()
	dir := filepath.Join(repoRoot, "target", "xlang", "long")
	for _, f := range []string{"params.txt", "counts.txt", "windows.txt", "window.f32", "chunks.tsv", "chunks.f32"} {
		requirePath(t, filepath.Join(dir, f), "make xlang-reference")
	}
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	atoi := func(what, s string) int {
		t.Helper()
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%s: %q is not an integer", what, s)
		}
		return n
	}
	lines := func(name string) []string {
		return strings.Split(strings.TrimSuffix(string(read(name)), "\n"), "\n")
	}
	ints := func(name string) []int {
		var out []int
		for _, l := range lines(name) {
			out = append(out, atoi(name, l))
		}
		return out
	}
	floats := func(name string) []float32 {
		b := read(name)
		if len(b)%4 != 0 {
			t.Fatalf("%s holds %d bytes, not whole float32s", name, len(b))
		}
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out
	}

	params := map[string]int{}
	for _, l := range lines("params.txt") {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("params.txt: %q is not key=value", l)
		}
		params[k] = atoi("params.txt "+k, v)
	}
	for _, k := range []string{"documents", "dim", "window_overlap", "chunk_tokens", "chunk_overlap"} {
		if _, ok := params[k]; !ok {
			t.Fatalf("params.txt has no %s", k)
		}
	}
	r := &longReference{
		dim:           params["dim"],
		windowOverlap: params["window_overlap"],
		chunkTokens:   params["chunk_tokens"],
		chunkOverlap:  params["chunk_overlap"],
		counts:        ints("counts.txt"),
		windows:       ints("windows.txt"),
		window:        floats("window.f32"),
		chunkVecs:     floats("chunks.f32"),
	}
	n := params["documents"]
	for i := 0; i < n; i++ {
		r.docs = append(r.docs, string(read("doc"+strconv.Itoa(i)+".txt")))
	}
	if len(r.counts) != n || len(r.windows) != n || len(r.window) != n*r.dim {
		t.Fatalf("counts.txt %d lines, windows.txt %d lines, window.f32 %d floats; want %d documents of %d-d",
			len(r.counts), len(r.windows), len(r.window), n, r.dim)
	}
	r.chunks = make([][]refSpan, n)
	total := 0
	for _, l := range lines("chunks.tsv") {
		f := strings.Split(l, "\t")
		if len(f) != 4 {
			t.Fatalf("chunks.tsv: %q does not have 4 fields", l)
		}
		d := atoi("chunks.tsv document", f[0])
		if d < 0 || d >= n {
			t.Fatalf("chunks.tsv: document %d of %d", d, n)
		}
		r.chunks[d] = append(r.chunks[d], refSpan{atoi("start", f[1]), atoi("end", f[2]), atoi("tokens", f[3])})
		total++
	}
	if len(r.chunkVecs) != total*r.dim {
		t.Fatalf("chunks.f32 holds %d floats, want %d chunks x %d", len(r.chunkVecs), total, r.dim)
	}
	return r
}

// windowCount is the number of windows docs/long-inputs.md gives a text of
// docTokens document tokens, with room document tokens per window and
// overlap: 1 when it fits, else the first k with k(room-overlap)+room >= L, plus 1.
func windowCount(docTokens, room, overlap int) int {
	if docTokens <= room {
		return 1
	}
	k := 0
	for k*(room-overlap)+room < docTokens {
		k++
	}
	return k + 1
}

// specialAndPrefix is S + P of docs/long-inputs.md for the default model
// and tiny-e5 (the e5 tokenizer, prefix "query: "): <s>, "query:" in 3
// tokens, </s>. ("" itself counts 6: the prefix's trailing space is a token.)
// TestLongErrors checks it: 5 is the largest chunkTokens refused.
const specialAndPrefix = 5

func wantStatus(t *testing.T, what string, err error, want kse.Status) {
	t.Helper()
	var kerr *kse.Error
	if !errors.As(err, &kerr) || kerr.Status != want {
		t.Fatalf("%s: err = %v; want *kse.Error with %v", what, err, want)
	}
	if kerr.Message == "" {
		t.Fatalf("%s: %v has no message", what, err)
	}
}

// Cross-language agreement on long inputs: token counts, window-mode
// vectors and their window counts, and chunks (ranges, token counts and
// vectors) through this binding equal the Python reference.
func TestLongReference(t *testing.T) {
	ref := readLongReference(t)
	enc := defaultEncoder(t)
	if ref.dim != enc.Dim() {
		t.Fatalf("reference is %d-d, the default model %d-d", ref.dim, enc.Dim())
	}
	fixed := specialAndPrefix
	room := enc.MaxTokens() - fixed

	t.Run("CountTokens", func(t *testing.T) {
		for i, d := range ref.docs {
			got, err := enc.CountTokens(d)
			if err != nil {
				t.Fatalf("doc%d: %v", i, err)
			}
			if got != ref.counts[i] {
				t.Errorf("doc%d (%d bytes): CountTokens = %d, reference %d", i, len(d), got, ref.counts[i])
			}
			// The reference's window counts follow from the token counts.
			if w := windowCount(ref.counts[i]-fixed, room, ref.windowOverlap); w != ref.windows[i] {
				t.Errorf("doc%d: %d tokens make %d windows of %d overlapping by %d, windows.txt says %d",
					i, ref.counts[i], w, room, ref.windowOverlap, ref.windows[i])
			}
		}
	})

	t.Run("Window", func(t *testing.T) {
		opts := kse.Options{ModelDir: defaultModelDir(t), Long: kse.LongWindow, WindowOverlap: ref.windowOverlap}
		if ref.windowOverlap == 0 {
			opts.WindowOverlap = kse.WindowOverlapNone
		}
		win := newEncoder(t, opts)
		got := make([]float32, len(ref.window))
		stats, err := win.EncodeIntoStats(got, ref.docs)
		if err != nil {
			t.Fatal(err)
		}
		want := kse.Stats{}
		for _, k := range ref.windows {
			if k > 1 {
				want.Windowed++
				want.Windows += k
			}
		}
		if stats.Windowed != want.Windowed || stats.Windows != want.Windows || stats.Truncated != 0 {
			t.Errorf("stats %+v; want Windowed %d, Windows %d (windows.txt %v), Truncated 0",
				stats, want.Windowed, want.Windows, ref.windows)
		}
		if want.Windowed == 0 {
			t.Fatal("the reference has no document over MaxTokens")
		}
		worst := maxAbsDiff(got, ref.window)
		t.Logf("Go: %d documents in %d windows, max abs difference vs Python reference %g", len(ref.docs), stats.Windows, worst)
		if !(worst <= 1e-5) {
			for i := range ref.docs {
				if d := maxAbsDiff(got[i*ref.dim:(i+1)*ref.dim], ref.window[i*ref.dim:(i+1)*ref.dim]); d > 1e-5 {
					t.Errorf("doc%d differs by %g", i, d)
				}
			}
			t.Fatalf("max abs difference %g > 1e-5", worst)
		}
		// One document at a time: its own window count.
		for i, d := range ref.docs {
			st, err := win.EncodeIntoStats(got[:ref.dim], []string{d})
			if err != nil {
				t.Fatal(err)
			}
			wantWindowed, wantWindows := 0, 0
			if ref.windows[i] > 1 {
				wantWindowed, wantWindows = 1, ref.windows[i]
			}
			if st.Windowed != wantWindowed || st.Windows != wantWindows || st.Truncated != 0 {
				t.Errorf("doc%d alone: stats %+v; want Windowed %d, Windows %d", i, st, wantWindowed, wantWindows)
			}
			if d := maxAbsDiff(got[:ref.dim], ref.window[i*ref.dim:(i+1)*ref.dim]); d > 1e-5 {
				t.Errorf("doc%d alone differs by %g", i, d)
			}
		}

		// The default policy cuts the same documents instead.
		st, err := enc.EncodeIntoStats(got, ref.docs)
		if err != nil {
			t.Fatal(err)
		}
		if st.Truncated != want.Windowed || st.Windowed != 0 || st.Windows != 0 {
			t.Errorf("LongTruncate: stats %+v; want Truncated %d and no windows", st, want.Windowed)
		}
	})

	t.Run("EncodeChunks", func(t *testing.T) {
		row := 0
		worst := 0.0
		for i, d := range ref.docs {
			got, err := enc.EncodeChunks(d, ref.chunkTokens, ref.chunkOverlap)
			if err != nil {
				t.Fatalf("doc%d: %v", i, err)
			}
			want := ref.chunks[i]
			if got == nil || len(got) != len(want) {
				t.Fatalf("doc%d: %d chunks (nil: %v), reference %d", i, len(got), got == nil, len(want))
			}
			ranges, err := enc.Chunks(d, ref.chunkTokens, ref.chunkOverlap)
			if err != nil {
				t.Fatalf("doc%d: Chunks: %v", i, err)
			}
			if len(ranges) != len(want) {
				t.Fatalf("doc%d: Chunks gives %d chunks, EncodeChunks %d", i, len(ranges), len(got))
			}
			for j, c := range got {
				w := want[j]
				if c.Start != w.start || c.End != w.end || c.Tokens != w.tokens {
					t.Errorf("doc%d chunk %d: [%d, %d) %d tokens; reference [%d, %d) %d tokens",
						i, j, c.Start, c.End, c.Tokens, w.start, w.end, w.tokens)
				}
				if r := ranges[j]; r.Start != c.Start || r.End != c.End || r.Tokens != c.Tokens || r.Vector != nil {
					t.Errorf("doc%d chunk %d: Chunks gives %+v, EncodeChunks [%d, %d) %d tokens", i, j, r, c.Start, c.End, c.Tokens)
				}
				if c.Tokens > ref.chunkTokens {
					t.Errorf("doc%d chunk %d: %d tokens > chunkTokens %d", i, j, c.Tokens, ref.chunkTokens)
				}
				// doc[c.Start:c.End] is the chunk's text: whole characters, trimmed.
				text := d[c.Start:c.End]
				if !utf8.ValidString(text) || text == "" || strings.TrimFunc(text, unicode.IsSpace) != text {
					t.Errorf("doc%d chunk %d: text %q is not whole trimmed characters", i, j, text)
				}
				if len(c.Vector) != enc.Dim() || cap(c.Vector) != enc.Dim() {
					t.Fatalf("doc%d chunk %d: vector len %d cap %d, want %d", i, j, len(c.Vector), cap(c.Vector), enc.Dim())
				}
				worst = max(worst, maxAbsDiff(c.Vector, ref.chunkVecs[row*ref.dim:(row+1)*ref.dim]))
				row++
			}
		}
		t.Logf("Go: %d chunks, max abs difference vs Python reference %g", row, worst)
		if !(worst <= 1e-5) {
			t.Fatalf("chunk vectors: max abs difference %g > 1e-5", worst)
		}
	})
}

func TestLongErrors(t *testing.T) {
	enc := defaultEncoder(t)
	const doc = "짧은 문장 하나. 그리고 두 번째 문장이 있다."

	t.Run("InvalidUTF8", func(t *testing.T) {
		bad := "깨진 \xff\xfe 문장"
		_, err := enc.CountTokens(bad)
		wantStatus(t, "CountTokens(invalid UTF-8)", err, kse.StatusInvalidUTF8)
		_, err = enc.EncodeChunks(bad, 0, 0)
		wantStatus(t, "EncodeChunks(invalid UTF-8)", err, kse.StatusInvalidUTF8)
		_, err = enc.Chunks("\xc3\x28", 64, 4)
		wantStatus(t, "Chunks(invalid UTF-8)", err, kse.StatusInvalidUTF8)
	})

	t.Run("ChunkArguments", func(t *testing.T) {
		for _, tc := range []struct {
			name                 string
			chunkTokens, overlap int
		}{
			{"chunkTokens above MaxTokens", enc.MaxTokens() + 1, 0},
			{"chunkTokens = special + prefix tokens", specialAndPrefix, 0},
			{"chunkTokens below special + prefix tokens", 3, 0},
			{"overlap = room", 128, 123},
			{"overlap above room", 128, 500},
			{"overlap = room of MaxTokens", 0, enc.MaxTokens() - specialAndPrefix},
			{"negative chunkTokens", -1, 0},
			{"negative overlap", 128, -1},
		} {
			_, err := enc.EncodeChunks(doc, tc.chunkTokens, tc.overlap)
			wantStatus(t, tc.name+": EncodeChunks", err, kse.StatusInvalidArgument)
			_, err = enc.Chunks(doc, tc.chunkTokens, tc.overlap)
			wantStatus(t, tc.name+": Chunks", err, kse.StatusInvalidArgument)
		}
		// The limits themselves are fine.
		for _, tc := range []struct{ chunkTokens, overlap int }{
			{enc.MaxTokens(), 0}, {0, enc.MaxTokens() - specialAndPrefix - 1}, {128, 122}, {specialAndPrefix + 1, 0},
		} {
			chunks, err := enc.Chunks(doc, tc.chunkTokens, tc.overlap)
			if err != nil {
				t.Fatalf("Chunks(doc, %d, %d): %v", tc.chunkTokens, tc.overlap, err)
			}
			if len(chunks) == 0 {
				t.Fatalf("Chunks(doc, %d, %d): no chunks", tc.chunkTokens, tc.overlap)
			}
		}
		// One document token per chunk: one chunk per token, each a row of 6.
		n, err := enc.CountTokens(doc)
		if err != nil {
			t.Fatal(err)
		}
		chunks, err := enc.EncodeChunks(doc, specialAndPrefix+1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunks) != n-specialAndPrefix {
			t.Fatalf("chunkTokens 6: %d chunks for %d document tokens", len(chunks), n-specialAndPrefix)
		}
		for j, c := range chunks {
			if c.Tokens != specialAndPrefix+1 || (j > 0 && c.Start < chunks[j-1].Start) {
				t.Fatalf("chunkTokens 6: chunk %d is %+v (previous %+v)", j, c, chunks[max(j-1, 0)])
			}
		}
	})

	t.Run("Empty", func(t *testing.T) {
		for _, d := range []string{"", " ", " \n\t\u3000 "} {
			for _, vectors := range []bool{true, false} {
				var chunks []kse.Chunk
				var err error
				if vectors {
					chunks, err = enc.EncodeChunks(d, 0, 0)
				} else {
					chunks, err = enc.Chunks(d, 128, 16)
				}
				if err != nil || chunks == nil || len(chunks) != 0 {
					t.Fatalf("%q (vectors %v): %d chunks (nil: %v), err %v; want an empty slice and no error",
						d, vectors, len(chunks), chunks == nil, err)
				}
			}
		}
		// "" still has ids: the special and prefix tokens, and the prefix's
		// trailing space; CountTokens is what Tokenize returns.
		n, err := enc.CountTokens("")
		ids, err2 := enc.Tokenize("")
		if err != nil || err2 != nil || n != len(ids) || n <= specialAndPrefix {
			t.Fatalf("CountTokens(\"\") = %d, %v; Tokenize(\"\") = %v, %v", n, err, ids, err2)
		}
	})

	t.Run("Options", func(t *testing.T) {
		dir := defaultModelDir(t)
		for _, tc := range []struct {
			name string
			opts kse.Options
		}{
			{"WindowOverlap = room (507)", kse.Options{ModelDir: dir, Long: kse.LongWindow, WindowOverlap: enc.MaxTokens() - specialAndPrefix}},
			{"WindowOverlap above room", kse.Options{ModelDir: dir, Long: kse.LongWindow, WindowOverlap: 10000}},
			{"WindowOverlap negative", kse.Options{ModelDir: dir, Long: kse.LongWindow, WindowOverlap: -2}},
			{"WindowOverlap above uint32", kse.Options{ModelDir: dir, Long: kse.LongWindow, WindowOverlap: math.MaxInt}},
			{"unknown Long", kse.Options{ModelDir: dir, Long: kse.LongPolicy(7)}},
			{"NoTruncate with LongWindow", kse.Options{ModelDir: dir, Long: kse.LongWindow, NoTruncate: true}},
		} {
			e, err := kse.New(tc.opts)
			if e != nil {
				e.Close()
			}
			wantStatus(t, tc.name+": New", err, kse.StatusInvalidArgument)
			t.Logf("%s: %v", tc.name, err)
		}
		// The overlap applies only to windows.
		e := newEncoder(t, kse.Options{ModelDir: testModelDir(t, "tiny-seed"), WindowOverlap: 10000})
		if _, err := e.Encode([]string{doc}); err != nil {
			t.Fatalf("LongTruncate ignores WindowOverlap: %v", err)
		}
		if got := policyNames(kse.LongTruncate, kse.LongError, kse.LongWindow, kse.LongPolicy(9)); got != "truncate error window LongPolicy(9)" {
			t.Fatalf("LongPolicy names: %q", got)
		}
	})
}

func policyNames(ps ...kse.LongPolicy) string {
	var names []string
	for _, p := range ps {
		names = append(names, p.String())
	}
	return strings.Join(names, " ")
}

// The policies and the window overlap reach the library: window counts
// follow the overlap asked for (tiny-e5: the e5 tokenizer, 512 max tokens, 16-d).
func TestLongPolicies(t *testing.T) {
	dir := testModelDir(t, "tiny-e5")
	probe := tinyEncoder(t)
	fixed := specialAndPrefix
	room := probe.MaxTokens() - fixed
	// A text of L document tokens with 2*room - 32 < L <= 2*room: two
	// windows without overlap, three with the default overlap of 32.
	var b strings.Builder
	n := 0
	for i := 0; n-fixed <= 2*room-32; i++ {
		b.WriteString(sentences[i%len(sentences)])
		b.WriteString(" ")
		var err error
		if n, err = probe.CountTokens(b.String()); err != nil {
			t.Fatal(err)
		}
	}
	long := b.String()
	if n-fixed > 2*room {
		t.Fatalf("the test text has %d document tokens; want %d to %d", n-fixed, 2*room-31, 2*room)
	}
	for _, tc := range []struct {
		name    string
		opts    kse.Options
		overlap int
	}{
		{"default overlap", kse.Options{Long: kse.LongWindow}, 32},                                        // 3 windows
		{"WindowOverlapNone", kse.Options{Long: kse.LongWindow, WindowOverlap: kse.WindowOverlapNone}, 0}, // 2
		{"WindowOverlap 400", kse.Options{Long: kse.LongWindow, WindowOverlap: 400}, 400},                 // 6
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.ModelDir = dir
			e := newEncoder(t, tc.opts)
			st, err := e.EncodeIntoStats(make([]float32, 2*e.Dim()), []string{long, "짧은 문장"})
			if err != nil {
				t.Fatal(err)
			}
			want := windowCount(n-fixed, room, tc.overlap)
			if st.Windowed != 1 || st.Windows != want || st.Truncated != 0 {
				t.Fatalf("stats %+v; want Windowed 1, Windows %d (%d tokens, %d per window, overlap %d)",
					st, want, n, room, tc.overlap)
			}
			// Tokenize gives the first window's ids; CountTokens the whole count.
			ids, err := e.Tokenize(long)
			if err != nil || len(ids) != e.MaxTokens() {
				t.Fatalf("Tokenize: %d ids, %v; want MaxTokens", len(ids), err)
			}
			if c, err := e.CountTokens(long); err != nil || c != n {
				t.Fatalf("CountTokens = %d, %v; want %d", c, err, n)
			}
		})
	}
	// LongError refuses the text but still counts and chunks it; NoTruncate
	// (the older spelling) does the same.
	for _, opts := range []kse.Options{{Long: kse.LongError}, {NoTruncate: true}} {
		opts.ModelDir = dir
		e := newEncoder(t, opts)
		_, err := e.Encode([]string{long})
		wantStatus(t, "LongError: Encode", err, kse.StatusInputTooLong)
		if c, err := e.CountTokens(long); err != nil || c != n {
			t.Fatalf("%+v: CountTokens = %d, %v; want %d", opts, c, err, n)
		}
		chunks, err := e.EncodeChunks(long, 0, 0)
		if err != nil || len(chunks) < 2 {
			t.Fatalf("%+v: EncodeChunks: %d chunks, %v; want at least 2 (%d tokens)", opts, len(chunks), err, n)
		}
	}
}

func TestLongAfterClose(t *testing.T) {
	enc, err := kse.New(kse.Options{ModelDir: testModelDir(t, "tiny-seed")})
	if err != nil {
		t.Fatal(err)
	}
	enc.Close()
	_, err = enc.CountTokens("닫은 뒤")
	if !errors.Is(err, kse.ErrClosed) {
		t.Fatalf("CountTokens after Close: %v; want ErrClosed", err)
	}
	_, err = enc.EncodeChunks("닫은 뒤", 0, 0)
	if !errors.Is(err, kse.ErrClosed) {
		t.Fatalf("EncodeChunks after Close: %v; want ErrClosed", err)
	}
	_, err = enc.Chunks("닫은 뒤", 0, 0)
	if !errors.Is(err, kse.ErrClosed) {
		t.Fatalf("Chunks after Close: %v; want ErrClosed", err)
	}
}
