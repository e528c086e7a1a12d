package ai.lorapro.lora;

import static ai.lorapro.InvalidFieldException.require;

import ai.lorapro.nn.ModuleTree;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Immutable LoRA hyper-parameters, mirroring PEFT's {@code LoraConfig}.
 *
 * <p>Targets are chosen in one of three ways: a set of module names (a module matches when its
 * dotted path equals a name or ends with {@code "." + name}), a regular expression that must match
 * the whole path, or {@link #ALL_LINEAR}: every linear layer except the model's output head. Our
 * models declare their head ({@link ai.lorapro.nn.HasOutputHead}); in a model that does not, such
 * as a DJL {@code SequentialBlock} of {@link LoraLinear} layers, all-linear targets every one of
 * them, the last included: name the targets there, or give the layers that need one their
 * adapter when building them ({@code LoraLinear.builder().optLora(config)}, as the README's
 * example does) instead of injecting.
 */
public final class LoraConfig {

    /**
     * PEFT's shorthand for "every linear layer except the output head" (the head as the model
     * declares it: {@link ai.lorapro.nn.HasOutputHead}).
     */
    public static final String ALL_LINEAR = "all-linear";

    /** How the trainable factor A is initialised; B always starts at zero. */
    public enum Init {
        /** PEFT's default: Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)). */
        KAIMING_UNIFORM,
        /** PEFT's {@code init_lora_weights="gaussian"}: normal with standard deviation 1/r. */
        GAUSSIAN
    }

    private final int r;
    private final float alpha;
    private final float dropout;
    private final boolean useRsLora;
    private final Set<String> targetModules;
    private final Pattern targetRegex;
    private final Init init;
    private final long seed;

    private LoraConfig(Builder b) {
        this.r = b.r;
        this.alpha = b.alpha;
        this.dropout = b.dropout;
        this.useRsLora = b.useRsLora;
        this.targetModules = Collections.unmodifiableSet(new LinkedHashSet<>(b.targetModules));
        this.targetRegex = b.targetRegex;
        this.init = b.init;
        this.seed = b.seed;
    }

    /**
     * Refuses this rank for a layer of {@code inFeatures} inputs and {@code outFeatures} outputs
     * when r > min(in, out): B (out x r) or A (r x in) could then never have full rank, so B^T B
     * or A A^T stays singular, and LoRA-Pro's r x r algebra on a huge r would run for hours.
     *
     * @param layer the layer's name for the message
     * @throws ai.lorapro.InvalidInputException naming the layer, its shape and the largest valid r
     */
    public void checkFits(String layer, int inFeatures, int outFeatures) {
        int limit = Math.min(inFeatures, outFeatures);
        if (r > limit) {
            throw new ai.lorapro.InvalidInputException(
                    "LoRA rank r = " + r + " is larger than layer " + layer + " allows (" + outFeatures + " x "
                            + inFeatures + ", so r <= " + limit + ")");
        }
    }

    /** A builder with PEFT-like defaults: r 8, alpha 16, no dropout, all-linear targets. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.r = r;
        b.alpha = alpha;
        b.dropout = dropout;
        b.useRsLora = useRsLora;
        b.targetModules = new LinkedHashSet<>(targetModules);
        b.targetRegex = targetRegex;
        b.init = init;
        b.seed = seed;
        return b;
    }

    /** The rank r. */
    public int getR() {
        return r;
    }

    /** The LoRA alpha. */
    public float getAlpha() {
        return alpha;
    }

    /** Dropout probability applied to the input of the LoRA branch. */
    public float getDropout() {
        return dropout;
    }

    /** Whether the scaling is alpha / sqrt(r) (rsLoRA) instead of alpha / r. */
    public boolean isUseRsLora() {
        return useRsLora;
    }

    /** The scaling s in W = W0 + s B A. */
    public float getScaling() {
        return (float) (useRsLora ? alpha / Math.sqrt(r) : alpha / r);
    }

    /** The target module names, or {@code [all-linear]}; empty when a regex is used. */
    public Set<String> getTargetModules() {
        return targetModules;
    }

    /** The target regex, or {@code null}. */
    public Pattern getTargetRegex() {
        return targetRegex;
    }

    /** Whether every linear layer but the head is targeted. */
    public boolean isAllLinear() {
        return targetRegex == null && targetModules.contains(ALL_LINEAR);
    }

    /** How A is initialised. */
    public Init getInit() {
        return init;
    }

    /** Seed for the initialisation of A. */
    public long getSeed() {
        return seed;
    }

    /**
     * Whether a linear layer at {@code modulePath} is a target.
     *
     * @param modulePath the dotted module path, e.g. {@code model.layers.0.self_attn.q_proj}
     * @param isOutputHead whether the layer is the model's output head (never hit by all-linear)
     */
    public boolean matches(String modulePath, boolean isOutputHead) {
        if (targetRegex != null) {
            return BoundedMatch.matches(targetRegex, modulePath);
        }
        if (isAllLinear()) {
            return !isOutputHead;
        }
        for (String name : targetModules) {
            if (ModuleTree.isNamed(modulePath, name)) {
                return true;
            }
        }
        return false;
    }

    /** Equal when every setting is, the target regex compared by its pattern. */
    @Override
    public boolean equals(Object o) {
        return o instanceof LoraConfig c && r == c.r && alpha == c.alpha && dropout == c.dropout
                && useRsLora == c.useRsLora && targetModules.equals(c.targetModules) && init == c.init
                && seed == c.seed && Objects.equals(regex(), c.regex());
    }

    @Override
    public int hashCode() {
        return Objects.hash(r, alpha, dropout, useRsLora, targetModules, regex(), init, seed);
    }

    private String regex() {
        return targetRegex == null ? null : targetRegex.pattern();
    }

    @Override
    public String toString() {
        return "LoraConfig{r="
                + r
                + ", alpha="
                + alpha
                + ", dropout="
                + dropout
                + ", useRsLora="
                + useRsLora
                + ", targets="
                + (targetRegex != null ? "regex:" + targetRegex.pattern() : targetModules)
                + ", init="
                + init
                + '}';
    }

    /** Builds a {@link LoraConfig}. */
    public static final class Builder {
        private int r = 8;
        private float alpha = 16;
        private float dropout;
        private boolean useRsLora;
        private Set<String> targetModules = new LinkedHashSet<>(Set.of(ALL_LINEAR));
        private Pattern targetRegex;
        private Init init = Init.KAIMING_UNIFORM;
        private long seed = 42;

        private Builder() {}

        /** Sets the rank (at least 1). */
        public Builder setR(int r) {
            this.r = r;
            return this;
        }

        /** Sets alpha (the scaling is alpha / r, or alpha / sqrt(r) with rsLoRA). */
        public Builder setAlpha(float alpha) {
            this.alpha = alpha;
            return this;
        }

        /** Sets the dropout probability on the LoRA branch's input, in [0, 1). */
        public Builder optDropout(float dropout) {
            this.dropout = dropout;
            return this;
        }

        /** Uses the rank-stabilised scaling alpha / sqrt(r). */
        public Builder optUseRsLora(boolean useRsLora) {
            this.useRsLora = useRsLora;
            return this;
        }

        /** Targets modules by name ({@code q_proj}) or {@link #ALL_LINEAR}. */
        public Builder optTargetModules(Collection<String> names) {
            this.targetModules = new LinkedHashSet<>(names);
            this.targetRegex = null;
            return this;
        }

        /** Targets modules by name ({@code q_proj}) or {@link #ALL_LINEAR}. */
        public Builder optTargetModules(String... names) {
            return optTargetModules(java.util.Arrays.asList(names));
        }

        /**
         * Targets the modules whose whole dotted path matches {@code regex}.
         *
         * @throws ai.lorapro.InvalidFieldException naming {@code target_modules} if it is not a
         *     valid regular expression
         */
        public Builder optTargetRegex(String regex) {
            try {
                this.targetRegex = Pattern.compile(regex);
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new ai.lorapro.InvalidFieldException("target_modules", "is not a valid regular expression: "
                        + e.getDescription() + " in " + regex);
            }
            this.targetModules = new LinkedHashSet<>();
            return this;
        }

        /** Sets the initialisation of A. */
        public Builder optInit(Init init) {
            this.init = Objects.requireNonNull(init, "init");
            return this;
        }

        /** Sets the seed of A's initialisation. */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Validates and builds the configuration.
         *
         * @throws ai.lorapro.InvalidFieldException naming the first invalid field ({@code r}, {@code alpha},
         *     {@code lora_dropout}, {@code target_modules})
         */
        public LoraConfig build() {
            require(r >= 1, "r", "must be >= 1, got " + r);
            require(alpha > 0 && Float.isFinite(alpha), "alpha", "must be finite and > 0, got " + alpha);
            require(dropout >= 0 && dropout < 1, "lora_dropout", "must be in [0, 1), got " + dropout);
            require(targetRegex != null || (!targetModules.isEmpty() && targetModules.stream().noneMatch(String::isBlank)),
                    "target_modules", "needs at least one non-empty module name");
            return new LoraConfig(this);
        }
    }
}
