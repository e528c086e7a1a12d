package ai.lorapro.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.nn.PassEntry;
import ai.lorapro.train.Devices;
import ai.lorapro.train.MemoryCheck;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options of every command that runs a model: {@code --model --adapter --tokenizer --device}. */
final class ModelOptions {

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model directory.")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter directory to apply.")
    Path adapter;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json instead of the model's.")
    Path tokenizer;

    @Option(names = "--fp16-frozen",
            description = "Hold the base weights in float16: half the memory; the pass still computes in float32.")
    boolean fp16Frozen;

    @Mixin
    DeviceOption device = new DeviceOption();

    /** The device chosen by {@code --device}. */
    Device device() {
        return Devices.resolve(device.choice());
    }

    /** The model's configuration, read by its family. */
    ModelArchitecture config() {
        return ModelFiles.config(model);
    }

    /** The tokenizer, checked to fit the model's vocabulary. */
    HfTokenizer tokenizer(ModelArchitecture config) {
        HfTokenizer tok = ModelFiles.tokenizer(model, tokenizer);
        try {
            ModelFiles.checkFit(tok, config);
            return tok;
        } catch (RuntimeException e) {
            tok.close();
            throw e;
        }
    }

    /** Warns before loading when the base weights, as they will be held, exceed the device's memory. */
    void reportMemory(ModelArchitecture config, Device on) {
        MemoryCheck.reportWeights(config.baseParameters() * frozenType().getNumOfBytes(), on,
                fp16Frozen ? "the weights are already float16" : "--fp16-frozen halves them");
    }

    /** The type the base weights are held in: float16 with {@code --fp16-frozen}, else float32. */
    DataType frozenType() {
        return fp16Frozen ? DataType.FLOAT16 : DataType.FLOAT32;
    }

    /** Refuses a mistyped or broken {@code --adapter}, if one was given, before anything loads. */
    void requireReadableAdapter() {
        if (adapter != null) {
            ModelFiles.requireAdapter(adapter);
        }
    }

    /**
     * The model on {@code manager}, with the adapter applied when one was given. With {@code
     * --fp16-frozen} the weights stay float16 and each is widened for its product, so the result is
     * the float32 computation with the weights rounded to float16.
     */
    Block load(ModelArchitecture config, NDManager manager) {
        requireReadableAdapter();
        reportMemory(config, manager.getDevice());
        Block m;
        try {
            m = ModelFiles.load(config, model, manager, frozenType());
        } catch (InvalidInputException e) {
            if (!fp16Frozen) {
                throw e;
            }
            throw new InvalidInputException(e.getMessage() + " (--fp16-frozen holds the weights in float16)", e);
        }
        if (fp16Frozen) {
            PassEntry.widenAll(m);
        }
        if (adapter != null) {
            ModelFiles.applyAdapter(m, adapter);
        }
        return m;
    }
}
