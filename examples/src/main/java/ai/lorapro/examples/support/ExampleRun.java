package ai.lorapro.examples.support;

import ai.lorapro.InvalidInputException;
import ai.lorapro.io.Directories;
import ai.lorapro.models.ModelFamilies;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What every task example does around its work, as the {@code lorapro} commands do: with arguments
 * missing, the usage on standard error and exit code 2; an output directory that must be new or
 * empty, so that an example never writes over an earlier run or a user's files; and bad input
 * (a missing file, an unknown task or method) in one line with exit code 2, not a stack trace.
 * (In a package of its own, so that {@code ./lorapro example}, which lists the classes of {@code
 * ai.lorapro.examples}, does not offer it as an example.)
 */
public final class ExampleRun {

    /** The exit code of a usage error or bad input, as the command line's. */
    public static final int BAD_INPUT = 2;

    /** An example's work, run once its arguments and output directory are checked. */
    public interface Work {
        /** Does the example's work. */
        void run();
    }

    private ExampleRun() {}

    /**
     * Checks the arguments, the output directory and the model directory, then runs {@code work}.
     *
     * @param args the main's arguments, MODEL_DIR first (as in every task example)
     * @param required how many arguments are required
     * @param outIndex the index of the output directory among them
     * @param usage the usage text, printed to standard error when arguments are missing
     * @return 0, or {@link #BAD_INPUT} after printing why; other failures are thrown
     */
    public static int run(String[] args, int required, int outIndex, String usage, Work work) {
        if (args.length < required) {
            System.err.println(usage);
            return BAD_INPUT;
        }
        try {
            String problem = outputProblem(Path.of(args[outIndex]));
            if (problem == null) {
                problem = modelProblem(Path.of(args[0]));
            }
            if (problem != null) {
                System.err.println("error: " + problem);
                return BAD_INPUT;
            }
            work.run();
            return 0;
        } catch (InvalidInputException e) {
            System.err.println("error: " + e.getMessage());
            return BAD_INPUT;
        }
    }

    /**
     * The paper's generation length {@code tokens}, cut to the positions of the model in {@code
     * modelDir} (a small model has fewer; the evaluator refuses a length beyond them).
     */
    public static int newTokens(String modelDir, int tokens) {
        return Math.min(tokens, ModelFamilies.readModelDir(Path.of(modelDir)).maxPositions());
    }

    /** Ends the JVM with {@code status} unless it is 0 (then the main returns as usual). */
    public static void exit(int status) {
        if (status != 0) {
            System.exit(status);
        }
    }

    /**
     * Why {@code model} is not a model directory, or null: named as the example's usage names it,
     * not by the first file inside it that some later step fails to find.
     */
    static String modelProblem(Path model) {
        if (!Files.isDirectory(model)) {
            return "MODEL_DIR " + model + " is not a directory (a Hugging Face model directory: config.json, the"
                    + " safetensors weights, tokenizer.json)";
        }
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            return "MODEL_DIR " + model + " has no config.json: it is not a Hugging Face model directory";
        }
        return null;
    }

    /**
     * Why {@code out} cannot take an example's output, or null when it is absent or an empty directory.
     *
     * @throws InvalidInputException naming it when it cannot be listed
     */
    static String outputProblem(Path out) {
        if (Directories.isEmptyOrAbsent(out)) {
            return null;
        }
        if (!Files.isDirectory(out)) {
            return "OUT_DIR " + out + " is not a directory";
        }
        return "OUT_DIR " + out + " is not empty: choose a new directory (an example never writes over "
                + "an earlier run or other files)";
    }
}
