package ai.lorapro.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.UsageMessageSpec;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The sections every {@code --help} ends with: examples that run from the repository root as they are
 * (on the sample data the repository ships, and the toy models that the first example of each
 * command writes with {@code random-model}, as in the README) and the exit codes. One place for all
 * commands, so the conventions stay the same everywhere.
 */
final class HelpTexts {

    /** The toy Llama of the README's commands (random weights and a tokenizer that fits them). */
    static final String LLAMA = "models/llama-tiny";
    /** The command that writes it (once: it refuses a directory that is not empty). */
    static final String MAKE_LLAMA = "lorapro random-model --preset llama-tiny --out " + LLAMA + "   # once";

    /** Per command, its examples (a line may end in a "# comment"). */
    static final Map<String, List<String>> EXAMPLES = Map.of(
            "lorapro", List.of(
                    "lorapro demo --quick",
                    "lorapro help train"),
            "train", List.of(
                    MAKE_LLAMA,
                    "lorapro train --model " + LLAMA + " --data examples/data/instructions.jsonl --out runs/x"
                            + " --method lora-pro --max-steps 10 --checkpoint-interval 5",
                    "lorapro random-model --preset t5-tiny --out models/t5-tiny   # once",
                    "lorapro train --task glue-sst2 --model models/t5-tiny"
                            + " --data examples/data/glue/SST-2 --out runs/sst2 --max-steps 4",
                    "lorapro train ... --resume runs/x/checkpoints/step-000005   # the same options as the run"),
            "eval", List.of(
                    MAKE_LLAMA,
                    "lorapro eval --model " + LLAMA + " --data examples/data/instructions.jsonl",
                    "lorapro eval --task gsm8k --model " + LLAMA + " --data examples/data/gsm8k.jsonl"
                            + " --out runs/gsm8k --limit 2 --max-new-tokens 8"),
            "generate", List.of(
                    MAKE_LLAMA,
                    "lorapro generate --model " + LLAMA + " --prompt \"2+3=\" --max-new-tokens 8"),
            "merge", List.of(
                    MAKE_LLAMA,
                    "lorapro merge --model " + LLAMA + " --adapter ADAPTER_DIR --out merged"),
            "info", List.of(
                    MAKE_LLAMA,
                    "lorapro info --config " + LLAMA + "/config.json --r 8",
                    "lorapro info --model " + LLAMA),
            "demo", List.of(
                    "lorapro demo",
                    "lorapro demo --quick --out runs/demo"));

    private HelpTexts() {}

    /** Adds the examples (where the command has some) and the exit codes to the command and its subcommands. */
    static void apply(CommandLine commandLine) {
        CommandSpec spec = commandLine.getCommandSpec();
        UsageMessageSpec usage = spec.usageMessage();
        Map<String, String> exitCodes = new LinkedHashMap<>();
        exitCodes.put("0", "success");
        exitCodes.put("1", "an unexpected failure (the message names it; -Dorg.slf4j.simpleLogger.defaultLogLevel=debug"
                + " shows the stack trace)");
        exitCodes.put("2", "bad input: an option, file, field or line you can fix (one line names it)");
        usage.exitCodeListHeading("%nExit codes:%n").exitCodeList(exitCodes);
        List<String> examples = EXAMPLES.get(spec.name());
        if (examples != null) {
            StringBuilder footer = new StringBuilder();
            for (String example : examples) {
                footer.append("  ").append(example.replace(" --", " \\%n      --")).append("%n");
            }
            usage.footerHeading("%nExamples:%n")
                    .footer(footer.toString());
        }
        for (CommandLine sub : commandLine.getSubcommands().values()) {
            if (!(sub.getCommand() instanceof CommandLine.HelpCommand)) {
                apply(sub);
            }
        }
    }
}
