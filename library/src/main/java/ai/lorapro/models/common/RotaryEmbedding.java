package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embeddings in Hugging Face's rotate-half convention ({@code
 * LlamaRotaryEmbedding}, rope_type "default"): the two halves of each head vector are rotated by
 * the angles position * theta^(-2i/d), i &lt; d/2.
 */
public final class RotaryEmbedding {

    private final int headDim;
    private final float[] invFreq;

    /** Rotary embeddings for heads of size {@code headDim} with base {@code ropeTheta}. */
    public RotaryEmbedding(int headDim, double ropeTheta) {
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("rotary head_dim must be even, got " + headDim);
        }
        this.headDim = headDim;
        this.invFreq = new float[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) {
            // HF computes theta ** (2i / d) in float32 and inverts it in float32
            float exponent = (float) (2 * i) / headDim;
            float power = (float) Math.pow(ropeTheta, exponent);
            invFreq[i] = 1.0f / power;
        }
    }

    /** The head size this embedding rotates. */
    public int getHeadDim() {
        return headDim;
    }

    /**
     * cos and sin of the rotation angles for {@code positionIds} [B, T] (integers), as arrays [B,
     * 1, T, head_dim] of {@code dataType} that broadcast over heads. They live on positionIds'
     * manager.
     */
    public Angles angles(NDArray positionIds, DataType dataType) {
        NDArray inv = positionIds.getManager().create(invFreq).reshape(1, 1, -1);
        NDArray positions = positionIds.toType(DataType.FLOAT32, false).expandDims(-1);
        NDArray freqs = positions.mul(inv);
        NDArray emb = freqs.concat(freqs, -1).expandDims(1);
        return new Angles(emb.cos().toType(dataType, false), emb.sin().toType(dataType, false));
    }

    /** Rotates {@code x} [B, H, T, head_dim]: x cos + rotate_half(x) sin. */
    public static NDArray apply(NDArray x, Angles angles) {
        return x.mul(angles.cos()).add(rotateHalf(x).mul(angles.sin()));
    }

    /** (x1, x2) to (-x2, x1) over the halves of the last dimension. */
    static NDArray rotateHalf(NDArray x) {
        long half = x.getShape().get(x.getShape().dimension() - 1) / 2;
        NDArray x1 = x.get(new NDIndex("..., :{}", half));
        NDArray x2 = x.get(new NDIndex("..., {}:", half));
        return NDArrays.concat(new NDList(x2.neg(), x1), -1);
    }

    /**
     * The cosines and sines of the rotation angles, [B, 1, T, head_dim].
     *
     * @param cos the cosines
     * @param sin the sines
     */
    public record Angles(NDArray cos, NDArray sin) {

        /** The shape of both arrays. */
        public Shape shape() {
            return cos.getShape();
        }
    }
}
