// Command similarity embeds the seed model card's example sentences with kse
// and prints the 4 x 4 cosine similarity matrix between the two groups, like
// examples/c/similarity.c.
//
//	similarity [MODEL_DIR]
//
// Without MODEL_DIR it uses libkse's default model, kse-ko-small
// (kse.Options{} with ModelDir empty): $KSE_MODEL_DIR if set, else
// models/kse-ko-small of the build tree or share/kse/models/kse-ko-small of
// the installed tree that libkse sits in, so it works from any working
// directory.
package main

import (
	"fmt"
	"os"

	kse "github.com/kse-project/kse/bindings/go"
)

var groups = [2][4]string{
	{
		"다만, 도로와 인접해서 거리의 소음이 들려요.",
		"형이 다시 캐나다 들어가야 하니 가족모임 일정은 바꾸지 마세요.",
		"방안에 필요한 시설이 모두 있어서 매우 편리합니다.",
		"관광자원화 검토를 모범적으로 적용한 지자체에는 홍보·컨설팅, 관광상품 개발 지원 등을 제공할 계획이다.",
	},
	{
		"하지만, 길과 가깝기 때문에 거리의 소음을 들을 수 있습니다.",
		"가족 모임 일정은 바꾸지 말도록 하십시오.",
		"특히, 숙소 근처에 안전한 실내 주차장이 있어서 편리합니다.",
		"아울러 지자체, 지역관광협회 등과 함께 수시로 관광지 현장을 점검할 계획이다.",
	},
}

func main() {
	modelDir := "" // the library's default model
	if len(os.Args) > 1 {
		modelDir = os.Args[1]
	}

	enc, err := kse.New(kse.Options{ModelDir: modelDir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "similarity:", err)
		os.Exit(1)
	}
	defer enc.Close()

	texts := append(groups[0][:], groups[1][:]...)
	dim := enc.Dim()
	emb := make([]float32, len(texts)*dim)
	stats, err := enc.EncodeIntoStats(emb, texts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "similarity:", err)
		os.Exit(1)
	}

	// The default model's vectors are L2-normalised, so the dot product is the cosine.
	fmt.Printf("model %s (kse %s), %d-d, %d tokens\n", enc.ModelName(), kse.Version(), dim, stats.Tokens)
	for i := 0; i < 4; i++ {
		fmt.Print("[")
		for j := 0; j < 4; j++ {
			a, b := emb[i*dim:(i+1)*dim], emb[(4+j)*dim:(5+j)*dim]
			dot := 0.0
			for k := range a {
				dot += float64(a[k]) * float64(b[k])
			}
			if j > 0 {
				fmt.Print(" ")
			}
			fmt.Printf("%11.8f", dot)
		}
		fmt.Println("]")
	}
}
