package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.nn.Finiteness;

import org.junit.jupiter.api.Test;

import java.util.List;

class GradientClippingTest {

    @Test
    void scalesToMaxNormAndReturnsPreClipNorm() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.create(new float[] {3, 4});
            NDArray b = manager.create(new float[] {12});
            double norm = GradientClipping.clipByGlobalNorm(List.of(a, b), 6.5);
            assertEquals(13.0, norm, 1e-6);
            float scale = (float) (6.5 / (13 + 1e-6));
            assertArrayEquals(new float[] {3 * scale, 4 * scale}, a.toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {12 * scale}, b.toFloatArray(), 1e-6f);
            assertEquals(6.5, GradientClipping.globalNorm(List.of(a, b)), 1e-5);
        }
    }

    @Test
    void leavesGradientsBelowTheBoundOrWhenOff() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.create(new float[] {3, 4});
            assertEquals(5.0, GradientClipping.clipByGlobalNorm(List.of(a), 10), 1e-6);
            assertArrayEquals(new float[] {3, 4}, a.toFloatArray());
            assertEquals(5.0, GradientClipping.clipByGlobalNorm(List.of(a), 0), 1e-6);
            assertArrayEquals(new float[] {3, 4}, a.toFloatArray());
        }
    }

    @Test
    void nonFiniteNormIsReportedAndNothingIsScaled() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.create(new float[] {3, 4});
            NDArray b = manager.create(new float[] {Float.NaN});
            double norm = GradientClipping.clipByGlobalNorm(List.of(a, b), 1);
            assertTrue(Double.isNaN(norm));
            assertFalse(Finiteness.isFinite(norm));
            assertArrayEquals(new float[] {3, 4}, a.toFloatArray());
            NDArray c = manager.create(new float[] {Float.POSITIVE_INFINITY, 1});
            assertTrue(Double.isInfinite(GradientClipping.clipByGlobalNorm(List.of(a, c), 1)));
            assertArrayEquals(new float[] {3, 4}, a.toFloatArray());
        }
    }

    @Test
    void halfPrecisionGradientsAreSummedInFloat32() {
        try (NDManager manager = NDManager.newBaseManager()) {
            // 300^2 * 4 = 360000 overflows float16 (max 65504) but not its norm, 600.
            NDArray a = manager.create(new float[] {300, 300, 300, 300}).toType(DataType.FLOAT16,
                    false);
            assertEquals(600.0, GradientClipping.clipByGlobalNorm(List.of(a), 60), 1e-3);
            assertEquals(DataType.FLOAT16, a.getDataType());
            assertArrayEquals(new float[] {30, 30, 30, 30},
                    a.toType(DataType.FLOAT32, false).toFloatArray(), 0.05f);
        }
    }

    @Test
    void finitenessCheck() {
        try (NDManager manager = NDManager.newBaseManager()) {
            assertTrue(Finiteness.isAllFinite(manager.create(new float[] {1, -2, 0})));
            assertFalse(Finiteness.isAllFinite(manager.create(new float[] {1, Float.NaN})));
            assertFalse(Finiteness.isAllFinite(
                    manager.create(new float[] {Float.NEGATIVE_INFINITY})));
            assertTrue(Finiteness.isAllFinite(manager.create(new long[] {1, 2})));
            assertTrue(Finiteness.isFinite(1.5));
            assertFalse(Finiteness.isFinite(Double.POSITIVE_INFINITY));
        }
    }
}
