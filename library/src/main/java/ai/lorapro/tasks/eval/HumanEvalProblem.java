package ai.lorapro.tasks.eval;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * One HumanEval problem, as in {@code HumanEval.jsonl}.
 *
 * @param taskId e.g. {@code HumanEval/0}
 * @param prompt the function signature and docstring the completion continues
 * @param entryPoint the function's name, passed to {@code check}
 * @param test the test code defining {@code check(candidate)}
 * @param canonicalSolution the reference body
 * @param line the 1-based line of the data file
 */
public record HumanEvalProblem(
        String taskId, String prompt, String entryPoint, String test, String canonicalSolution, long line) {

    /** The program that checks {@code completion}: prompt, completion, tests, {@code check(entry_point)}. */
    public String program(String completion) {
        return prompt + completion + "\n\n" + test + "\n\ncheck(" + entryPoint + ")\n";
    }

    /**
     * {@link #program} followed by writing {@code marker}: a program passes only when it gets
     * there, not when the completion exits with status 0 before the tests run ({@code sys.exit(0)},
     * {@code os._exit(0)}), which the reference harness counts as a failure too. The marker goes
     * straight to file descriptor 1 on a line of its own, so that a completion that rebinds {@code
     * print} or {@code sys.stdout}, or leaves a line unfinished, does not hide it. The source holds
     * it in hexadecimal only, so that output echoing the source (a traceback of that line) cannot
     * show it.
     */
    public String program(String completion, String marker) {
        String hex = HexFormat.of().formatHex(PythonRunner.plainMarker(marker).getBytes(StandardCharsets.US_ASCII));
        return program(completion) + "import os as _lorapro_os\n_lorapro_os.write(1, b'\\n' + bytes.fromhex('" + hex
                + "') + b'\\n')\n";
    }
}
