package ai.lorapro.io;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Publishes a directory whose writer never finishes, for {@link SafetensorsWriterTest} to stop the
 * JVM (SIGTERM, as Ctrl-C's SIGINT) while it writes: prints "writing" once a file is in place.
 */
public final class StoppedPublishMain {

    private StoppedPublishMain() {}

    /** {@code args[0]}: the directory to publish. */
    public static void main(String[] args) {
        AtomicFiles.publishDirectory(Path.of(args[0]), dir -> {
            Files.write(dir.resolve("part.bin"), new byte[1 << 20]);
            System.out.println("writing");
            System.out.flush();
            try {
                Thread.sleep(120_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }
}
