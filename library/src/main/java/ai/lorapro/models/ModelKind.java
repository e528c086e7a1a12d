package ai.lorapro.models;

/**
 * What a model family computes, which decides what training, evaluation and generation mean for
 * it: the layers above map each kind to a default training task, and PEFT names it in adapter
 * configs.
 */
public enum ModelKind {
    /** A decoder-only language model (Llama): next-token loss, {@code generate} continues a prompt. */
    CAUSAL_LM("CAUSAL_LM"),
    /** An encoder-decoder language model (T5): target loss, {@code generate} decodes from the input. */
    SEQ_2_SEQ_LM("SEQ_2_SEQ_LM"),
    /** A contrastive image-text model (CLIP): image classification, no text generation. */
    IMAGE_TEXT("FEATURE_EXTRACTION");

    private final String peftTaskType;

    ModelKind(String peftTaskType) {
        this.peftTaskType = peftTaskType;
    }

    /** PEFT's {@code task_type} of adapters trained on this kind. */
    public String peftTaskType() {
        return peftTaskType;
    }
}
