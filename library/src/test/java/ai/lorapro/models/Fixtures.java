package ai.lorapro.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.lorapro.io.SafetensorsFile;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Locations of the Hugging Face fixtures and comparison helpers for model parity tests. */
public final class Fixtures {

    private Fixtures() {}

    /** The hf-tiny root: system property {@code lorapro.fixtures.dir}, else the test resources. */
    public static Path hfTiny() {
        return Paths.get(System.getProperty("lorapro.fixtures.dir", "src/test/resources/hf-tiny"));
    }

    /**
     * The repository's own copy of the shared hf-tiny set, whatever {@code lorapro.fixtures.dir}
     * says: tests that assert facts about that particular set (its shard count, file names,
     * adapter settings) read it here; fidelity tests use {@link #hfTiny()} and derive what they
     * expect from the fixture's own configuration.
     */
    public static Path bundledHfTiny() {
        return Paths.get("src/test/resources/hf-tiny");
    }

    /** ||actual - expected||_F / ||expected||_F, in double precision on the host. */
    public static double relativeError(NDArray actual, NDArray expected) {
        if (actual.size() != expected.size()) {
            throw new AssertionError("sizes differ: " + actual.getShape() + " vs " + expected.getShape());
        }
        return relativeError(actual.toFloatArray(), expected.toFloatArray());
    }

    /** ||actual - expected||_F / ||expected||_F of two arrays of the same length, in double precision. */
    public static double relativeError(float[] a, float[] e) {
        if (a.length != e.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + e.length);
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

    /** Asserts equal shapes and a relative Frobenius error below {@code tolerance}. */
    public static void assertClose(String what, NDArray actual, NDArray expected, double tolerance) {
        assertEquals(expected.getShape(), actual.getShape(), what + " shape");
        double error = relativeError(actual, expected);
        assertTrue(error < tolerance, what + ": relative error " + error);
    }

    /**
     * Compares every {@code grad.<name>} tensor of a reference file with the gradient of the
     * parameter of that name, after a backward pass.
     *
     * @return the names checked, in file order
     */
    public static List<String> assertGradientsMatch(
            SafetensorsFile reference, Map<String, Parameter> params, NDManager manager, double tolerance) {
        List<String> checked = new ArrayList<>();
        for (String key : reference.names()) {
            if (!key.startsWith("grad.")) {
                continue;
            }
            String name = key.substring("grad.".length());
            Parameter p = params.get(name);
            assertNotNull(p, "no parameter " + name);
            try (NDArray gradient = p.getArray().getGradient()) {
                assertClose("gradient of " + name, gradient, reference.load(manager, key), tolerance);
            }
            checked.add(name);
        }
        return checked;
    }
}
