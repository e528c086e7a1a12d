package ai.lorapro.cli;

import ai.lorapro.demo.Demo;
import ai.lorapro.demo.Skill;
import ai.lorapro.optim.StateDType;
import ai.lorapro.train.Method;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code lorapro demo}: the self-contained comparison of full fine-tuning, LoRA and LoRA-Pro. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Pretrain a tiny Llama on generated arithmetic, then compare full, LoRA and LoRA-Pro "
                + "fine-tuning on a held-out skill over several seeds (no download).")
public final class DemoCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", description = "Output directory (default: ${DEFAULT-VALUE}).")
    private Path out = Path.of("runs", "demo");

    @Option(names = "--seed", paramLabel = "N", description = "First seed (default: ${DEFAULT-VALUE}).")
    private long seed = 42;

    @Option(names = "--seeds", paramLabel = "N", description = "Number of seeds (default: ${DEFAULT-VALUE}).")
    private int seeds = 5;

    @Option(names = "--quick", description = "One seed only (about 25 s of CPU time; no spread, so no ranking).")
    private boolean quick;

    @Option(names = "--sweep", description = "Instead of the demo, sweep the learning-rate grid of every method "
            + "on the validation problems and print the best rates.")
    private boolean sweep;

    @Option(names = "--steps", paramLabel = "N", description = "Fine-tuning steps per method (default: ${DEFAULT-VALUE}).")
    private int steps = 150;

    @Option(names = "--pretrain-steps", paramLabel = "N", description = "Pretraining steps (default: ${DEFAULT-VALUE}).")
    private int pretrainSteps = 300;

    @Option(names = "--skill", paramLabel = "NAME",
            description = "Fine-tuning skill: subtraction, letter-sum or permuted-sum (default: ${DEFAULT-VALUE}).")
    private String skill = Demo.DEFAULT_SKILL.cliName();

    @Option(names = "--methods", split = ",", paramLabel = "NAMES",
            description = "Compared methods (default: full,lora,lora-pro).")
    private List<String> methods = List.of("full", "lora", "lora-pro");

    @Option(names = "--state-dtype", paramLabel = "TYPE", completionCandidates = EnumNames.StateDTypes.class,
            description = "Storage of lora-pro's full-mode moments: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    private String stateDType = EnumNames.of(StateDType.FP32);

    @Option(names = "--overwrite", description = "Replace an earlier demo's outputs in --out (its seed folders,"
            + " adapters, reports and plot; a directory no demo wrote is refused).")
    private boolean overwrite;

    @Override
    public Integer call() throws IOException {
        new OutputDirectoryGuard("--out", out).requireUsable();
        List<Method> compared = methods.stream().map(m -> EnumNames.parse(Method.class, "--methods", m)).toList();
        new IdleOptions(spec).when(quick, List.of("--seeds"), "with --quick (one seed)")
                .when(!compared.contains(Method.LORA_PRO), List.of("--state-dtype"), "without lora-pro in --methods")
                .print(spec.commandLine().getErr());
        Demo demo = Demo.builder().optOut(out).optSeed(seed).optSeeds(quick ? 1 : seeds).optSteps(steps)
                .optPretrainSteps(pretrainSteps).optSkill(Skill.fromCliName(skill))
                .optMethods(compared)
                .optStateDType(EnumNames.parse(StateDType.class, "--state-dtype", stateDType)).build();
        // an earlier run's seed folders would otherwise sit beside this run's, and its report stay
        demo.prepareOutput(overwrite, sweep);
        if (sweep) {
            demo.sweep(spec.commandLine().getOut());
        } else {
            demo.run(spec.commandLine().getOut());
        }
        return ExitCodes.OK;
    }
}
