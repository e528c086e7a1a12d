package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ProductBound}: the bound of max |L R| from the factors, computed on the host. */
class ProductBoundTest extends ManagedTest {

    @Test
    void boundIsTheSumOfTheFactorMaximaAndHoldsForTheProduct() {
        Random rng = new Random(11);
        int m = 37;
        int k = 6;
        int n = 53;
        float[] left = new float[m * k];
        float[] right = new float[k * n];
        for (int i = 0; i < left.length; i++) {
            left[i] = (float) rng.nextGaussian();
        }
        for (int i = 0; i < right.length; i++) {
            right[i] = (float) rng.nextGaussian() * 3;
        }
        double expected = 0;
        for (int p = 0; p < k; p++) {
            double leftMax = 0;
            for (int i = 0; i < m; i++) {
                leftMax = Math.max(leftMax, Math.abs(left[i * k + p]));
            }
            double rightMax = 0;
            for (int j = 0; j < n; j++) {
                rightMax = Math.max(rightMax, Math.abs(right[p * n + j]));
            }
            expected += leftMax * rightMax;
        }
        NDArray l = manager.create(left, new Shape(m, k));
        NDArray r = manager.create(right, new Shape(k, n));
        double bound = ProductBound.of(l, r);
        assertEquals(expected, bound, 1e-12 * expected);
        try (NDArray product = l.matMul(r);
                NDArray largest = product.abs().max()) {
            assertTrue(largest.getFloat() <= bound, largest.getFloat() + " > " + bound);
        }
        // a float16 factor is widened, not refused
        try (NDArray half = l.toType(DataType.FLOAT16, true)) {
            assertEquals(ProductBound.of(half.toType(DataType.FLOAT32, true), r), ProductBound.of(half, r), 0);
        }
    }

    @Test
    void nanOrInfinityInEitherFactorMakesTheBoundNonFinite() {
        float[] left = {1, 2, 3, 4};
        float[] right = {1, -1, 2, -2};
        for (int place = 0; place < 4; place++) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float[] l = left.clone();
                l[place] = bad;
                float[] r = right.clone();
                r[3 - place] = bad;
                double fromLeft = ProductBound.of(manager.create(l, new Shape(2, 2)), manager.create(right, new Shape(2, 2)));
                double fromRight = ProductBound.of(manager.create(left, new Shape(2, 2)), manager.create(r, new Shape(2, 2)));
                assertTrue(!Double.isFinite(fromLeft), "left[" + place + "] = " + bad + " gave " + fromLeft);
                assertTrue(!Double.isFinite(fromRight), "right[" + (3 - place) + "] = " + bad + " gave " + fromRight);
                if (Float.isNaN(bad)) {
                    assertTrue(Double.isNaN(fromLeft) && Double.isNaN(fromRight), "a NaN must stay NaN");
                }
            }
        }
    }

    @Test
    void factorsThatDoNotChainAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> ProductBound.of(
                manager.zeros(new Shape(3, 4)), manager.zeros(new Shape(5, 2))));
    }
}
