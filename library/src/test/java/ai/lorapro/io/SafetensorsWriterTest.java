package ai.lorapro.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.lorapro.LoraProException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

class SafetensorsWriterTest {

    @TempDir Path tmp;

    private static float[] randomFloats(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (rng.nextGaussian() * 3);
        }
        return out;
    }

    @Test
    void hostArraysRoundTripInEveryDtype() {
        float[] f = randomFloats(24, 1);
        long[] l = {Long.MIN_VALUE, -1, 0, 1, Long.MAX_VALUE, 42};
        int[] i = {Integer.MIN_VALUE, -7, 0, 9, Integer.MAX_VALUE, 3};
        Path file = tmp.resolve("t.safetensors");
        new SafetensorsWriter()
                .putMetadata("step", "12")
                .add("f32", f, 2, 3, 4)
                .add("f16", f, new long[] {24}, TensorDType.F16)
                .add("bf16", f, new long[] {4, 6}, TensorDType.BF16)
                .add("i64", l, 2, 3)
                .add("i32", i, 6)
                .add("scalar", new float[] {7.5f})
                .write(file);
        try (SafetensorsFile r = SafetensorsFile.open(file)) {
            assertEquals(Map.of("format", "pt", "step", "12"), r.metadata());
            assertArrayEquals(f, r.floats("f32"));
            assertArrayEquals(new long[] {2, 3, 4}, r.info("f32").shape().getShape());
            float[] f16 = r.floats("f16");
            float[] bf16 = r.floats("bf16");
            for (int k = 0; k < f.length; k++) {
                assertEquals(HalfFloats.f16ToFloat(HalfFloats.floatToF16(f[k])), f16[k]);
                assertEquals(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(f[k])), bf16[k]);
            }
            assertEquals(TensorDType.BF16, r.info("bf16").dtype());
            ByteBuffer lb = r.bytes("i64");
            for (int k = 0; k < l.length; k++) {
                assertEquals(l[k], lb.getLong(8 * k));
            }
            ByteBuffer ib = r.bytes("i32");
            for (int k = 0; k < i.length; k++) {
                assertEquals(i[k], ib.getInt(4 * k));
            }
            assertEquals(0, r.info("scalar").shape().dimension());
            assertEquals(7.5f, r.floats("scalar")[0]);
        }
    }

    @Test
    void ndArraysRoundTripThroughTheEngine() {
        Path file = tmp.resolve("nd.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(randomFloats(12, 2), new Shape(3, 4));
            NDArray h = a.toType(DataType.FLOAT16, true);
            NDArray l = m.arange(0L, 10L, 1L, DataType.INT64).reshape(2, 5);
            NDArray i = m.arange(0, 6, 1, DataType.INT32);
            SafetensorsWriter.write(file, Map.of("a", a, "h", h, "l", l, "i", i), Map.of("k", "v"));
            try (SafetensorsFile r = SafetensorsFile.open(file)) {
                assertEquals("v", r.metadata().get("k"));
                assertEquals(a, r.load(m, "a"));
                assertEquals(h, r.load(m, "h", DataType.FLOAT16));
                assertEquals(l, r.load(m, "l", DataType.FLOAT32));
                assertEquals(i, r.load(m, "i", DataType.FLOAT32));
                assertEquals(DataType.INT64, r.load(m, "l", DataType.FLOAT32).getDataType());
            }
        }
    }

    @Test
    void headerIsPaddedWithSpacesAndTensorsAreSortedAndContiguous() throws IOException {
        Path file = tmp.resolve("layout.safetensors");
        new SafetensorsWriter()
                .add("zeta", new float[] {1, 2, 3}, 3)
                .add("alpha", new float[] {4}, new long[] {1}, TensorDType.F16)
                .add("mid", new long[] {5, 6}, 2)
                .write(file);
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        String json = header.stripTrailing();
        assertTrue(header.substring(json.length()).chars().allMatch(c -> c == ' '));
        assertTrue(json.startsWith("{\"__metadata__\":{\"format\":\"pt\"},\"alpha\":"), json);
        assertTrue(json.indexOf("\"alpha\"") < json.indexOf("\"mid\"") && json.indexOf("\"mid\"") < json.indexOf("\"zeta\""));
        // the data in the reference's order: wider dtypes first (I64, F32, F16), so each tensor is
        // aligned to its element size; the header lists the names in order
        try (SafetensorsFile r = SafetensorsFile.open(file)) {
            assertEquals(0, r.info("mid").begin());
            assertEquals(r.info("mid").end(), r.info("zeta").begin());
            assertEquals(r.info("zeta").end(), r.info("alpha").begin());
            assertEquals(bytes.length, 8 + n + r.info("alpha").end());
        }
        // an F16 tensor of odd length before an F32 one no longer puts it at an odd offset
        Path mixed = tmp.resolve("mixed.safetensors");
        new SafetensorsWriter().add("a.half", new float[] {1, 2, 3}, new long[] {3}, TensorDType.F16)
                .add("b.full", new float[] {4, 5}, 2).write(mixed);
        try (SafetensorsFile r = SafetensorsFile.open(mixed)) {
            assertEquals(0, r.info("b.full").begin() % 4);
            assertEquals(0, r.info("a.half").begin() % 2);
        }
    }

    /**
     * Files written by the Python reference (all tensors of one dtype, so sorted by name) come
     * back byte for byte when their tensors are copied through the writer.
     */
    @Test
    void rewritingReferenceFilesReproducesTheirBytes() throws IOException {
        List<Path> files = new ArrayList<>();
        files.add(Fixtures.hfTiny().resolve("llama-tiny/model.safetensors"));
        files.add(Fixtures.hfTiny().resolve("llama-tiny-lora-adapter/adapter_model.safetensors"));
        try (Stream<Path> shards = Files.list(Fixtures.hfTiny().resolve("llama-tiny-bf16-sharded"))) {
            shards.filter(p -> p.toString().endsWith(".safetensors")).sorted().forEach(files::add);
        }
        for (Path source : files) {
            Path copy = tmp.resolve("copy.safetensors");
            try (SafetensorsFile r = SafetensorsFile.open(source)) {
                SafetensorsWriter w = new SafetensorsWriter();
                r.metadata().forEach(w::putMetadata);
                for (TensorInfo t : r.tensors().values()) {
                    w.addRaw(t.name(), t.dtype(), t.shape().getShape(), r.bytes(t.name()));
                }
                w.write(copy);
            }
            assertArrayEquals(Files.readAllBytes(source), Files.readAllBytes(copy), source.toString());
        }
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTemporary() throws IOException {
        Path file = tmp.resolve("keep.safetensors");
        new SafetensorsWriter().add("x", new float[] {1}, 1).write(file);
        byte[] before = Files.readAllBytes(file);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray closed = m.create(new float[] {1, 2});
            SafetensorsWriter w = new SafetensorsWriter().add("a", new float[] {3}, 1).add("b", closed);
            closed.close();
            assertThrows(RuntimeException.class, () -> w.write(file));
        }
        assertArrayEquals(before, Files.readAllBytes(file));
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(file), left.toList());
        }
    }

    @Test
    void rejectsDuplicateAndMisfittingTensors() {
        SafetensorsWriter w = new SafetensorsWriter().add("a", new float[] {1}, 1);
        assertThrows(IllegalArgumentException.class, () -> w.add("a", new float[] {1}, 1));
        assertThrows(IllegalArgumentException.class, () -> w.add("b", new float[] {1, 2}, 3));
        assertThrows(IllegalArgumentException.class, () -> w.add("__metadata__", new float[] {1}, 1));
        assertThrows(IllegalArgumentException.class, () -> w.add("c", new float[] {1}, new long[] {1}, TensorDType.I64));
    }

    @Test
    void f16RoundingMatchesEveryHalfAndRoundsTiesToEven() {
        for (int h = 0; h < 0x10000; h++) {
            float f = HalfFloats.f16ToFloat((short) h);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(HalfFloats.f16ToFloat(HalfFloats.floatToF16(f))));
                continue;
            }
            assertEquals((short) h, HalfFloats.floatToF16(f), "half " + Integer.toHexString(h));
            // the midpoint to the next half (same sign) rounds to whichever is even
            if ((h & 0x7FFF) < 0x7BFF) {
                float next = HalfFloats.f16ToFloat((short) (h + 1));
                double mid = ((double) f + next) / 2;
                short expected = (short) ((h & 1) == 0 ? h : h + 1);
                assertEquals(expected, HalfFloats.floatToF16((float) mid), "tie above " + Integer.toHexString(h));
                float justAbove = Math.nextAfter((float) mid, next);
                assertEquals((short) (h + 1), HalfFloats.floatToF16(justAbove));
            }
        }
        assertEquals((short) 0x7C00, HalfFloats.floatToF16(65520f));
        assertEquals((short) 0x7BFF, HalfFloats.floatToF16(65519f));
        assertEquals((short) 0, HalfFloats.floatToF16(1e-9f));
    }

    @Test
    void atomicDirectoryPublishReplacesWholeOrNothing() throws IOException {
        Path dir = tmp.resolve("ckpt");
        AtomicFiles.publishDirectory(dir, d -> Files.writeString(d.resolve("a.txt"), "one"));
        assertEquals("one", Files.readString(dir.resolve("a.txt")));
        AtomicFiles.publishDirectory(dir, d -> Files.writeString(d.resolve("b.txt"), "two"));
        assertEquals("two", Files.readString(dir.resolve("b.txt")));
        assertFalse(Files.exists(dir.resolve("a.txt")));
        assertThrows(
                LoraProException.class,
                () -> AtomicFiles.publishDirectory(dir, d -> {
                    Files.writeString(d.resolve("c.txt"), "half");
                    throw new IOException("disk full");
                }));
        assertEquals("two", Files.readString(dir.resolve("b.txt")));
        assertFalse(Files.exists(dir.resolve("c.txt")));
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(dir), left.toList());
        }
        AtomicFiles.writeString(tmp.resolve("x/y.json"), "{}");
        assertEquals("{}", Files.readString(tmp.resolve("x/y.json")));
    }

    /**
     * A JVM stopped (SIGTERM, as Ctrl-C) while it writes a directory leaves no temporary copy
     * beside the target: a merge of many gigabytes stopped half-way used to leave them all.
     */
    @Test
    @org.junit.jupiter.api.Timeout(120)
    @org.junit.jupiter.api.condition.DisabledOnOs(org.junit.jupiter.api.condition.OS.WINDOWS) // no hooks on destroy
    void aStoppedPublicationLeavesNoTemporaryDirectory() throws Exception {
        Path target = tmp.resolve("stopped/out");
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), StoppedPublishMain.class.getName(), target.toString())
                .redirectErrorStream(true).start();
        try (java.io.BufferedReader out = new java.io.BufferedReader(
                new java.io.InputStreamReader(child.getInputStream(), java.nio.charset.StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null && !line.equals("writing")) {
                // the JVM's own start-up lines, if any
            }
            assertEquals("writing", line);
            try (Stream<Path> during = Files.list(target.getParent())) {
                assertEquals(1, during.filter(p -> p.getFileName().toString().contains(".tmp-")).count());
            }
            child.destroy();
            assertTrue(child.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the child JVM did not stop");
        } finally {
            child.destroyForcibly();
        }
        try (Stream<Path> left = Files.list(target.getParent())) {
            assertEquals(List.of(), left.toList());
        }
    }

    /**
     * A target named with "." or ".." is the directory it names; the current directory (or one
     * holding it) is refused before anything is written: it would be written into itself.
     */
    @Test
    void aDirectoryIsPublishedUnderItsNormalNameAndNeverOverTheCurrentDirectory() throws IOException {
        Path dir = tmp.resolve("ckpt");
        AtomicFiles.publishDirectory(tmp.resolve("ckpt/sub/.."), d -> Files.writeString(d.resolve("a.txt"), "one"));
        assertEquals("one", Files.readString(dir.resolve("a.txt")));
        boolean[] written = {false};
        Path cwd = Path.of("").toAbsolutePath();
        for (Path target : List.of(Path.of("."), cwd, cwd.getParent())) {
            assertThrows(ai.lorapro.InvalidInputException.class,
                    () -> AtomicFiles.publishDirectory(target, d -> written[0] = true), target.toString());
        }
        assertFalse(written[0]);
    }
}
