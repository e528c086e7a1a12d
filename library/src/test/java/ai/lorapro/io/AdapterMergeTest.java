package ai.lorapro.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.lora.LoraConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The streaming merge on hand-made checkpoints: merged weights equal W0 + s B A rounded once to the
 * tensor's dtype, every other tensor is copied byte for byte, and what cannot be written is refused
 * by name.
 */
class AdapterMergeTest {

    private static final String WEIGHT = "layer.proj.weight";
    private static final String BIAS = "layer.proj.bias";
    private static final String OTHER = "norm.weight";
    private static final String IDS = "position_ids";
    private static final String HEAD = "head.weight";
    /** Rows and columns of the adapted weight: several chunks of rows, the last one short. */
    private static final int OUT = 300;
    private static final int IN = 1100;
    private static final int R = 4;
    private static final float ALPHA = 8;

    @TempDir
    Path tmp;

    private final Random random = new Random(11);

    @Test
    void mergedWeightIsTheBasePlusScaledProductRoundedOnceAndTheRestIsCopied() throws IOException {
        for (TensorDType dtype : new TensorDType[] {TensorDType.F32, TensorDType.BF16, TensorDType.F16}) {
            float[] w = gaussian(OUT * IN, 0.05);
            float[] a = gaussian(R * IN, 0.1);
            float[] b = gaussian(OUT * R, 0.1);
            Path out = merge(dtype, w, a, b, null, null, Long.MAX_VALUE, null);
            Path base = baseOf(out);
            double s = ALPHA / R;
            try (SafetensorsFile merged = SafetensorsFile.open(out.resolve(HfCheckpoint.SAFETENSORS_NAME));
                    SafetensorsFile original = SafetensorsFile.open(base.resolve(HfCheckpoint.SAFETENSORS_NAME))) {
                assertEquals(dtype, merged.info(WEIGHT).dtype());
                float[] w0 = original.floats(WEIGHT);
                float[] got = merged.floats(WEIGHT);
                int changed = 0;
                for (int i = 0; i < OUT; i++) {
                    for (int j = 0; j < IN; j++) {
                        double delta = 0;
                        for (int k = 0; k < R; k++) {
                            delta += (double) b[i * R + k] * a[k * IN + j];
                        }
                        float expected = roundTo(dtype, (float) (w0[i * IN + j] + s * delta));
                        assertEquals(expected, got[i * IN + j], 0f, dtype + " element [" + i + ", " + j + "]");
                        changed += got[i * IN + j] != w0[i * IN + j] ? 1 : 0;
                    }
                }
                assertTrue(changed > OUT * IN / 2, dtype + ": the adapter changed only " + changed + " elements");
                for (String name : List.of(BIAS, OTHER, IDS, HEAD)) {
                    assertEquals(original.info(name).dtype(), merged.info(name).dtype(), name);
                    assertEquals(original.bytes(name), merged.bytes(name), name + " is copied byte for byte");
                }
                assertEquals(original.names(), merged.names());
            }
        }
    }

    @Test
    void aFloatTypeConvertsEveryFloatingTensorAndLeavesIntegersAlone() throws IOException {
        Path out = merge(TensorDType.BF16, gaussian(OUT * IN, 0.05), gaussian(R * IN, 0.1), gaussian(OUT * R, 0.1),
                null, TensorDType.F32, Long.MAX_VALUE, null);
        Path base = baseOf(out);
        try (SafetensorsFile merged = SafetensorsFile.open(out.resolve(HfCheckpoint.SAFETENSORS_NAME));
                SafetensorsFile original = SafetensorsFile.open(base.resolve(HfCheckpoint.SAFETENSORS_NAME))) {
            for (String name : List.of(WEIGHT, BIAS, OTHER, HEAD)) {
                assertEquals(TensorDType.F32, merged.info(name).dtype(), name);
            }
            // bf16 widens to float32 exactly
            assertArrayEquals(original.floats(OTHER), merged.floats(OTHER), 0f);
            assertEquals(TensorDType.I64, merged.info(IDS).dtype());
            assertEquals(original.bytes(IDS), merged.bytes(IDS));
        }
    }

    @Test
    void modulesToSaveReplaceTheirBaseTensors() throws IOException {
        float[] head = gaussian(3 * 8, 1);
        Path out = merge(TensorDType.F16, gaussian(OUT * IN, 0.05), gaussian(R * IN, 0.1), gaussian(OUT * R, 0.1),
                head, null, Long.MAX_VALUE, null);
        try (SafetensorsFile merged = SafetensorsFile.open(out.resolve(HfCheckpoint.SAFETENSORS_NAME))) {
            assertEquals(TensorDType.F16, merged.info(HEAD).dtype());
            float[] got = merged.floats(HEAD);
            for (int i = 0; i < head.length; i++) {
                assertEquals(HalfFloats.f16ToFloat(HalfFloats.floatToF16(head[i])), got[i], 0f, "head element " + i);
            }
        }
    }

