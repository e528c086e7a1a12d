package ai.lorapro.reliability;

import static ai.lorapro.reliability.BadCheckpointCliTest.assertOneLineBadInput;
import static ai.lorapro.reliability.TinyHfModel.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.cli.CliRun;
import ai.lorapro.io.AtomicFiles;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.io.SafetensorsWriter;
import ai.lorapro.train.RunIdentity;
import ai.lorapro.train.TrainerState;
import ai.lorapro.train.TrainingCheckpoint;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * {@code --resume} checks that the checkpoint belongs to this run (base model, method and LoRA
 * settings, data, global batch; changed hyper-parameters only when named), that its step is
 * within the run and its optimizer state finite; {@code merge} and {@code generate} refuse
 * non-finite adapter tensors.
 */
class CheckedResumeCliTest extends TinyModelCliTestBase {

    private static Path otherModel;
    private static Path checkpoint;

    @TempDir
    Path tmp;

    @BeforeAll
    static void trainOnce() throws IOException {
        otherModel = TinyHfModel.save(shared.resolve("model24"), 24, (n, i) -> true);
        Path out = shared.resolve("run");
        CliRun.Result first = train(out, model, data, 2, List.of());
        assertEquals(0, first.code(), first.err());
        checkpoint = out.resolve("checkpoints/step-000001");
    }

    private static CliRun.Result train(Path out, Path modelDir, Path dataFile, int steps, List<String> extra) {
        List<String> defaults = List.of("--checkpoint-interval", "1", "--global-batch", "2", "--micro-batch", "2",
                "--device", "cpu", "--method", "lora-pro", "--r", "4", "--alpha", "8", "--lr", "0.01");
        List<String> args = new ArrayList<>(List.of("train", "--model", modelDir.toString(), "--data",
                dataFile.toString(), "--out", out.toString(), "--max-steps", String.valueOf(steps)));
        for (int i = 0; i < defaults.size(); i += 2) {
            if (!extra.contains(defaults.get(i))) {
                args.addAll(defaults.subList(i, i + 2));
            }
        }
        args.addAll(extra);
        return cli(args.toArray(String[]::new));
    }

    private CliRun.Result resume(Path from, String... extra) {
        List<String> args = new ArrayList<>(List.of("--resume", from.toString()));
        args.addAll(List.of(extra));
        return train(tmp.resolve("resumed"), model, data, 2, args);
    }

