package ai.lorapro.cli;

import ai.lorapro.InvalidInputException;
import ai.lorapro.LoraProVersion;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

import java.util.List;
import java.util.concurrent.Callable;

/**
 * The {@code lorapro} command line. Exit codes: 0 success, 2 bad input or usage, 1 anything else
 * (see {@link ExitCodes}).
 */
@Command(
        name = "lorapro",
        mixinStandardHelpOptions = true,
        versionProvider = LoraProCli.Version.class,
        description = "Fine-tune language models with LoRA and LoRA-Pro on DJL.",
        commandListHeading = "%nCommands:%n")
public final class LoraProCli implements Callable<Integer> {

    private static final String THREADS = "threads";

    @Spec
    private CommandSpec spec;

    /**
     * Runs the command line and exits with its code. DJL is switched to offline mode with usage
     * tracking off before any DJL class loads, unless the caller set those properties already.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        configureDjl();
        System.exit(commandLine().execute(args));
    }

    /**
     * Sets {@code ai.djl.offline=true} and {@code OPT_OUT_TRACKING=true} as system properties when
     * unset, and DJL's log level to {@code error} (slf4j-simple) when unset. DJL reads the tracking switch from the environment first, then from the system
     * property of the same name; the offline switch from {@code DJL_OFFLINE}, then the property.
     * {@code RUST_FLAVOR=cpu} keeps DJL's tokenizers on the CPU build inside their jar: on a CUDA host
     * DJL would otherwise look for (and download) a CUDA build. Each is left alone when the user set it
     * in the environment or as a property.
     */
    public static void configureDjl() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
        if (System.getenv("RUST_FLAVOR") == null && System.getProperty("RUST_FLAVOR") == null) {
            System.setProperty("RUST_FLAVOR", "cpu");
        }
        // DJL's start-up lines (platform, native library, CUDA probe) would precede every error
        if (System.getProperty(DJL_LOG_LEVEL) == null) {
            System.setProperty(DJL_LOG_LEVEL, "error");
        }
    }

    /** slf4j-simple's level for DJL's loggers; the caller may set it (e.g. to {@code info}). */
    static final String DJL_LOG_LEVEL = "org.slf4j.simpleLogger.log.ai.djl";

    /**
     * The command line with its subcommands, {@code train} running on the training engine and
     * printing to the command line's output.
     *
     * @return a command line ready to {@code execute}
     */
    public static CommandLine commandLine() {
        CommandLine[] cli = new CommandLine[1];
        cli[0] = commandLine((job, published) -> new TrainLauncher(cli[0].getOut()).launch(job, published));
        return cli[0];
    }

    /**
     * The command line with its subcommands and exit-code handling.
     *
     * @param trainLauncher runs {@code train} jobs (a {@link TrainLauncher}, or a test's stand-in)
     * @return a command line ready to {@code execute}
     */
    public static CommandLine commandLine(TrainCommand.Launcher trainLauncher) {
        CommandLine cli = new CommandLine(new LoraProCli());
        cli.addSubcommand("train", new TrainCommand(trainLauncher));
        cli.addSubcommand("eval", new EvalCommand());
        cli.addSubcommand("generate", new GenerateCommand());
        cli.addSubcommand("merge", new MergeCommand());
        cli.addSubcommand("info", new InfoCommand());
        cli.addSubcommand("demo", new DemoCommand());
        cli.addSubcommand("random-model", new RandomModelCommand());
        cli.addSubcommand("help", new CommandLine.HelpCommand());
        // merge computes in plain Java, and the demo always on one thread (Demo.singleThreaded)
        for (String computing : List.of("train", "eval", "generate")) {
            cli.getSubcommands().get(computing).addMixin(THREADS, new ThreadsOption());
        }
        // every usage line offers -V: it prints the version from any command, not nothing
        cli.getSubcommands().values().forEach(sub -> sub.getCommandSpec().versionProvider(new Version()));
        HelpTexts.apply(cli);
        cli.setExecutionStrategy(LoraProCli::execute);
        cli.setExecutionExceptionHandler(new ExitCodes());
        cli.setParameterExceptionHandler(new UsageErrors());
        return cli;
    }

    /** Applies the command's {@code --threads}, if it has the option, then runs it. */
    private static int execute(ParseResult parseResult) {
        ParseResult command = parseResult;
        while (command.subcommand() != null) {
            command = command.subcommand();
        }
        Object threads = command.commandSpec().mixins().containsKey(THREADS)
                ? command.commandSpec().mixins().get(THREADS).userObject() : null;
        if (threads instanceof ThreadsOption option) {
            try {
                option.apply();
            } catch (InvalidInputException e) {
                throw new CommandLine.ParameterException(command.commandSpec().commandLine(), e.getMessage(), e);
            }
        }
        return new CommandLine.RunLast().execute(parseResult);
    }

    /** Without a subcommand: prints one error line and fails with exit code 2. */
    @Override
    public Integer call() {
        spec.commandLine().getErr().println("error: missing command (see 'lorapro --help')");
        return ExitCodes.BAD_INPUT;
    }

    /** The version the build wrote into the library, with the DJL and Java it runs on. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"lorapro " + LoraProVersion.get(),
                    "DJL " + ai.djl.engine.Engine.getDjlVersion()
                            + ", Java " + System.getProperty("java.version")};
        }
    }
}
