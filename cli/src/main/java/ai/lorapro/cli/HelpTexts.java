package ai.lorapro.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.UsageMessageSpec;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The sections every {@code --help} ends with: examples that run from the repository root as they are
 * (the repository ships the tiny models and data they use) and the exit codes. One place for all
 * commands, so the conventions stay the same everywhere.
 */
final class HelpTexts {

    /** The tiny Llama the repository ships with its tests (docs/tasks.md lists the others). */
    static final String LLAMA = "library/src/test/resources/hf-tiny/llama-tiny";

    private static final Map<String, List<String>> EXAMPLES = Map.of(
            "lorapro", List.of(
                    "lorapro demo --quick",
                    "lorapro help train"),
            "train", List.of(
                    "lorapro train --model " + LLAMA + " --data examples/data/instructions.jsonl --out runs/x"
                            + " --method lora-pro --max-steps 10",
                    "lorapro train --task glue-sst2 --model library/src/test/resources/hf-tiny/t5-tiny"
                            + " --data examples/data/glue/SST-2 --out runs/sst2 --max-steps 4",
                    "lorapro train ... --resume runs/x/checkpoints/step-000010"),
            "eval", List.of(
                    "lorapro eval --model " + LLAMA + " --data examples/data/instructions.jsonl",
                    "lorapro eval --task gsm8k --model " + LLAMA + " --data examples/data/gsm8k.jsonl"
                            + " --out runs/gsm8k --limit 2 --max-new-tokens 8"),
            "generate", List.of(
                    "lorapro generate --model " + LLAMA + " --prompt \"2+3=\" --max-new-tokens 8"),
            "merge", List.of(
                    "lorapro merge --model " + LLAMA + " --adapter ADAPTER_DIR --out merged"),
            "info", List.of(
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
