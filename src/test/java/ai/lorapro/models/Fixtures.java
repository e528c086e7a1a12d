package ai.lorapro.models;

import ai.djl.ndarray.NDArray;

import java.nio.file.Path;
import java.nio.file.Paths;

/** Locations of the Hugging Face fixtures and comparison helpers for model parity tests. */
public final class Fixtures {

    private Fixtures() {}

    /** The hf-tiny root: system property {@code lorapro.fixtures.dir}, else the test resources. */
    public static Path hfTiny() {
        return Paths.get(System.getProperty("lorapro.fixtures.dir", "src/test/resources/hf-tiny"));
    }

    /** ||actual - expected||_F / ||expected||_F, in double precision on the host. */
    public static double relativeError(NDArray actual, NDArray expected) {
        float[] a = actual.toFloatArray();
        float[] e = expected.toFloatArray();
        if (a.length != e.length) {
            throw new AssertionError("sizes differ: " + actual.getShape() + " vs " + expected.getShape());
        }
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - e[i];
            diff += d * d;
            norm += (double) e[i] * e[i];
        }
        return Math.sqrt(diff / norm);
    }
}
