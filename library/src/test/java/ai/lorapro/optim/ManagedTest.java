package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.optimizer.Optimizer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import java.util.List;
import java.util.Random;

/** A test with a fresh manager per test method, and random float32 arrays and parameters on it. */
abstract class ManagedTest {

    /** Rows of B (m), columns of A (n) and rank of the pair in {@link PairAndHead}. */
    static final int M = 6;
    static final int N = 5;
    static final int R = 2;

    NDManager manager;

    @BeforeEach
    void openManager() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void closeManager() {
        manager.close();
    }

    /** A rows x cols float32 array of standard normal values. */
    NDArray random(Random rng, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        return manager.create(v, new Shape(rows, cols));
    }

    /** A trainable parameter holding {@code value}. */
    static Parameter trainable(String name, NDArray value) {
        Parameter p = Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT).build();
        value.setRequiresGradient(true);
        p.setArray(value);
        return p;
    }

    /** A LoRA pair A (r x n), B (m x r) and a plain 3 x 4 parameter, drawn from a seed. */
    class PairAndHead {
        final Parameter a;
        final Parameter b;
        final Parameter head;

        PairAndHead(long seed) {
            Random rng = new Random(seed);
            a = trainable("lora_A.weight", random(rng, R, N));
            b = trainable("lora_B.weight", random(rng, M, R));
            head = trainable("head.weight", random(rng, 3, 4));
        }

        List<Parameter> all() {
            return List.of(a, b, head);
        }

        void update(Optimizer optimizer, Parameter p, NDArray grad) {
            optimizer.update(p.getId(), p.getArray(), grad);
        }
    }
}
