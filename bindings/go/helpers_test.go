package kse_test

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	kse "github.com/kse-project/kse/bindings/go"
)

// repoRoot is the kse checkout this package sits in (bindings/go).
var repoRoot = func() string {
	abs, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return abs
}()

// requireDir fails the test unless dir/file exists, naming the setup step.
func requirePath(t testing.TB, path, setup string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing (%v): run `%s` in %s first", path, err, setup, repoRoot)
	}
	return path
}

// defaultModelName is the model libkse loads when given no directory.
const defaultModelName = "kse-ko-small"

func defaultModelDir(t testing.TB) string {
	dir := filepath.Join(repoRoot, "models", defaultModelName)
	requirePath(t, filepath.Join(dir, "kse.json"), "make setup")
	return dir
}

func testModelDir(t testing.TB, name string) string {
	dir := filepath.Join(repoRoot, "target", "test-models", name)
	requirePath(t, filepath.Join(dir, "kse.json"), "make test-models")
	return dir
}

func newEncoder(t testing.TB, opts kse.Options) *kse.Encoder {
	t.Helper()
	enc, err := kse.New(opts)
	if err != nil {
		t.Fatalf("kse.New(%+v): %v", opts, err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

// sharedEncoder loads an encoder once per test binary and never closes it:
// the default model and tiny-e5 (which carries the full e5 tokenizer) take
// seconds and hundreds of MiB to load.
type sharedEncoder struct {
	once sync.Once
	enc  *kse.Encoder
	err  error
}

func (s *sharedEncoder) get(t testing.TB, opts kse.Options) *kse.Encoder {
	t.Helper()
	s.once.Do(func() { s.enc, s.err = kse.New(opts) })
	if s.err != nil {
		t.Fatalf("kse.New(%+v): %v", opts, s.err)
	}
	return s.enc
}

var sharedDefault, sharedTiny sharedEncoder

// defaultEncoder is the default model with default options.
func defaultEncoder(t testing.TB) *kse.Encoder {
	return sharedDefault.get(t, kse.Options{ModelDir: defaultModelDir(t)})
}

// tinyEncoder is tiny-e5 (16-d) with 4 sessions of 1 thread each.
func tinyEncoder(t testing.TB) *kse.Encoder {
	return sharedTiny.get(t, kse.Options{ModelDir: testModelDir(t, "tiny-e5"), Sessions: 4, IntraThreads: 1})
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	worst := 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if d > worst || math.IsNaN(d) {
			worst = d
		}
	}
	return worst
}

func dot(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// rssBytes is this process's resident set size from /proc/self/status.
func rssBytes(t testing.TB) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatalf("reading RSS: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("parsing VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// Korean test sentences of varied length and script.
var sentences = []string{
	"한 남자가 기타를 치고 있다.",
	"남자가 기타를 연주한다.",
	"한 여자가 양파를 썰고 있다.",
	"다만, 도로와 인접해서 거리의 소음이 들려요.",
	"하지만, 길과 가깝기 때문에 거리의 소음을 들을 수 있습니다.",
	"형이 다시 캐나다 들어가야 하니 가족모임 일정은 바꾸지 마세요.",
	"가족 모임 일정은 바꾸지 말도록 하십시오.",
	"오늘 날씨 정말 좋다 😊👍",
	"",
	"   ",
	"ㅋㅋㅋㅋ",
	"KTX 3호차 12A석, 서울→부산 09:30 출발 (₩59,800)",
	"관광자원화 검토를 모범적으로 적용한 지자체에는 홍보·컨설팅, 관광상품 개발 지원 등을 제공할 계획이다.",
	"아울러 지자체, 지역관광협회 등과 함께 수시로 관광지 현장을 점검할 계획이다.",
	"a",
	"大韓民國 憲法",
}
