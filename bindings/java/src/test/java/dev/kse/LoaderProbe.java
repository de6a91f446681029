package dev.kse;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;

/**
 * Run in a child JVM by {@link LoaderTest}: loads the library the way the
 * child's system properties say, encodes one sentence with the model named by
 * args[0] ({@code --default}: the default model, {@link KoreanSentenceEncoder#open()};
 * {@code --named=NAME}: a shipped model, {@link KoreanSentenceEncoder#openNamed(String)}),
 * and prints what happened as key=value lines.
 */
public final class LoaderProbe {
    private LoaderProbe() {}

    public static void main(String[] args) throws Exception {
        String named = args[0].startsWith("--named=") ? args[0].substring("--named=".length()) : null;
        try (KoreanSentenceEncoder enc = args[0].equals("--default") ? KoreanSentenceEncoder.open()
                : named != null ? KoreanSentenceEncoder.openNamed(named) : KoreanSentenceEncoder.open(Path.of(args[0]))) {
            printLibrary();
            System.out.println("version=" + KoreanSentenceEncoder.libraryVersion());
            System.out.println("name=" + enc.modelName());
            System.out.println("modelDir=" + enc.modelDir());
            System.out.println("vector=" + Arrays.toString(enc.encode("안녕하세요")[0]));
        } catch (KseException e) {
            printLibrary();
            System.out.println("status=" + e.status());
            System.out.println("detail=" + e.detail().replace('\n', ' '));
        } catch (UnsatisfiedLinkError e) {
            System.out.println("error=" + e.getMessage());
            try {
                KoreanSentenceEncoder.libraryVersion();
                System.out.println("second=loaded");
            } catch (UnsatisfiedLinkError again) {
                System.out.println("second=" + again.getMessage());
            }
        }
    }

    /** The libkse in use and, when the jar's copy was extracted, the extraction directory's owner and mode. */
    private static void printLibrary() throws Exception {
        System.out.println("path=" + KoreanSentenceEncoder.libraryPath());
        Path dir = NativeLoader.extractedDir();
        if (dir != null) {
            System.out.println("extracted=" + dir);
            System.out.println("extractedUid=" + Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS));
            System.out.println("extractedMode=" + PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS)));
            System.out.println("uid=" + NativeLoader.currentUid());
        }
    }
}
