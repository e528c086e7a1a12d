package ai.lorapro.optim;

import ai.lorapro.InvalidInputException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.InvocationTargetException;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Chooses the implementation of the fused full-mode step on the CPU, fastest first:
 *
 * <ol>
 *   <li>the native kernel ({@link NativeAdamKernel}: C with AVX2 and FMA, in the jar for Linux on
 *       x86-64), for fp32 and bf16 moments, when it loads on this machine and passes its check;
 *   <li>the Vector API kernel ({@link VectorAdamKernel}) when the JVM resolved the module
 *       {@code jdk.incubator.vector} (Java 17 and later need {@code --add-modules
 *       jdk.incubator.vector} for that) and the kernel loads;
 *   <li>the same pass in plain Java loops otherwise (logged with the reason).
 * </ol>
 *
 * The vector class is loaded by name only after the module is found, so a JVM without the module
 * never touches it; the native library is loaded at the first fused step that could use it.
 *
 * <p>The system property {@value #PROPERTY} overrides the choice: {@code scalar} forces the plain
 * loops, {@code vector} demands the vector kernel and {@code native} the native one (an error where
 * they cannot run), {@code java} picks the faster Java kernel
 * (vector, else scalar), {@code auto} (the default) picks as above. It is read at every step, so a
 * test or benchmark can compare the kernels in one JVM. Which kernel runs is logged once (and again
 * when it changes).
 */
public final class FusedKernels {

    /** The system property that overrides the choice: {@code auto}, {@code java}, {@code native}, {@code vector} or {@code scalar}. */
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
     * Whether the native kernel can run: this jar has it for this platform, it loaded, the CPU has
     * AVX2 and FMA, and its check against plain loops passed. Loads it on the first call.
     */
    public static boolean nativeAvailable() {
        return NativeHolder.KERNEL != null;
    }

    /** Why the native kernel cannot run, or null when it can (for tests and logs). */
    public static String nativeFailure() {
        return NativeHolder.FAILURE;
    }

    /**
     * The kernel the next fused step runs: {@code "native"}, {@code "vector"} or {@code "scalar"}.
     *
     * @throws InvalidInputException if the property asks for a kernel that cannot run, or has an
     *     unknown value
     */
    public static String active() {
        switch (requested()) {
            case "scalar":
                return "scalar";
            case "vector":
                requireVector();
                return "vector";
            case "native":
                if (!nativeAvailable()) {
                    throw new InvalidInputException(PROPERTY + "=native cannot run: " + NativeHolder.FAILURE);
                }
                return "native";
            case "java":
                return vectorAvailable() ? "vector" : "scalar";
            case "auto":
                return nativeAvailable() ? "native" : vectorAvailable() ? "vector" : "scalar";
            default:
                throw new InvalidInputException(PROPERTY + " must be auto, java, native, vector or scalar, got '"
                        + System.getProperty(PROPERTY) + "'");
        }
    }

    private static void requireVector() {
        if (!MODULE_PRESENT) {
            throw new InvalidInputException(PROPERTY + "=vector needs the JVM flag --add-modules " + VECTOR_MODULE);
        }
        if (VectorHolder.KERNEL == null) {
            throw new InvalidInputException(PROPERTY + "=vector cannot run: " + VectorHolder.FAILURE);
        }
    }

    /** {@value #PROPERTY} as given, trimmed and in lower case ({@code auto} when unset). */
    private static String requested() {
        return System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
    }

    /** The kernel to run, or null where the plain loops are to run (the caller runs them). */
    static MomentKernel kernelOrNull() {
        String kernel = active();
        if (!kernel.equals(String.valueOf(LOGGED.getAndSet(kernel)))) {
            if (kernel.equals("native")) {
                logger.info("fused LoRA-Pro step: {}", NativeHolder.KERNEL);
            } else if (kernel.equals("vector")) {
                logger.info("fused LoRA-Pro step: {}{}", VectorHolder.KERNEL, requested().equals("auto")
                        ? " (the native kernel cannot run: " + NativeHolder.FAILURE + ")" : "");
            } else if (requested().equals("scalar")) {
                logger.info("fused LoRA-Pro step: plain-loop kernel (forced by {})", PROPERTY);
            } else if (!MODULE_PRESENT) {
                logger.info("fused LoRA-Pro step: plain-loop kernel; add the JVM flag --add-modules {} for the faster "
                        + "Vector API kernel{}", VECTOR_MODULE, requested().equals("auto")
                        ? " (the native kernel cannot run: " + NativeHolder.FAILURE + ")" : "");
            } else {
                logger.warn("fused LoRA-Pro step: plain-loop kernel, since {}{}", VectorHolder.FAILURE,
                        requested().equals("auto") ? "; and the native kernel cannot run: " + NativeHolder.FAILURE : "");
            }
        }
        switch (kernel) {
            case "native":
                return NativeHolder.KERNEL;
            case "vector":
                return VectorHolder.KERNEL;
            default:
                return null;
        }
    }

    /** A kernel that loaded, or why it did not ({@code kernel} null). */
    private record Loaded(MomentKernel kernel, String failure) {

        /** Runs {@code loader}; what it throws (an exception or a linkage error) becomes the failure, as {@code why} words it. */
        static Loaded attempt(Callable<MomentKernel> loader, Function<Throwable, String> why) {
            try {
                return new Loaded(loader.call(), null);
            } catch (Exception | LinkageError e) {
                return new Loaded(null, why.apply(e));
            }
        }
    }

    /** Loads the native kernel on first use; where it cannot run, {@link #KERNEL} is null and {@link #FAILURE} says why. */
    private static final class NativeHolder {
        private static final Loaded LOADED = Loaded.attempt(NativeAdamKernel::load, e -> {
            if (e instanceof IllegalStateException) {
                return e.getMessage();
            }
            if (e instanceof UnsatisfiedLinkError) {
                return "the native kernel did not load (e.g. java.io.tmpdir, " + System.getProperty("java.io.tmpdir")
                        + ", is mounted noexec: -Djava.io.tmpdir names another directory): " + e.getMessage();
            }
            return "the native kernel did not load: " + e;
        });
        static final MomentKernel KERNEL = LOADED.kernel();
        static final String FAILURE = LOADED.failure();
    }

    /**
     * Loads the vector kernel on first use (only reached when the module is present). A JDK where it
     * cannot run (its incubating Vector API lacks what the kernel calls, or the moments' loads fail
     * their check) leaves {@link #KERNEL} null and says why in {@link #FAILURE}.
     */
    private static final class VectorHolder {
        // the constructor tries the moments' vector loads and stores on a small buffer
        private static final Loaded LOADED = Loaded.attempt(
                () -> (MomentKernel) Class.forName("ai.lorapro.optim.VectorAdamKernel").getDeclaredConstructor().newInstance(),
                e -> "the Vector API kernel cannot run on Java " + Runtime.version().feature() + ": " + causes(e));
        static final MomentKernel KERNEL = LOADED.kernel();
        static final String FAILURE = LOADED.failure();

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
