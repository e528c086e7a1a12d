package ai.lorapro.cli;

import ai.lorapro.lora.LoraConfig;

import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The options of {@link LoraConfig}: {@code --r --alpha --rslora --lora-dropout --target-modules}. */
final class LoraOptions implements FieldOptions {

    private static final LoraConfig DEFAULTS = LoraConfig.builder().build();

    @Option(names = "--r", paramLabel = "N", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    int r = DEFAULTS.getR();

    @Option(names = "--alpha", paramLabel = "X", description = "LoRA alpha (default: ${DEFAULT-VALUE}).")
    float alpha = DEFAULTS.getAlpha();

    @Option(names = "--rslora", description = "Scale by alpha/sqrt(r) (rsLoRA).")
    boolean rsLora = DEFAULTS.isUseRsLora();

    @Option(names = "--lora-dropout", paramLabel = "X", description = "LoRA dropout (default: ${DEFAULT-VALUE}).")
    float loraDropout = DEFAULTS.getDropout();

    @Option(names = "--target-modules", split = ",", paramLabel = "NAMES",
            description = "Comma-separated module names, or all-linear (default: all-linear).")
    List<String> targetModules = new ArrayList<>(DEFAULTS.getTargetModules());

    @Override
    public Map<String, String> flags() {
        return Map.of("r", "--r", "alpha", "--alpha", "rslora", "--rslora", "lora_dropout", "--lora-dropout",
                "target_modules", "--target-modules");
    }

    /** The adapters these options describe, initialised from {@code seed}. */
    LoraConfig toConfig(long seed) {
        return LoraConfig.builder()
                .setR(r)
                .setAlpha(alpha)
                .optUseRsLora(rsLora)
                .optDropout(loraDropout)
                .optTargetModules(targetModules)
                .optSeed(seed)
                .build();
    }
}
