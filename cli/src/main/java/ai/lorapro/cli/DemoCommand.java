package ai.lorapro.cli;

import ai.lorapro.demo.Demo;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code lorapro demo}: the self-contained comparison of full fine-tuning, LoRA and LoRA-Pro. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Pretrain a tiny Llama on generated arithmetic, then compare full, LoRA and LoRA-Pro "
                + "fine-tuning on a held-out skill (no download).")
public final class DemoCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", description = "Output directory (default: ${DEFAULT-VALUE}).")
    private Path out = Path.of("runs", "demo");

    @Option(names = "--seed", paramLabel = "N", description = "Seed (default: ${DEFAULT-VALUE}).")
    private long seed = 42;

    @Option(names = "--steps", paramLabel = "N", description = "Fine-tuning steps per method (default: ${DEFAULT-VALUE}).")
    private int steps = 150;

    @Option(names = "--pretrain-steps", paramLabel = "N", description = "Pretraining steps (default: ${DEFAULT-VALUE}).")
    private int pretrainSteps = 300;

    @Override
    public Integer call() {
        Demo demo = Demo.builder().optOut(out).optSeed(seed).optSteps(steps).optPretrainSteps(pretrainSteps).build();
        demo.run(spec.commandLine().getOut());
        return ExitCodes.OK;
    }
}
