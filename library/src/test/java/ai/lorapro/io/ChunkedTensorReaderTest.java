package ai.lorapro.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.lorapro.InvalidInputException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.SplittableRandom;

/** Tensors larger than one chunk load equal to the host-side conversion, in every float dtype. */
class ChunkedTensorReaderTest {

    @TempDir
    Path tmp;

    @Test
    void multiChunkTensorsLoadExactly() {
        int rows = 300;
        int cols = 2001; // 600300 values: several chunks, the last one partial
        float[] values = new float[rows * cols];
        SplittableRandom rng = new SplittableRandom(3);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (rng.nextGaussian() * 3);
        }
        long[] longs = new long[rows * cols];
        for (int i = 0; i < longs.length; i++) {
            longs[i] = rng.nextLong();
        }
        long[] shape = {rows, cols};
        Path file = tmp.resolve("big.safetensors");
        new SafetensorsWriter()
                .add("f32", values, shape, TensorDType.F32)
                .add("f16", values, shape, TensorDType.F16)
                .add("bf16", values, shape, TensorDType.BF16)
                .add("i64", longs, shape)
                .write(file);
        try (SafetensorsFile source = SafetensorsFile.open(file); NDManager manager = NDManager.newBaseManager()) {
            for (String name : new String[] {"f32", "f16", "bf16"}) {
                float[] host = source.floats(name);
                NDArray f32 = source.load(manager, name, DataType.FLOAT32);
                assertEquals(new Shape(rows, cols), f32.getShape(), name);
                assertArrayEquals(host, f32.toFloatArray(), name);
                NDArray f16 = source.load(manager, name, DataType.FLOAT16);
                assertEquals(DataType.FLOAT16, f16.getDataType());
                // the engine rounds to float16 exactly as converting the float32 array does
                try (NDArray expected = manager.create(host, f32.getShape()).toType(DataType.FLOAT16, false)) {
                    assertArrayEquals(expected.toByteArray(), f16.toByteArray(), name + " as float16");
                }
            }
            NDArray ints = source.load(manager, "i64", DataType.FLOAT32);
            assertEquals(DataType.INT64, ints.getDataType());
            assertArrayEquals(longs, ints.toLongArray());
        }
    }
    /** {@code loadStored} keeps float64 as float64, bit for bit, in one read and in chunks. */
    @Test
    void float64LoadsStoredExactly() {
        SplittableRandom rng = new SplittableRandom(5);
        Path file = tmp.resolve("f64.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            double[] small = rng.doubles(100).toArray();
            double[] large = rng.doubles(300_000).toArray(); // 2.4 MB: chunked
            new SafetensorsWriter().add("small", manager.create(small)).add("large", manager.create(large)).write(file);
            try (SafetensorsFile source = SafetensorsFile.open(file)) {
                for (String name : new String[] {"small", "large"}) {
                    NDArray loaded = source.loadStored(manager, name);
                    assertEquals(DataType.FLOAT64, loaded.getDataType(), name);
                    assertArrayEquals(name.equals("small") ? small : large, loaded.toDoubleArray(), 0.0, name);
                }
            }
        }
    }

    /** A value float16 cannot hold is refused when loading as float16, not turned into infinity. */
    @Test
    void valuesBeyondFloat16AreRefusedByTensorAndElement() {
        float[] big = new float[300 * 2001];
        big[400_000] = 1e5f; // in the second chunk
        float[] small = new float[64];
        small[9] = -7e4f;
        Path file = tmp.resolve("range.safetensors");
        new SafetensorsWriter()
                .add("big_f32", big, new long[] {300, 2001}, TensorDType.F32)
                .add("big_bf16", big, new long[] {300, 2001}, TensorDType.BF16)
                .add("small_bf16", small, new long[] {8, 8}, TensorDType.BF16)
                .write(file);
        try (SafetensorsFile source = SafetensorsFile.open(file); NDManager manager = NDManager.newBaseManager()) {
            for (String name : new String[] {"big_f32", "big_bf16", "small_bf16"}) {
                InvalidInputException e =
                        assertThrows(InvalidInputException.class, () -> source.load(manager, name, DataType.FLOAT16));
                String element = name.startsWith("big") ? "element 400000" : "element 9";
                // the file too: in a sharded checkpoint the tensor's name alone does not say where it is
                assertTrue(e.getMessage().contains(file + ": tensor '" + name + "'")
                        && e.getMessage().contains(element) && e.getMessage().contains("F16"), e.getMessage());
                // float32 holds them
                assertEquals(DataType.FLOAT32, source.load(manager, name, DataType.FLOAT32).getDataType());
            }
        }
    }
}
