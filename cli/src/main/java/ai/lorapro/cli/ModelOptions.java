package ai.lorapro.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.train.Devices;

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

    /** The model on {@code manager}, with the adapter applied when one was given. */
    Block load(ModelArchitecture config, NDManager manager) {
        Block m = ModelFiles.load(config, model, manager, DataType.FLOAT32);
        if (adapter != null) {
            ModelFiles.applyAdapter(m, adapter);
        }
        return m;
    }
}
