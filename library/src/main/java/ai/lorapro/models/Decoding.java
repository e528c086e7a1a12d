package ai.lorapro.models;

/**
 * How {@code generate} picks tokens: greedily, or by top-p sampling at a temperature.
 *
 * @param maxNewTokens the most tokens to add, at least 1
 * @param topP the nucleus of top-p sampling in (0, 1], or null for greedy decoding
 * @param temperature the sampling temperature, &gt; 0
 * @param seed the sampling seed
 */
public record Decoding(int maxNewTokens, Double topP, double temperature, long seed) {

    /** Checks the values. */
    public Decoding {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
        }
        if (topP != null && !(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
        }
    }

    /** Greedy decoding of up to {@code maxNewTokens} tokens. */
    public static Decoding greedy(int maxNewTokens) {
        return new Decoding(maxNewTokens, null, 1.0, 0);
    }

    /** Whether this samples rather than decoding greedily. */
    public boolean sampling() {
        return topP != null;
    }
}
