/*
 * Embeds the seed model card's example sentences and prints the 4 x 4 cosine
 * similarity matrix between the two groups (the Java twin of
 * examples/c/similarity.c). Run from the repository root after building the
 * jar (bindings/java/run_tests.sh):
 *
 *   java -cp target/java/kse-0.2.0.jar examples/java/Similarity.java [MODEL_DIR]
 *
 * Without MODEL_DIR it opens libkse's default model, kse-ko-small
 * (KoreanSentenceEncoder.open()): $KSE_MODEL_DIR if set, else
 * models/kse-ko-small of the build tree or share/kse/models/kse-ko-small of
 * the installed tree that libkse sits in. The jar's own libkse is a private
 * temporary copy, beside which nothing is searched, so with the jar alone set
 * KSE_MODEL_DIR (e.g. KSE_MODEL_DIR=models/kse-ko-small), use the jar with the
 * model compiled in (target/java-embedded/kse-0.2.0.jar, built by
 * bindings/java/run_tests.sh after `make embedded`), or load the tree's
 * libkse, which then works from any working directory:
 *
 *   java -Dkse.library=$PWD/target/release/libkse.so -cp target/java/kse-0.2.0.jar examples/java/Similarity.java
 */
import dev.kse.KoreanSentenceEncoder;
import dev.kse.KseException;
import java.nio.file.Path;

public class Similarity {
    static final String[] GROUP1 = {
        "다만, 도로와 인접해서 거리의 소음이 들려요.",
        "형이 다시 캐나다 들어가야 하니 가족모임 일정은 바꾸지 마세요.",
        "방안에 필요한 시설이 모두 있어서 매우 편리합니다.",
        "관광자원화 검토를 모범적으로 적용한 지자체에는 홍보·컨설팅, 관광상품 개발 지원 등을 제공할 계획이다.",
    };
    static final String[] GROUP2 = {
        "하지만, 길과 가깝기 때문에 거리의 소음을 들을 수 있습니다.",
        "가족 모임 일정은 바꾸지 말도록 하십시오.",
        "특히, 숙소 근처에 안전한 실내 주차장이 있어서 편리합니다.",
        "아울러 지자체, 지역관광협회 등과 함께 수시로 관광지 현장을 점검할 계획이다.",
    };

    public static void main(String[] args) {
        try (KoreanSentenceEncoder enc = args.length > 0
                ? KoreanSentenceEncoder.open(Path.of(args[0]))
                : KoreanSentenceEncoder.open()) {  // the default model
            float[][] a = enc.encode(GROUP1);
            float[][] b = enc.encode(GROUP2);
            // The default model's vectors are L2-normalised, so the dot product is the cosine.
            System.out.printf("model %s (kse %s), %d-d%n", enc.modelName(), KoreanSentenceEncoder.libraryVersion(), enc.dim());
            for (float[] x : a) {
                StringBuilder row = new StringBuilder("[");
                for (int j = 0; j < b.length; j++) {
                    double dot = 0;
                    for (int k = 0; k < x.length; k++) {
                        dot += (double) x[k] * b[j][k];
                    }
                    row.append(j > 0 ? " " : "").append(String.format("%11.8f", dot));
                }
                System.out.println(row.append("]"));
            }
        } catch (KseException e) {
            System.err.println("kse: " + e.getMessage());
            System.exit(1);
        }
    }
}