    /** A modules_to_save tensor that replaces an adapted weight is W0 of its merge, as loading makes it. */
    @Test
    void aSavedModuleThatIsAlsoAdaptedIsTheBaseOfItsMerge() throws IOException {
        Path base = tmp.resolve("base");
        writeBase(base, TensorDType.F32, gaussian(OUT * IN, 0.05));
        float[] a = gaussian(R * IN, 0.1);
        float[] b = gaussian(OUT * R, 0.1);
        float[] replacement = gaussian(OUT * IN, 0.05);
        Path adapterDir = tmp.resolve("adapter");
        Files.createDirectories(adapterDir);
        String prefix = "base_model.model.layer.proj";
        Path weights = adapterDir.resolve(PeftAdapter.WEIGHTS_NAME);
        new SafetensorsWriter()
                .add(prefix + ".lora_A.weight", a, R, IN)
                .add(prefix + ".lora_B.weight", b, OUT, R)
                .add(prefix + ".weight", replacement, OUT, IN)
                .write(weights);
        PeftAdapter.Layout layout = new PeftAdapter.Layout(weights,
                LoraConfig.builder().setR(R).setAlpha(ALPHA).optTargetModules("proj").build(),
                Map.of("layer.proj", new PeftAdapter.LoraKeys(prefix + ".lora_A.weight", prefix + ".lora_B.weight")),
                Map.of(prefix + ".weight", WEIGHT));
        Path out = tmp.resolve("merged");
        Files.createDirectories(out);
        try (HfCheckpoint checkpoint = HfCheckpoint.open(base)) {
            AdapterMerge.write(checkpoint, checkpoint.names(), layout, null, out, Long.MAX_VALUE, null);
        }
        try (SafetensorsFile merged = SafetensorsFile.open(out.resolve(HfCheckpoint.SAFETENSORS_NAME))) {
            float[] got = merged.floats(WEIGHT);
            for (int i = 0; i < OUT; i += 37) {
                for (int j = 0; j < IN; j += 13) {
                    double delta = 0;
                    for (int k = 0; k < R; k++) {
                        delta += (double) b[i * R + k] * a[k * IN + j];
                    }
                    assertEquals((float) (replacement[i * IN + j] + ALPHA / R * delta), got[i * IN + j], 0f,
                            "element [" + i + ", " + j + "]");
                }
            }
        }
    }

    @Test
    void largeOutputsAreShardedWithAnIndexThatOpensAsTheSameCheckpoint() throws IOException {
        // the weight alone is 660,000 bytes: it gets a shard, the small tensors share another
        Path out = merge(TensorDType.BF16, gaussian(OUT * IN, 0.05), gaussian(R * IN, 0.1), gaussian(OUT * R, 0.1),
                null, null, 100_000, null);
        Path base = baseOf(out);
        List<String> files;
        try (Stream<Path> written = Files.list(out)) {
            files = written.map(p -> p.getFileName().toString()).filter(f -> f.endsWith(".safetensors")).toList();
        }
        assertTrue(files.size() > 1, "shards " + files);
        assertTrue(Files.isRegularFile(out.resolve(HfCheckpoint.INDEX_NAME)));
        try (HfCheckpoint merged = HfCheckpoint.open(out);
                HfCheckpoint original = HfCheckpoint.open(base)) {
            assertEquals(original.names(), merged.names());
            assertEquals(files.size(), merged.shardCount());
            assertArrayEquals(original.floats(OTHER), merged.floats(OTHER), 0f);
        }
    }

