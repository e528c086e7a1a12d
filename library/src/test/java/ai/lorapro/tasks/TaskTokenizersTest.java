package ai.lorapro.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.lorapro.data.HfTokenizer;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.models.SpecialTokens;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/** Task runs take a model's special tokens as the other commands do: the tokenizer's, else the config's. */
class TaskTokenizersTest {

    @TempDir Path tmp;

    @Test
    void theTokenizersIdsComeFirstAndTheConfigFillsInTheRest() throws IOException {
        Path fixtures = Paths.get(System.getProperty("lorapro.fixtures.dir", "src/test/resources/hf-tiny"));
        JsonObject config = JsonParser.parseString(Files.readString(fixtures.resolve("llama-tiny/config.json")))
                .getAsJsonObject();
        // a Llama 3 instruct model ends a turn with a second EOS id, which only its config names
        JsonArray eos = new JsonArray();
        eos.add(2);
        eos.add(7);
        config.add("eos_token_id", eos);
        Path file = Files.writeString(tmp.resolve("config.json"), config.toString());
        ModelArchitecture architecture = ModelFamilies.readConfig(file);
        // BOS <s> = 1 and EOS </s> = 2, but no padding: the config's pad_token_id 0 fills it in
        try (HfTokenizer tokenizer = HfTokenizer.load(fixtures.resolve("tokenizers/llama-like.json"))) {
            SpecialTokens tokens = TaskTokenizers.specialTokens(tokenizer, architecture);
            assertEquals(new SpecialTokens(1, List.of(2L, 7L), 0), tokens);
            TextEncoder encoder = TaskTokenizers.encoder(tokenizer, architecture);
            assertEquals(List.of(1L, 2L, 0L), List.of(encoder.bosId(), encoder.eosId(), encoder.padId()));
            // generation for a task stops at either EOS id (it used to know the tokenizer's alone)
            assertEquals(java.util.Set.of(2L, 7L), CausalLmTextGenerator.greedy(tokens, 4).eosTokenIds());
            assertEquals(0, CausalLmTextGenerator.greedy(tokens, 4).padTokenId());
        }
    }
}
