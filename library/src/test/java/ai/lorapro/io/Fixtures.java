package ai.lorapro.io;

import java.nio.file.Path;
import java.nio.file.Paths;

/** Roots of the test fixtures; system properties may point them at another copy. */
final class Fixtures {

    private Fixtures() {}

    /** The hf-tiny models ({@code lorapro.fixtures.dir}, default the copy in test resources). */
    static Path hfTiny() {
        return Paths.get(System.getProperty("lorapro.fixtures.dir", "src/test/resources/hf-tiny"));
    }

    /**
     * The repository's own copy of the shared hf-tiny set, whatever {@code lorapro.fixtures.dir}
     * says: tests that assert facts about that particular set (its shard count, file names,
     * adapter settings) read it here; fidelity tests use {@link #hfTiny()} and derive what they
     * expect from the fixture's own configuration.
     */
    static Path bundledHfTiny() {
        return Paths.get("src/test/resources/hf-tiny");
    }

    /** The golden optimizer trajectories ({@code lorapro.golden.dir}). */
    static Path golden() {
        return Paths.get(System.getProperty("lorapro.golden.dir", "src/test/resources/golden/lorapro"));
    }
}
