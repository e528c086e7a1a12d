package ai.lorapro.optim;

import ai.lorapro.InvalidInputException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.InvocationTargetException;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Chooses the implementation of the fused full-mode step on the CPU: the Vector API kernel ({@link
 * VectorAdamKernel}) when the JVM resolved the module {@code jdk.incubator.vector} (Java 17 and later
 * need {@code --add-modules jdk.incubator.vector} for that) and the kernel loads, the same pass in
 * plain Java loops otherwise (logged with the reason).
 * The vector class is loaded by name only after the module is found, so a JVM without the module
 * never touches it.
 *
 * <p>The system property {@value #PROPERTY} overrides the choice: {@code scalar} forces the plain
 * loops, {@code vector} demands the vector kernel (an error where it cannot run),
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

    /**
     * Whether the vector kernel can run: the JVM resolved {@value #VECTOR_MODULE}, its API has the
     * loads the kernel uses (Java 17 and later have; see {@link MomentVectors}), and the kernel's
     * check of them on a small buffer passed when it loaded.
     */
    public static boolean vectorAvailable() {
        return MODULE_PRESENT && VectorHolder.KERNEL != null;
    }

    /** Why the vector kernel cannot run although the module is present, or null (for tests and logs). */
    static String vectorFailure() {
        return MODULE_PRESENT ? VectorHolder.FAILURE : null;
    }

    /**
     * The kernel the next fused step runs: {@code "vector"} or {@code "scalar"}.
     *
     * @throws InvalidInputException if the property asks for the vector kernel where it cannot run,
     *     or has an unknown value
     */
    public static String active() {
        switch (requested()) {
            case "scalar":
                return "scalar";
            case "vector":
                if (!MODULE_PRESENT) {
                    throw new InvalidInputException(PROPERTY + "=vector needs the JVM flag --add-modules " + VECTOR_MODULE);
                }
                if (VectorHolder.KERNEL == null) {
                    throw new InvalidInputException(PROPERTY + "=vector cannot run: " + VectorHolder.FAILURE);
                }
                return "vector";
            case "auto":
                return vectorAvailable() ? "vector" : "scalar";
            default:
                throw new InvalidInputException(
                        PROPERTY + " must be auto, scalar or vector, got '" + System.getProperty(PROPERTY) + "'");
        }
    }

    /** {@value #PROPERTY} as given, trimmed and in lower case ({@code auto} when unset). */
    private static String requested() {
        return System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
    }

    /** The vector kernel when it is to run, else null (the caller runs the plain loops). */
    static MomentKernel vectorKernelOrNull() {
        String kernel = active();
        if (!kernel.equals(String.valueOf(LOGGED.getAndSet(kernel)))) {
            if (kernel.equals("vector")) {
                logger.info("fused LoRA-Pro step: {}", VectorHolder.KERNEL);
            } else if (requested().equals("scalar")) {
                logger.info("fused LoRA-Pro step: plain-loop kernel (forced by {})", PROPERTY);
            } else if (!MODULE_PRESENT) {
                logger.info("fused LoRA-Pro step: plain-loop kernel; add the JVM flag --add-modules {} for the faster "
                        + "Vector API kernel", VECTOR_MODULE);
            } else {
                logger.warn("fused LoRA-Pro step: plain-loop kernel, since {}", VectorHolder.FAILURE);
            }
        }
        return kernel.equals("vector") ? VectorHolder.KERNEL : null;
    }

    /**
     * Loads the vector kernel on first use (only reached when the module is present). A JDK where it
     * cannot run (its incubating Vector API lacks what the kernel calls, or the moments' loads fail
     * their check) leaves {@link #KERNEL} null and says why in {@link #FAILURE}.
     */
    private static final class VectorHolder {
        static final MomentKernel KERNEL;
        static final String FAILURE;

        static {
            MomentKernel kernel = null;
            String failure = null;
            try {
                // the constructor tries the moments' vector loads and stores on a small buffer
                kernel = (MomentKernel) Class.forName("ai.lorapro.optim.VectorAdamKernel")
                        .getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                failure = "the Vector API kernel cannot run on Java " + Runtime.version().feature() + ": " + causes(e);
            }
            KERNEL = kernel;
            FAILURE = failure;
        }

        /** {@code e}'s causes, innermost last, without the wrappers of reflection and class initialisation. */
        private static String causes(Throwable e) {
            StringBuilder text = new StringBuilder();
            for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
                if (t instanceof InvocationTargetException || t instanceof ExceptionInInitializerError) {
                    continue;
                }
                text.append(text.length() == 0 ? "" : "; caused by ").append(t);
            }
            return text.toString();
        }
    }
}
