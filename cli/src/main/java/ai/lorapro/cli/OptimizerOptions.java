package ai.lorapro.cli;

import ai.lorapro.optim.OptimizerConfig;
import ai.lorapro.optim.StateDType;
import ai.lorapro.optim.XMode;
import ai.lorapro.train.TrainConfig;

import picocli.CommandLine.Option;

import java.util.Map;

/**
 * The options of {@link OptimizerConfig}: {@code --beta1 --beta2 --eps --weight-decay --x-mode
 * --state-dtype}.
 */
final class OptimizerOptions implements FieldOptions {

    private static final OptimizerConfig DEFAULTS = TrainConfig.DEFAULT_OPTIMIZER;

    @Option(names = "--x-mode", paramLabel = "MODE", completionCandidates = EnumNames.XModes.class,
            description = "LoRA-Pro's X: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    String xMode = EnumNames.of(DEFAULTS.xMode());

    @Option(names = "--state-dtype", paramLabel = "TYPE",
            description = "Storage of lora-pro's full-mode moments: fp32 or bf16 (half the memory, CPU only; "
                    + "default: ${DEFAULT-VALUE}).")
    String stateDType = EnumNames.of(DEFAULTS.stateDType());

    @Option(names = "--beta1", paramLabel = "X", description = "Adam beta1 (default: ${DEFAULT-VALUE}).")
    float beta1 = (float) DEFAULTS.beta1();

    @Option(names = "--beta2", paramLabel = "X", description = "Adam beta2 (default: ${DEFAULT-VALUE}).")
    float beta2 = (float) DEFAULTS.beta2();

    @Option(names = "--eps", paramLabel = "X", description = "Adam epsilon (default: ${DEFAULT-VALUE}).")
    float eps = (float) DEFAULTS.eps();

    @Option(names = "--weight-decay", paramLabel = "X", description = "Weight decay (default: ${DEFAULT-VALUE}).")
    float weightDecay = DEFAULTS.weightDecay();

    @Override
    public Map<String, String> flags() {
        return Map.of("beta1", "--beta1", "beta2", "--beta2", "betas", "--beta1/--beta2", "eps", "--eps",
                "weight_decay", "--weight-decay", "x_mode", "--x-mode", "state_dtype", "--state-dtype");
    }

    /** The hyper-parameters these options describe. */
    OptimizerConfig toConfig() {
        return new OptimizerConfig(beta1, beta2, eps, weightDecay, EnumNames.parse(XMode.class, "--x-mode", xMode),
                EnumNames.parse(StateDType.class, "--state-dtype", stateDType));
    }
}
