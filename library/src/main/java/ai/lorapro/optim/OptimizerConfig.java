package ai.lorapro.optim;

import static ai.lorapro.InvalidFieldException.require;

import java.util.Objects;

/**
 * The hyper-parameters of the LoRA-Pro and AdamW optimizers, validated once here. Each optimizer
 * reads the ones it uses: {@link LoraProSgd} the weight decay and X mode, {@link PlainAdamW} the
 * betas, epsilon and weight decay, {@link LoraProAdamW} all of them.
 *
 * <pre>{@code
 * OptimizerConfig adam = OptimizerConfig.DEFAULTS.withWeightDecay(0.01f);
 * LoraProAdamW optimizer = LoraProAdamW.builder().optConfig(adam).addLoraLayers(model).build();
 * }</pre>
 *
 * <p>The constructor throws {@link ai.lorapro.InvalidFieldException} naming the first invalid field.
 *
 * @param beta1 Adam's first-moment decay, in [0, 1)
 * @param beta2 Adam's second-moment decay, in [0, 1)
 * @param eps Adam's epsilon, finite and at least 1e-30
 * @param weightDecay the decoupled weight decay wd (w ← w - lr (update + wd w)), finite and >= 0
 * @param xMode how LoRA-Pro chooses X
 * @param stateDType how LoRA-Pro AdamW's full mode stores its moments
 */
public record OptimizerConfig(double beta1, double beta2, double eps, float weightDecay, XMode xMode,
        StateDType stateDType) {

    /** betas (0.9, 0.999), eps 1e-8, no weight decay, Sylvester X, fp32 moments. */
    public static final OptimizerConfig DEFAULTS =
            new OptimizerConfig(0.9, 0.999, 1e-8, 0f, XMode.SYLVESTER, StateDType.FP32);

    /** Validates every field. */
    public OptimizerConfig {
        new AdamSettings(beta1, beta2, eps).validate();
        require(weightDecay >= 0 && Float.isFinite(weightDecay), "weight_decay",
                "must be finite and >= 0, got " + weightDecay);
        Objects.requireNonNull(xMode, "xMode");
        Objects.requireNonNull(stateDType, "stateDType");
    }

    /** This configuration with Adam's betas replaced. */
    public OptimizerConfig withBetas(double beta1, double beta2) {
        return new OptimizerConfig(beta1, beta2, eps, weightDecay, xMode, stateDType);
    }

    /** This configuration with Adam's epsilon replaced. */
    public OptimizerConfig withEps(double eps) {
        return new OptimizerConfig(beta1, beta2, eps, weightDecay, xMode, stateDType);
    }

    /** This configuration with the weight decay replaced. */
    public OptimizerConfig withWeightDecay(float weightDecay) {
        return new OptimizerConfig(beta1, beta2, eps, weightDecay, xMode, stateDType);
    }

    /** This configuration with the X mode replaced. */
    public OptimizerConfig withXMode(XMode xMode) {
        return new OptimizerConfig(beta1, beta2, eps, weightDecay, xMode, stateDType);
    }

    /** This configuration with the moments' storage replaced. */
    public OptimizerConfig withStateDType(StateDType stateDType) {
        return new OptimizerConfig(beta1, beta2, eps, weightDecay, xMode, stateDType);
    }
}
