package ai.lorapro.models.random;

import ai.lorapro.io.FloatChunks;
import ai.lorapro.io.StreamedTensor;
import ai.lorapro.io.TensorDType;
import ai.lorapro.nn.Sampling;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * The bytes of one randomly initialised tensor, generated in chunks of {@value #CHUNK} elements
 * straight into the output. Each tensor draws from its own generator, seeded by the model's seed
 * and the tensor's name, so the bytes depend on nothing else (not on shard sizes, nor on the other
 * tensors). Normal values come from {@link Sampling#gaussian} in double precision, rounded to the
 * file's dtype (round to nearest even).
 */
final class RandomTensorBytes {

    static final int CHUNK = 1 << 16;

    private RandomTensorBytes() {}

    /** Writes {@code count} elements of {@code init} as {@code dtype} (F32, F16 or BF16). */
    static StreamedTensor.ByteProducer producer(TensorInit init, TensorDType dtype, long count, long seed) {
        if (dtype != TensorDType.F32 && dtype != TensorDType.F16 && dtype != TensorDType.BF16) {
            throw new IllegalArgumentException("random weights are F32, F16 or BF16, not " + dtype);
        }
        return out -> {
            SplittableRandom rng = new SplittableRandom(seed);
            int size = dtype.byteSize();
            float[] values = new float[CHUNK];
            byte[] bytes = new byte[CHUNK * size];
            for (long done = 0; done < count; ) {
                int n = (int) Math.min(CHUNK, count - done);
                for (int i = 0; i < n; i++) {
                    values[i] = init.isNormal() ? (float) (Sampling.gaussian(rng) * init.std()) : init.constant();
                }
                FloatChunks.encode(values, n, dtype, bytes);
                out.write(bytes, 0, n * size);
                done += n;
            }
        };
    }

    /** The seed of the tensor {@code name} in a model seeded with {@code modelSeed}. */
    static long tensorSeed(long modelSeed, String name) {
        long h = 0xcbf29ce484222325L; // FNV-1a, stable across JVMs
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001b3L;
        }
        return new SplittableRandom(modelSeed ^ h).nextLong();
    }
}
