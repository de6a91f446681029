package kse_test

import (
	"fmt"
	"log"

	kse "github.com/kse-project/kse/bindings/go"
)

func ExampleEncoder_Encode() {
	// Options{} loads the default model, kse-ko-small; name another with
	// Options{ModelDir: "models/..."}.
	enc, err := kse.New(kse.Options{})
	if err != nil {
		log.Fatal(err) // e.g. kse: KSE_ERR_MODEL_NOT_FOUND: ... (run `make setup`)
	}
	defer enc.Close()

	query := "한 남자가 기타를 치고 있다."
	candidates := []string{"한 여자가 양파를 썰고 있다.", "남자가 기타를 연주한다.", "오늘 날씨 정말 좋다"}
	vecs, err := enc.Encode(append([]string{query}, candidates...))
	if err != nil {
		log.Fatal(err)
	}
	// The vectors are L2-normalised: the dot product is the cosine.
	best, bestCos := 0, -2.0
	for i := range candidates {
		cos := 0.0
		for k, x := range vecs[0] {
			cos += float64(x) * float64(vecs[1+i][k])
		}
		if cos > bestCos {
			best, bestCos = i, cos
		}
	}
	fmt.Printf("%s, %d-d\n", enc.ModelName(), enc.Dim())
	fmt.Println("closest:", candidates[best])
	// Output:
	// kse-ko-small, 384-d
	// closest: 남자가 기타를 연주한다.
}

func ExampleEncoder_EncodeChunks() {
	enc, err := kse.New(kse.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer enc.Close()

	doc := "첫 번째 문장입니다. 두 번째 문장은 조금 더 길게 이어집니다.\n세 번째 줄입니다."
	// Chunks of at most 16 tokens (special and prefix tokens included),
	// cut at sentence ends, sharing no tokens.
	chunks, err := enc.EncodeChunks(doc, 16, 0)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range chunks {
		fmt.Printf("[%d:%d] %d tokens, %d-d: %s\n", c.Start, c.End, c.Tokens, len(c.Vector), doc[c.Start:c.End])
	}
	// Output:
	// [0:27] 11 tokens, 384-d: 첫 번째 문장입니다.
	// [28:83] 16 tokens, 384-d: 두 번째 문장은 조금 더 길게 이어집니다.
	// [84:108] 10 tokens, 384-d: 세 번째 줄입니다.
}
