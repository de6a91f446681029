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
