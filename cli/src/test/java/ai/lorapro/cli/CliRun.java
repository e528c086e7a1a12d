package ai.lorapro.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs {@code lorapro} commands in the test JVM and captures what they print. */
public final class CliRun {

    private CliRun() {}

    /** The exit code and output of one command. */
    public record Result(int code, String out, String err) {
        /** The error output as lines, without blank ones. */
        public String[] errLines() {
            return err.strip().isEmpty() ? new String[0] : err.strip().split("\n");
        }
    }

    /** Runs {@code lorapro args} in this JVM. */
    public static Result cli(String... args) {
        CommandLine cli = LoraProCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new Result(code, out.toString(), err.toString());
    }
}
