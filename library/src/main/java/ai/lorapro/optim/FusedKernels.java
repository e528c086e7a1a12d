package ai.lorapro.optim;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Chooses the implementation of the fused full-mode step on the CPU: the Vector API kernel ({@link
 * VectorAdamKernel}) when the JVM resolved the module {@code jdk.incubator.vector} (Java 17 needs
 * {@code --add-modules jdk.incubator.vector} for that), the same pass in plain Java loops otherwise.
 * The vector class is loaded by name only after the module is found, so a JVM without the module
 * never touches it.
 *
 * <p>The system property {@value #PROPERTY} overrides the choice: {@code scalar} forces the plain
 * loops, {@code vector} demands the vector kernel (an error when the module is missing),
 * {@code auto} (the default) picks as above. It is read at every step, so a test or benchmark can
 * compare both kernels in one JVM. Which kernel runs is logged once (and again when it changes).
 */
public final class FusedKernels {

    /** The system property that overrides the choice: {@code auto}, {@code scalar} or {@code vector}. */
    public static final String PROPERTY = "lorapro.fused.kernel";
    /** The module the vector kernel needs. */
    public static final String VECTOR_MODULE = "jdk.incubator.vector";

    private static final Logger logger = LoggerFactory.getLogger(FusedKernels.class);
    private static final boolean MODULE_PRESENT = ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    private static final AtomicReference<String> LOGGED = new AtomicReference<>();

    private FusedKernels() {}

    /** Whether the JVM resolved {@value #VECTOR_MODULE}, so that the vector kernel can run. */
    public static boolean vectorAvailable() {
        return MODULE_PRESENT;
    }

    /**
     * The kernel the next fused step runs: {@code "vector"} or {@code "scalar"}.
     *
     * @throws IllegalStateException if the property asks for the vector kernel without the module, or
     *     has an unknown value
     */
    public static String active() {
        String requested = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        switch (requested) {
            case "scalar":
                return "scalar";
            case "vector":
                if (!MODULE_PRESENT) {
                    throw new IllegalStateException(PROPERTY + "=vector needs the JVM flag --add-modules " + VECTOR_MODULE);
                }
                return "vector";
            case "auto":
                return MODULE_PRESENT ? "vector" : "scalar";
            default:
                throw new IllegalStateException(
                        PROPERTY + " must be auto, scalar or vector, got '" + System.getProperty(PROPERTY) + "'");
        }
    }

    /** The vector kernel when it is to run, else null (the caller runs the plain loops). */
    static MomentKernel vectorKernelOrNull() {
        String kernel = active();
        if (!kernel.equals(String.valueOf(LOGGED.getAndSet(kernel)))) {
            if (kernel.equals("vector")) {
                logger.info("fused LoRA-Pro step: {}", VectorHolder.KERNEL);
            } else {
                logger.info("fused LoRA-Pro step: plain-loop kernel{}", MODULE_PRESENT ? " (forced by " + PROPERTY + ")"
                        : "; add the JVM flag --add-modules " + VECTOR_MODULE + " for the faster Vector API kernel");
            }
        }
        return kernel.equals("vector") ? VectorHolder.KERNEL : null;
    }

    /** Loads the vector kernel on first use (only reached when the module is present). */
    private static final class VectorHolder {
        static final MomentKernel KERNEL;

        static {
            try {
                KERNEL = (MomentKernel) Class.forName("ai.lorapro.optim.VectorAdamKernel")
                        .getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot load the Vector API kernel", e);
            }
        }
    }
}
