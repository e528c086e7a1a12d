package ai.lorapro.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.cli.CliRun;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.io.ClassNamesFile;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.models.bigram.BigramFamily;
import ai.lorapro.models.clip.ClipImageClassifier;
import ai.lorapro.models.clip.ClipModel;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.tasks.vision.ImageFolder;
import ai.lorapro.train.TrainingEngine;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Every command on every family of the model registry, through the command line, on random tiny
 * models built from the hf-tiny fixture configs: {@code info --model}, {@code train} (without
 * {@code --task}: the family's default task), {@code eval}, {@code generate} and {@code merge}.
 */
class FamilyCommandsTest {

    @TempDir
    static Path shared;

    private static Path llama;
    private static Path t5;
    private static Path clip;
    private static Path pairs;

    @TempDir
    Path dir;

    @BeforeAll
    static void models() throws Exception {
        llama = TinyModels.llama(shared.resolve("llama"));
        t5 = TinyModels.t5(shared.resolve("t5"));
        clip = TinyModels.clip(shared.resolve("clip"));
        pairs = shared.resolve("pairs.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            lines.append(String.format(Locale.ROOT, "{\"prompt\": \"what is %d plus %d\", \"response\": \"%d\"}%n",
                    i, i, 2 * i));
        }
        Files.writeString(pairs, lines);
    }

    private static CliRun.Result ok(String... args) {
        CliRun.Result run = CliRun.cli(args);
        assertEquals(0, run.code(), String.join(" ", args) + "\n" + run.err());
        return run;
    }

    private static CliRun.Result refused(String... args) {
        CliRun.Result run = CliRun.cli(args);
        assertEquals(2, run.code(), String.join(" ", args) + "\n" + run.out() + run.err());
        return run;
    }

    /** Trains a few LoRA steps without --task and returns the final adapter. */
    private Path train(Path model, Path data) {
        Path out = dir.resolve("run");
        ok("train", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(),
                "--method", "lora", "--r", "2", "--alpha", "4", "--lr", "1e-2", "--max-steps", "3",
                "--global-batch", "2", "--micro-batch", "2", "--max-seq-length", "32", "--device", "cpu");
        Path adapter = TrainingEngine.checkpointDir(out, 3).resolve("adapter");
        assertTrue(Files.isRegularFile(adapter.resolve(PeftAdapter.WEIGHTS_NAME)), adapter.toString());
        return adapter;
    }

    private static double evalLoss(String... args) {
        String out = ok(args).out();
        for (String line : out.split("\n")) {
            if (line.startsWith("eval_loss ")) {
                return Double.parseDouble(line.substring("eval_loss ".length()).strip());
            }
        }
        throw new AssertionError("no eval_loss in " + out);
    }

    /** train, eval, merge, eval of the merged model (same loss), generate and info on a language model. */
    private void languageModelCommands(Path model, String modelType) {
        CliRun.Result info = ok("info", "--model", model.toString(), "--r", "2");
        assertTrue(info.out().contains("model: " + modelType + ","), info.out());
        assertTrue(info.out().contains("tensors match config.json"), info.out());

        Path adapter = train(model, pairs);
        double base = evalLoss("eval", "--model", model.toString(), "--data", pairs.toString(), "--device", "cpu");
        double adapted = evalLoss("eval", "--model", model.toString(), "--adapter", adapter.toString(),
                "--data", pairs.toString(), "--device", "cpu");
        assertTrue(adapted < base, "training lowered the loss: " + base + " -> " + adapted);
        // float16 base weights: the float32 computation on weights rounded to float16
        double halfBase = evalLoss("eval", "--model", model.toString(), "--data", pairs.toString(), "--device", "cpu",
                "--fp16-frozen");
        double halfAdapted = evalLoss("eval", "--model", model.toString(), "--adapter", adapter.toString(),
                "--data", pairs.toString(), "--device", "cpu", "--fp16-frozen");
        assertEquals(base, halfBase, 1e-3 * base, "float16 weights, no adapter");
        assertNotEquals(base, halfBase, "--fp16-frozen rounds the weights, which moves the loss a little");
        assertEquals(adapted, halfAdapted, 1e-3 * adapted, "float16 weights with the adapter");

        Path merged = dir.resolve("merged");
        ok("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--out", merged.toString());
        double mergedLoss = evalLoss("eval", "--model", merged.toString(), "--data", pairs.toString(),
                "--device", "cpu");
        assertEquals(adapted, mergedLoss, 1e-4 * adapted, "the merged model computes what base + adapter does");

        CliRun.Result generated = ok("generate", "--model", model.toString(), "--adapter", adapter.toString(),
                "--prompt", "what is 1 plus 1", "--prompt", "what is 2 plus 2", "--max-new-tokens", "3");
        assertEquals(2, generated.out().chars().filter(c -> c == '\n').count(), generated.out());
        CliRun.Result halfGenerated = ok("generate", "--model", model.toString(), "--adapter", adapter.toString(),
                "--prompt", "what is 1 plus 1", "--prompt", "what is 2 plus 2", "--max-new-tokens", "3",
                "--fp16-frozen");
        assertEquals(2, halfGenerated.out().chars().filter(c -> c == '\n').count(), halfGenerated.out());
        CliRun.Result mergedGenerated = ok("generate", "--model", merged.toString(), "--prompt", "what is 1 plus 1",
                "--prompt", "what is 2 plus 2", "--max-new-tokens", "3");
        assertEquals(generated.out(), mergedGenerated.out());
    }

    @Test
    void llamaThroughEveryCommand() {
        languageModelCommands(llama, "llama");
    }

    @Test
    void aFamilyFromTheTestSourcesGoesThroughEveryCommand() {
        ModelFamilies.register(new BigramFamily());
        languageModelCommands(TinyModels.bigram(dir.resolve("bigram")), "bigram");
    }

    @Test
    void t5ThroughEveryCommand() {
        languageModelCommands(t5, "t5");
        CliRun.Result sampling = refused("generate", "--model", t5.toString(), "--prompt", "hello", "--top-p", "0.9");
        assertTrue(sampling.err().contains("greedily"), sampling.err());
    }

    /** CLIP's info counts what image classification adapts, by the classifier's paths, and warns of the rest. */
    @Test
    void clipInfoCountsAndWarnsByWhatTrainingAdapts() {
        CliRun.Result fullPath = ok("info", "--model", clip.toString(), "--r", "2", "--targets",
                "vision_model.encoder.layers.0.self_attn.q_proj");
        assertTrue(fullPath.out().contains("on vision_model.encoder.layers.0.self_attn.q_proj: 1 layers"),
                fullPath.out());
        assertFalse(fullPath.err().contains("warning"), fullPath.err());
        CliRun.Result textTower = ok("info", "--model", clip.toString(), "--r", "2", "--targets",
                "q_proj,text_model.encoder.layers.0.self_attn.q_proj");
        assertTrue(textTower.out().contains(": 2 layers"), textTower.out());
        assertTrue(textTower.err().contains("warning: --targets text_model.encoder.layers.0.self_attn.q_proj match no"
                + " linear layer that training adapts"), textTower.err());
    }

    /** A LoRA on the classification head: info counts it (the class count is the data's) as train takes it. */
    @Test
    void clipInfoAcceptsTheHeadAsATarget() {
        CliRun.Result head = ok("info", "--model", clip.toString(), "--r", "2", "--targets", "q_proj,head");
        assertTrue(head.out().contains("on q_proj,head: 3 layers"), head.out());
    }

    @Test
    void clipThroughEveryCommand() throws Exception {
        CliRun.Result info = ok("info", "--model", clip.toString(), "--r", "2");
        assertTrue(info.out().contains("model: clip,"), info.out());
        assertTrue(info.out().contains("on q_proj,k_proj,v_proj,out_proj,fc1,fc2: 12 layers"), info.out());

        Path images = dir.resolve("images");
        ImageFolderTest.twoClassFolder(images);
        Path adapter = train(clip, images);
        JsonObject config = JsonParser.parseString(Files.readString(adapter.resolve(PeftAdapter.CONFIG_NAME)))
                .getAsJsonObject();
        assertEquals("[\"head\"]", config.get("modules_to_save").toString());
        assertEquals("[\"golden retriever\",\"tabby cat\"]\n", Files.readString(adapter.resolve(ClassNamesFile.FILE_NAME)));
        float[] savedHead;
        try (SafetensorsFile file = SafetensorsFile.open(adapter.resolve(PeftAdapter.WEIGHTS_NAME));
                NDManager manager = NDManager.newBaseManager()) {
            savedHead = file.load(manager, "base_model.model.head.weight", DataType.FLOAT32).toFloatArray();
            assertTrue(file.contains("base_model.model.head.bias"));
        }
        // the head comes back with the adapter, replacing the zero-shot head it started from
        try (NDManager manager = NDManager.newBaseManager();
                HfTokenizer tokenizer = HfTokenizer.load(clip.resolve("tokenizer.json"))) {
            ClipModel model = ClipModel.fromPretrained(clip, manager);
            List<String> classes = ImageFolder.classesOf(images.resolve("train"));
            ClipImageClassifier classifier = ClipImageClassifier.zeroShot(model,
                    prompt -> tokenizer.encode(prompt, true), ImageFolder.promptNames(classes), manager);
            float[] zeroShot = classifier.getHead().getWeight().getArray().toFloatArray();
            assertFalse(java.util.Arrays.equals(zeroShot, savedHead), "the head trained");
            PeftAdapter.load(adapter, classifier);
            assertArrayEquals(savedHead, classifier.getHead().getWeight().getArray().toFloatArray());
        }
        Path evalOut = dir.resolve("eval");
        ok("eval", "--task", "image-folder", "--model", clip.toString(), "--adapter", adapter.toString(),
                "--data", images.toString(), "--out", evalOut.toString(), "--device", "cpu");
        assertEquals(Files.readString(dir.resolve("run/eval/predictions.jsonl")),
                Files.readString(evalOut.resolve("predictions.jsonl")));
        Path halfOut = dir.resolve("eval-fp16");
        ok("eval", "--task", "image-folder", "--model", clip.toString(), "--adapter", adapter.toString(),
                "--data", images.toString(), "--out", halfOut.toString(), "--device", "cpu", "--fp16-frozen");
        assertEquals(Files.readAllLines(evalOut.resolve("predictions.jsonl")).size(),
                Files.readAllLines(halfOut.resolve("predictions.jsonl")).size());

        // the adapter's head was trained on these classes: a folder of others is refused, not mis-scored
        Path others = dir.resolve("others");
        ImageFolderTest.image(others.resolve("test/bird/a.png"), 13, "png");
        ImageFolderTest.image(others.resolve("test/cat/b.png"), 14, "png");
        CliRun.Result otherClasses = refused("eval", "--task", "image-folder", "--model", clip.toString(), "--adapter",
                adapter.toString(), "--data", others.toString(), "--out", dir.resolve("eval-others").toString(),
                "--device", "cpu");
        assertTrue(otherClasses.err().contains(adapter.resolve(ClassNamesFile.FILE_NAME) + ": trained on the classes"),
                otherClasses.err());
        // an adapter without the names (an earlier version's) on a folder of another class count: said by name
        Path oldAdapter = Files.createDirectories(dir.resolve("old-adapter"));
        for (String name : List.of(PeftAdapter.CONFIG_NAME, PeftAdapter.WEIGHTS_NAME)) {
            Files.copy(adapter.resolve(name), oldAdapter.resolve(name));
        }
        ImageFolderTest.image(others.resolve("test/dog/c.png"), 15, "png");
        CliRun.Result count = refused("eval", "--task", "image-folder", "--model", clip.toString(), "--adapter",
                oldAdapter.toString(), "--data", others.toString(), "--out", dir.resolve("eval-count").toString(),
                "--device", "cpu");
        assertTrue(count.err().contains(oldAdapter + ": its trained head has 2 classes, the data 3"), count.err());

        CliRun.Result noTask = refused("eval", "--model", clip.toString(), "--data", pairs.toString());
        assertTrue(noTask.err().contains("--task image-folder"), noTask.err());
        CliRun.Result generate = refused("generate", "--model", clip.toString(), "--prompt", "a photo");
        assertTrue(generate.err().contains("do not generate text"), generate.err());
        // the classification head has no place in a CLIP checkpoint: merging it is refused by name
        CliRun.Result headMerge = refused("merge", "--model", clip.toString(), "--adapter", adapter.toString(),
                "--out", dir.resolve("merged-head").toString());
        assertTrue(headMerge.err().contains("modules_to_save names 'head'"), headMerge.err());
        assertTrue(headMerge.err().contains("eval --task"), headMerge.err());
        // and plain CLIP training on JSON lines is named as such, not as a missing train/ folder
        CliRun.Result jsonLines = refused("train", "--model", clip.toString(), "--data", pairs.toString(),
                "--out", dir.resolve("clip-on-lines").toString(), "--max-steps", "1");
        assertTrue(jsonLines.err().contains("train on an image folder"), jsonLines.err());
        assertFalse(Files.exists(dir.resolve("clip-on-lines")));
        assertFalse(Files.exists(dir.resolve("merged-head")));
    }

    /**
     * A full fine-tuning checkpoint of CLIP holds the image classifier it trained (vision tower,
     * projection, head; no text tower): with the base's config.json beside it, eval --task
     * image-folder predicts what the training run's own evaluation did, and refuses data of another
     * class count.
     */
    @Test
    void clipFullFineTuningCheckpointEvaluatesAsTheClassifierItTrained() throws Exception {
        Path images = dir.resolve("images");
        ImageFolderTest.twoClassFolder(images);
        Path run = dir.resolve("full");
        ok("train", "--model", clip.toString(), "--data", images.toString(), "--out", run.toString(),
                "--method", "full", "--lr", "1e-3", "--max-steps", "2", "--global-batch", "2", "--micro-batch", "2",
                "--device", "cpu");
        Path checkpoint = TrainingEngine.checkpointDir(run, 2);
        Files.copy(clip.resolve("config.json"), checkpoint.resolve("config.json"));
        Path evalOut = dir.resolve("eval-full");
        ok("eval", "--task", "image-folder", "--model", checkpoint.toString(), "--data", images.toString(),
                "--out", evalOut.toString(), "--device", "cpu");
        assertEquals(Files.readString(run.resolve("eval/predictions.jsonl")),
                Files.readString(evalOut.resolve("predictions.jsonl")));

        // other classes: the head's rows would be reported as the wrong ones
        assertEquals("[\"golden retriever\",\"tabby cat\"]\n",
                Files.readString(checkpoint.resolve(ClassNamesFile.FILE_NAME)));
        Path renamed = dir.resolve("renamed");
        ImageFolderTest.image(renamed.resolve("train/bird/a.png"), 9, "png");
        ImageFolderTest.image(renamed.resolve("train/cat/b.png"), 10, "png");
        ImageFolderTest.image(renamed.resolve("test/bird/c.png"), 11, "png");
        ImageFolderTest.image(renamed.resolve("test/cat/d.png"), 12, "png");
        CliRun.Result names = refused("eval", "--task", "image-folder", "--model", checkpoint.toString(),
                "--data", renamed.toString(), "--out", dir.resolve("eval-renamed").toString(), "--device", "cpu");
        assertTrue(names.err().contains(checkpoint.resolve(ClassNamesFile.FILE_NAME) + ": trained on the classes"
                + " [golden retriever, tabby cat], but the data's are [bird, cat]"), names.err());
        assertFalse(Files.exists(dir.resolve("eval-renamed")));
        // a checkpoint without the names (an earlier version's): at least the class count is checked
        Files.delete(checkpoint.resolve(ClassNamesFile.FILE_NAME));
        Path threeClasses = dir.resolve("three");
        ImageFolderTest.twoClassFolder(threeClasses);
        ImageFolderTest.image(threeClasses.resolve("train/zebra/g.png"), 7, "png");
        ImageFolderTest.image(threeClasses.resolve("test/zebra/h.png"), 8, "png");
        CliRun.Result other = refused("eval", "--task", "image-folder", "--model", checkpoint.toString(),
                "--data", threeClasses.toString(), "--out", dir.resolve("eval-three").toString(), "--device", "cpu");
        assertTrue(other.err().contains(checkpoint + ": its trained head has 2 classes, the data 3"), other.err());
    }

    /** Without --task, as with it, the summary counts the bad lines --skip-bad-lines skipped. */
    @Test
    void plainTrainingCountsTheBadLinesItSkipped() throws Exception {
        Path data = dir.resolve("with-bad-lines.jsonl");
        Files.writeString(data, Files.readString(pairs) + "not json\n{\"prompt\": \"a prompt alone\"}\n");
        for (Path model : List.of(llama, t5)) {
            CliRun.Result run = ok("train", "--model", model.toString(), "--data", data.toString(), "--out",
                    dir.resolve("skip-" + model.getFileName()).toString(), "--method", "lora", "--r", "2",
                    "--max-steps", "1", "--global-batch", "2", "--micro-batch", "2", "--max-seq-length", "32",
                    "--device", "cpu", "--skip-bad-lines");
            assertTrue(run.out().contains("0 skipped steps, 2 bad lines skipped\n"), model + ": " + run.out());
            CliRun.Result eval = ok("eval", "--model", model.toString(), "--data", data.toString(), "--device", "cpu",
                    "--skip-bad-lines");
            assertTrue(eval.out().contains("examples 8\n") && eval.out().contains("bad_lines_skipped 2\n"),
                    model + ": " + eval.out());
        }
        // --eval-data's bad lines count too
        CliRun.Result both = ok("train", "--model", llama.toString(), "--data", data.toString(), "--eval-data",
                data.toString(), "--out", dir.resolve("skip-both").toString(), "--method", "lora", "--r", "2",
                "--max-steps", "1", "--global-batch", "2", "--micro-batch", "2", "--max-seq-length", "32",
                "--device", "cpu", "--skip-bad-lines");
        assertTrue(both.out().contains("0 skipped steps, 4 bad lines skipped\n"), both.out());
        CliRun.Result clean = ok("train", "--model", llama.toString(), "--data", pairs.toString(), "--out",
                dir.resolve("skip-none").toString(), "--method", "lora", "--r", "2", "--max-steps", "1",
                "--global-batch", "2", "--micro-batch", "2", "--max-seq-length", "32", "--device", "cpu");
        assertTrue(clean.out().contains("0 skipped steps\n"), clean.out());
    }

    @Test
    void aSkippedTrainingImageIsNotCountedInTheTestMetrics() throws Exception {
        Path images = dir.resolve("images-with-a-bad-one");
        ImageFolderTest.twoClassFolder(images);
        Files.writeString(images.resolve("train/tabby_cat/9.png"), "not a png");
        Path out = dir.resolve("run-bad-image");
        ok("train", "--task", "image-folder", "--model", clip.toString(), "--data", images.toString(), "--out",
                out.toString(), "--method", "lora", "--r", "2", "--max-steps", "1", "--global-batch", "2",
                "--micro-batch", "2", "--device", "cpu", "--skip-bad-lines");
        JsonObject metrics = JsonParser.parseString(Files.readString(out.resolve("eval/metrics.json")))
                .getAsJsonObject();
        assertEquals(0, metrics.get("skipped").getAsInt(), metrics.toString());
        assertEquals(2, metrics.get("total").getAsInt(), metrics.toString());
    }

    @Test
    void clipAdapterMergesIntoItsTowers() throws Exception {
        Path adapter = dir.resolve("clip-adapter");
        float[] expected;
        String layer = "vision_model.encoder.layers.0.self_attn.q_proj";
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipModel model = ClipModel.fromPretrained(clip, manager);
            LoraInjector.inject(model, ClipImageClassifier.loraConfig(2, 4));
            for (LoraLinear l : LoraInjector.adaptedLayers(model).values()) {
                NDArray b = l.getLoraB().getArray();
                b.addi(manager.randomNormal(0, 0.1f, b.getShape(), DataType.FLOAT32));
            }
            PeftAdapter.save(model, adapter, clip.toString(), "FEATURE_EXTRACTION");
            LoraLinear q = (LoraLinear) ModuleTree.namedModules(model).get(layer);
            NDArray delta = q.getLoraB().getArray().matMul(q.getLoraA().getArray()).mul(q.getScaling());
            expected = q.getWeight().getArray().add(delta).toFloatArray();
        }
        Path merged = dir.resolve("merged");
        ok("merge", "--model", clip.toString(), "--adapter", adapter.toString(), "--out", merged.toString());
        try (SafetensorsFile file = SafetensorsFile.open(merged.resolve("model.safetensors"));
                NDManager manager = NDManager.newBaseManager()) {
            assertArrayEquals(expected, file.load(manager, layer + ".weight", DataType.FLOAT32).toFloatArray(), 1e-6f);
        }
        ok("info", "--model", merged.toString());
    }
}
