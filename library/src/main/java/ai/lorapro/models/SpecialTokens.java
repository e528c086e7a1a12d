package ai.lorapro.models;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The special token ids of a model: beginning of sequence, end of sequence (several are allowed,
 * the first is the one appended to text) and padding; {@link #NONE} when there is none.
 *
 * @param bos the BOS id or {@link #NONE}
 * @param eos the EOS ids, the one appended first; possibly empty
 * @param pad the padding id or {@link #NONE}
 */
public record SpecialTokens(long bos, List<Long> eos, long pad) {

    /** Marks a token the model does not have. */
    public static final long NONE = -1;

    /** Copies the EOS list. */
    public SpecialTokens {
        eos = List.copyOf(eos);
    }

    /** The EOS id appended to text, or {@link #NONE}. */
    public long firstEos() {
        return eos.isEmpty() ? NONE : eos.get(0);
    }

    /** The id written into padding (masked out): the pad id, else the first EOS, else 0. */
    public long paddingId() {
        if (pad != NONE) {
            return pad;
        }
        return eos.isEmpty() ? 0 : eos.get(0);
    }

    /**
     * These tokens with a tokenizer's where it has them: its BOS and PAD replace the config's, and
     * its EOS comes first among the config's EOS ids.
     */
    public SpecialTokens overriddenBy(OptionalLong bosId, OptionalLong eosId, OptionalLong padId) {
        List<Long> ids = new ArrayList<>();
        eosId.ifPresent(ids::add);
        for (Long id : eos) {
            if (!ids.contains(id)) {
                ids.add(id);
            }
        }
        return new SpecialTokens(bosId.orElse(bos), ids, padId.orElse(pad));
    }
}
