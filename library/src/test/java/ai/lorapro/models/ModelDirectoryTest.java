package ai.lorapro.models;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A directory that is not a model says what it is missing, and what it is when we can tell. */
class ModelDirectoryTest {

    @TempDir Path tmp;

    @Test
    void aFullFineTuningCheckpointGivenAsModelIsNamedWithWhatToCopy() throws IOException {
        Path checkpoint = Files.createDirectories(tmp.resolve("step-000020"));
        Files.writeString(checkpoint.resolve("trainer_state.json"), "{}");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> ModelFamilies.readModelDir(checkpoint));
        assertTrue(e.getMessage().contains("config.json does not exist: " + checkpoint + " is a training checkpoint;"
                + " copy the base model's config.json and tokenizer.json"), e.getMessage());
        Path lora = Files.createDirectories(tmp.resolve("step-000010/adapter"));
        Files.writeString(lora.resolve("adapter_config.json"), "{}");
        Files.writeString(lora.getParent().resolve("trainer_state.json"), "{}");
        e = assertThrows(InvalidInputException.class, () -> ModelFamilies.readModelDir(lora.getParent()));
        assertTrue(e.getMessage().contains("is a LoRA training checkpoint; its adapter " + lora + " goes with the base"
                + " model"), e.getMessage());
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        e = assertThrows(InvalidInputException.class, () -> ModelFamilies.readModelDir(empty));
        assertTrue(e.getMessage().endsWith("config.json does not exist"), e.getMessage());
    }

    /** An adapter directory, or a file, given as the model says so (it said only "config.json does not exist"). */
    @Test
    void anAdapterOrAFileGivenAsModelIsNamed() throws IOException {
        Path adapter = Files.createDirectories(tmp.resolve("adapter"));
        Files.writeString(adapter.resolve("adapter_config.json"), "{}");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> ModelFamilies.readModelDir(adapter));
        assertTrue(e.getMessage().endsWith("config.json does not exist: " + adapter + " holds a PEFT adapter"
                + " (adapter_config.json), not a model; it goes with its base model (generate, eval and merge take it"
                + " as --adapter)"), e.getMessage());
        Path file = Files.writeString(tmp.resolve("data.jsonl"), "{}\n");
        e = assertThrows(InvalidInputException.class, () -> ModelFamilies.readModelDir(file));
        assertTrue(e.getMessage().endsWith(": " + file + " is a file; give the model's directory (config.json and its"
                + " safetensors weights)"), e.getMessage());
    }
}