    private Path copyOfCheckpoint() throws IOException {
        Path copy = tmp.resolve("copy");
        Files.createDirectories(copy.resolve(TrainingCheckpoint.ADAPTER_DIR));
        try (var files = Files.walk(checkpoint)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f)) {
                    Files.copy(f, copy.resolve(checkpoint.relativize(f).toString()));
                }
            }
        }
        return copy;
    }

    private static void editJson(Path file, Consumer<JsonObject> edit) throws IOException {
        JsonObject o = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        edit.accept(o);
        Files.writeString(file, o.toString());
    }

    /** Replaces the first tensor of a safetensors file by NaN (or +infinity). */
    private static void poisonFirstTensor(Path file, float value) throws IOException {
        Path poisoned = file.resolveSibling("poisoned.safetensors");
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile f = SafetensorsFile.open(file)) {
            SafetensorsWriter writer = new SafetensorsWriter();
            boolean first = true;
            for (String name : f.names()) {
                NDArray a = f.load(manager, name, DataType.FLOAT32);
                writer.add(name, first ? a.onesLike().mul(value) : a);
                first = false;
            }
            writer.write(poisoned);
        }
        Files.move(poisoned, file, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void theUnchangedRunResumes() {
        CliRun.Result r = resume(checkpoint);
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void aChangedIdentityIsRefusedNamingTheField() throws IOException {
        assertOneLineBadInput("--r", resume(checkpoint, "--r", "8"), "field r (--r)", "checkpoint 4", "this run 8");
        assertOneLineBadInput("--alpha", resume(checkpoint, "--alpha", "16"), "field alpha");
        assertOneLineBadInput("--rslora", resume(checkpoint, "--rslora"), "field rslora");
        assertOneLineBadInput("--global-batch", resume(checkpoint, "--global-batch", "4", "--micro-batch", "4"),
                "field global_batch");
        assertOneLineBadInput("--target-modules", resume(checkpoint, "--target-modules", "q_proj"),
                "field target_modules");
        assertOneLineBadInput("--method", resume(checkpoint, "--method", "lora-pro-efficient"), "field method");
        Path otherData = Files.writeString(tmp.resolve("other.jsonl"), TinyHfModel.jsonl(8, 2));
        assertOneLineBadInput("other data", train(tmp.resolve("r2"), model, otherData, 2,
                List.of("--resume", checkpoint.toString())), "field dataset (--data)");
        assertOneLineBadInput("other base model", train(tmp.resolve("r3"), otherModel, data, 2,
                List.of("--resume", checkpoint.toString())), "field base_model (--model)", "another base model");
        assertFalse(Files.exists(tmp.resolve("resumed")), "a refused resume leaves no output");
    }

    @Test
    void aChangedHyperParameterNeedsTheFlag() {
        assertOneLineBadInput("--lr", resume(checkpoint, "--lr", "0.5"), "field lr (--lr)",
                "--allow-resume-change lr");
        assertOneLineBadInput("--max-steps", train(tmp.resolve("longer"), model, data, 3,
                List.of("--resume", checkpoint.toString())), "field total_steps");
        CliRun.Result allowed = resume(checkpoint, "--lr", "0.5", "--allow-resume-change", "lr");
        assertEquals(0, allowed.code(), allowed.err());
        CliRun.Result longer = train(tmp.resolve("longer"), model, data, 3,
                List.of("--resume", checkpoint.toString(), "--allow-resume-change", "total_steps,lr"));
        assertEquals(0, longer.code(), longer.err());
        assertOneLineBadInput("unknown field", resume(checkpoint, "--allow-resume-change", "r"),
                "--allow-resume-change", "unknown field 'r'");
    }

    @Test
    void anAbsurdStepIsRefused() throws IOException {
        for (long step : new long[] {1_000_000L, -1L}) {
            Path copy = copyOfCheckpoint();
            editJson(copy.resolve(TrainerState.FILE_NAME), o -> o.addProperty("global_step", step));
            assertOneLineBadInput("step " + step, resume(copy), "step " + step, "outside");
            AtomicFiles.deleteRecursively(copy);
        }
        Path copy = copyOfCheckpoint();
        editJson(copy.resolve(TrainingCheckpoint.OPTIMIZER_STEPS_FILE), o -> o.keySet().forEach(k ->
                o.addProperty(k, 999)));
        assertOneLineBadInput("optimizer steps", resume(copy), TrainingCheckpoint.OPTIMIZER_STEPS_FILE, "999");
    }

    @Test
    void nonFiniteOptimizerStateIsRefused() throws IOException {
        for (float value : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            Path copy = copyOfCheckpoint();
            poisonFirstTensor(copy.resolve(TrainingCheckpoint.OPTIMIZER_FILE), value);
            assertOneLineBadInput("optimizer " + value, resume(copy), TrainingCheckpoint.OPTIMIZER_FILE,
                    "NaN or infinity");
            AtomicFiles.deleteRecursively(copy);
        }
    }

    @Test
    void aNonFiniteAdapterInTheCheckpointIsRefused() throws IOException {
        Path copy = copyOfCheckpoint();
        poisonFirstTensor(copy.resolve(TrainingCheckpoint.ADAPTER_DIR).resolve(PeftAdapter.WEIGHTS_NAME), Float.NaN);
        assertOneLineBadInput("adapter NaN", resume(copy), PeftAdapter.WEIGHTS_NAME, "NaN or infinity");
    }

    @Test
    void aCheckpointThatDoesNotSayWhatItBelongsToIsRefused() throws IOException {
        Path copy = copyOfCheckpoint();
        Files.delete(copy.resolve(RunIdentity.FILE_NAME));
        assertOneLineBadInput("no identity", resume(copy), RunIdentity.FILE_NAME);
    }

    @Test
    void mergeAndGenerateRefuseNonFiniteAdapterTensors() throws IOException {
        Path poisoned = TinyHfModel.copy(adapter, tmp.resolve("adapter"));
        poisonFirstTensor(poisoned.resolve(PeftAdapter.WEIGHTS_NAME), Float.NaN);
        Path merged = tmp.resolve("merged");
        assertOneLineBadInput("merge", cli("merge", "--model", model.toString(), "--adapter", poisoned.toString(),
                "--out", merged.toString()), "adapter_model.safetensors", "NaN or infinity");
        assertFalse(Files.exists(merged));
        assertOneLineBadInput("generate", cli("generate", "--model", model.toString(), "--adapter",
                poisoned.toString(), "--prompt", "after one comes", "--max-new-tokens", "2", "--device", "cpu"),
                "NaN or infinity");
    }
}
