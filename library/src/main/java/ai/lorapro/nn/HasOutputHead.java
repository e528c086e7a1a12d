package ai.lorapro.nn;

import java.util.Set;

/**
 * A model that names its output (or classification) head, so that "all-linear" LoRA targeting
 * can leave it out as PEFT does.
 */
public interface HasOutputHead {

    /** Dotted module paths of the output heads, e.g. {@code lm_head}. */
    Set<String> outputHeadPaths();
}