    @Test
    void aWeightThatOverflowsItsDtypeIsRefusedByName() throws IOException {
        Path base = tmp.resolve("base");
        float[] w = gaussian(OUT * IN, 0.05);
        w[5 * IN + 7] = 65_000f;
        writeBase(base, TensorDType.F16, w);
        float[] a = new float[R * IN];
        float[] b = new float[OUT * R];
        a[7] = 1000f;
        b[5 * R] = 1f; // s B A at [5, 7] is 2 x 1000: 67,000 is past float16's 65,504
        PeftAdapter.Layout layout = adapter(tmp.resolve("adapter"), a, b, null);
        Path out = tmp.resolve("merged");
        Files.createDirectories(out);
        try (HfCheckpoint checkpoint = HfCheckpoint.open(base)) {
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> AdapterMerge.write(checkpoint, checkpoint.names(), layout, null, out, Long.MAX_VALUE, null));
            assertTrue(e.getMessage().contains(WEIGHT) && e.getMessage().contains("[5, 7]")
                    && e.getMessage().contains("F16"), e.getMessage());
        }
    }

    @Test
    void aNonFiniteAdapterTensorIsRefusedBeforeAnythingIsWritten() throws IOException {
        Path base = tmp.resolve("base");
        writeBase(base, TensorDType.BF16, gaussian(OUT * IN, 0.05));
        float[] b = gaussian(OUT * R, 0.1);
        b[17] = Float.NaN;
        PeftAdapter.Layout layout = adapter(tmp.resolve("adapter"), gaussian(R * IN, 0.1), b, null);
        Path out = tmp.resolve("merged");
        Files.createDirectories(out);
        try (HfCheckpoint checkpoint = HfCheckpoint.open(base)) {
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> AdapterMerge.write(checkpoint, checkpoint.names(), layout, null, out, Long.MAX_VALUE, null));
            assertTrue(e.getMessage().contains("lora_B") && e.getMessage().contains("NaN or infinity"),
                    e.getMessage());
        }
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(0, files.count(), "nothing written");
        }
    }

    @Test
    void progressCountsEveryTensorAndByte() throws IOException {
        List<long[]> calls = new ArrayList<>();
        merge(TensorDType.BF16, gaussian(OUT * IN, 0.05), gaussian(R * IN, 0.1), gaussian(OUT * R, 0.1), null, null,
                Long.MAX_VALUE, (tensors, total, bytes, totalBytes) -> calls.add(new long[] {tensors, total, bytes, totalBytes}));
        assertEquals(5, calls.size());
        long[] last = calls.get(calls.size() - 1);
        long expectedBytes = 2L * (OUT * IN + OUT + 8 + 3 * 8) + 8L * 16;
        assertArrayEquals(new long[] {5, 5, expectedBytes, expectedBytes}, last);
    }

    /** Writes a base of {@code dtype} around {@code weight} and its adapter, and merges them into a new directory. */
    private Path merge(TensorDType dtype, float[] weight, float[] a, float[] b, float[] head, TensorDType floatType,
            long maxShardBytes, AdapterMerge.Progress progress) throws IOException {
        String name = "merged-" + dtype + "-" + random.nextInt(1_000_000);
        Path base = tmp.resolve(name + "-base");
        writeBase(base, dtype, weight);
        PeftAdapter.Layout layout = adapter(tmp.resolve(name + "-adapter"), a, b, head);
        Path out = tmp.resolve(name);
        Files.createDirectories(out);
        try (HfCheckpoint checkpoint = HfCheckpoint.open(base)) {
            AdapterMerge.write(checkpoint, checkpoint.names(), layout, floatType, out, maxShardBytes, progress);
        }
        return out;
    }

    /** The base checkpoint {@link #merge} wrote beside {@code merged}. */
    private static Path baseOf(Path merged) {
        return merged.resolveSibling(merged.getFileName() + "-base");
    }

    private static float roundTo(TensorDType dtype, float value) {
        switch (dtype) {
            case BF16:
                return HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(value));
            case F16:
                return HalfFloats.f16ToFloat(HalfFloats.floatToF16(value));
            default:
                return value;
        }
    }

    private float[] gaussian(int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * std);
        }
        return x;
    }

    /** A checkpoint: the adapted weight, its bias, a norm, an int64 buffer and a head. */
    private void writeBase(Path dir, TensorDType dtype, float[] weight) throws IOException {
        Files.createDirectories(dir);
        long[] ids = new long[16];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
        }
        new SafetensorsWriter()
                .add(WEIGHT, weight, new long[] {OUT, IN}, dtype)
                .add(BIAS, gaussian(OUT, 0.1), new long[] {OUT}, dtype)
                .add(OTHER, gaussian(8, 1), new long[] {8}, dtype)
                .add(IDS, ids, 16)
                .add(HEAD, gaussian(3 * 8, 1), new long[] {3, 8}, dtype)
                .write(dir.resolve(HfCheckpoint.SAFETENSORS_NAME));
    }

    /** An adapter for the weight (and the head as a module to save, when given), laid out by hand. */
    private static PeftAdapter.Layout adapter(Path dir, float[] a, float[] b, float[] head) throws IOException {
        Files.createDirectories(dir);
        String prefix = "base_model.model.layer.proj";
        SafetensorsWriter writer = new SafetensorsWriter()
                .add(prefix + ".lora_A.weight", a, R, IN)
                .add(prefix + ".lora_B.weight", b, OUT, R);
        if (head != null) {
            writer.add("base_model.model." + HEAD, head, 3, 8);
        }
        Path weights = dir.resolve(PeftAdapter.WEIGHTS_NAME);
        writer.write(weights);
        LoraConfig config = LoraConfig.builder().setR(R).setAlpha(ALPHA).optTargetModules("proj").build();
        return new PeftAdapter.Layout(weights, config,
                Map.of("layer.proj", new PeftAdapter.LoraKeys(prefix + ".lora_A.weight", prefix + ".lora_B.weight")),
                head == null ? Map.of() : Map.of("base_model.model." + HEAD, HEAD));
    }
}
