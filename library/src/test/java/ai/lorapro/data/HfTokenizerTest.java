package ai.lorapro.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.OptionalLong;

class HfTokenizerTest {

    @TempDir Path tmp;

    private static Path tokenizers() {
        return Paths.get(System.getProperty("lorapro.fixtures.dir", "src/test/resources/hf-tiny")).resolve("tokenizers");
    }

    private static JsonObject reference() throws IOException {
        return JsonParser.parseString(Files.readString(tokenizers().resolve("reference.json"))).getAsJsonObject();
    }

    private static long[] longs(JsonArray a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsLong();
        }
        return out;
    }

    private static String[] strings(JsonArray a) {
        String[] out = new String[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsString();
        }
        return out;
    }

    @Test
    void encodesAndDecodesLikeTheReference() throws IOException {
        JsonObject reference = reference();
        assertEquals(3, reference.size());
        for (Map.Entry<String, JsonElement> kind : reference.entrySet()) {
            try (HfTokenizer tok = HfTokenizer.load(tokenizers().resolve(kind.getKey() + ".json"))) {
                JsonArray samples = kind.getValue().getAsJsonArray();
                assertTrue(samples.size() > 0);
                for (JsonElement s : samples) {
                    JsonObject sample = s.getAsJsonObject();
                    String text = sample.get("text").getAsString();
                    String where = kind.getKey() + " '" + text + "'";
                    long[] ids = longs(sample.getAsJsonArray("ids"));
                    assertArrayEquals(ids, tok.encode(text), where);
                    assertArrayEquals(strings(sample.getAsJsonArray("tokens")), tok.tokens(text, true), where);
                    assertEquals(sample.get("decoded").getAsString(), tok.decode(ids), where);
                    for (long id : ids) {
                        assertTrue(id < tok.vocabSize(), where);
                    }
                }
            }
        }
    }

    /**
     * What the Python library's {@code get_vocab_size(with_added_tokens=True)} counts: the model's
     * vocabulary plus the added tokens it does not already hold.
     */
    private static int hfVocabSize(String file) {
        try {
            JsonObject json = JsonParser.parseString(Files.readString(tokenizers().resolve(file))).getAsJsonObject();
            JsonElement vocab = json.getAsJsonObject("model").get("vocab");
            java.util.Set<String> tokens = new java.util.HashSet<>();
            if (vocab.isJsonObject()) {
                tokens.addAll(vocab.getAsJsonObject().keySet());
            } else {
                vocab.getAsJsonArray().forEach(p -> tokens.add(p.getAsJsonArray().get(0).getAsString()));
            }
            json.getAsJsonArray("added_tokens").forEach(t -> tokens.add(t.getAsJsonObject().get("content").getAsString()));
            return tokens.size();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void specialTokensComeFromTheTokenizerFile() {
        try (HfTokenizer t5 = HfTokenizer.load(tokenizers().resolve("t5-like.json"));
                HfTokenizer llama = HfTokenizer.load(tokenizers().resolve("llama-like.json"));
                HfTokenizer clip = HfTokenizer.load(tokenizers().resolve("clip-like.json"))) {
            assertEquals(hfVocabSize("t5-like.json"), t5.vocabSize());
            assertEquals(hfVocabSize("llama-like.json"), llama.vocabSize());
            assertEquals(hfVocabSize("clip-like.json"), clip.vocabSize());

            assertEquals(OptionalLong.of(0), t5.padId());
            assertEquals(OptionalLong.of(1), t5.eosId());
            assertFalse(t5.bosId().isPresent());

            assertEquals(OptionalLong.of(1), llama.bosId());
            assertEquals(OptionalLong.of(2), llama.eosId());
            assertFalse(llama.padId().isPresent());

            assertEquals(OptionalLong.of(0), clip.bosId());
            assertEquals(OptionalLong.of(1), clip.eosId());
        }
    }

    @Test
    void specialTokensCanBeLeftOut() throws IOException {
        JsonObject reference = reference();
        try (HfTokenizer llama = HfTokenizer.load(tokenizers().resolve("llama-like.json"));
                HfTokenizer t5 = HfTokenizer.load(tokenizers().resolve("t5-like.json"))) {
            JsonObject first = reference.getAsJsonArray("llama-like").get(0).getAsJsonObject();
            long[] with = longs(first.getAsJsonArray("ids"));
            long[] without = llama.encode(first.get("text").getAsString(), false);
            assertEquals(llama.bosId().getAsLong(), with[0]);
            assertArrayEquals(java.util.Arrays.copyOfRange(with, 1, with.length), without);

            JsonObject t5First = reference.getAsJsonArray("t5-like").get(0).getAsJsonObject();
            long[] t5With = longs(t5First.getAsJsonArray("ids"));
            long[] t5Without = t5.encode(t5First.get("text").getAsString(), false);
            assertEquals(t5.eosId().getAsLong(), t5With[t5With.length - 1]);
            assertArrayEquals(java.util.Arrays.copyOf(t5With, t5With.length - 1), t5Without);
        }
    }

    @Test
    void longInputIsNeitherTruncatedNorPadded() {
        try (HfTokenizer llama = HfTokenizer.load(tokenizers().resolve("llama-like.json"))) {
            String text = "apples and more apples ".repeat(200);
            long[] ids = llama.encode(text, false);
            assertTrue(ids.length > 600, "got " + ids.length);
            assertEquals(text.strip(), llama.decode(ids).strip());
        }
    }

    @Test
    void aDirectoryResolvesToItsTokenizerJson() throws IOException {
        Files.copy(tokenizers().resolve("clip-like.json"), tmp.resolve("tokenizer.json"));
        try (HfTokenizer tok = HfTokenizer.load(tmp)) {
            assertEquals(tmp.resolve("tokenizer.json"), tok.path());
            assertEquals(hfVocabSize("clip-like.json"), tok.vocabSize());
        }
        if (System.getenv("RUST_FLAVOR") == null) {
            // DJL would otherwise look for a CUDA build of the library on GPU hosts
            assertEquals("cpu", System.getProperty("RUST_FLAVOR"));
        }
    }

    @Test
    void badFilesAreInvalidInput() throws IOException {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> HfTokenizer.load(tmp.resolve("none.json")));
        assertTrue(e.getMessage().contains("none.json"), e.getMessage());
        Path broken = tmp.resolve("broken.json");
        Files.writeString(broken, "{\"model\": ");
        e = assertThrows(InvalidInputException.class, () -> HfTokenizer.load(broken));
        assertTrue(e.getMessage().contains("broken.json"), e.getMessage());
        assertEquals(-1, e.getMessage().indexOf('\n'), e.getMessage());
        Path wrong = tmp.resolve("wrong.json");
        Files.writeString(wrong, "{\"model\": {\"type\": \"NoSuchModel\"}}");
        e = assertThrows(InvalidInputException.class, () -> HfTokenizer.load(wrong));
        assertTrue(e.getMessage().contains("wrong.json"), e.getMessage());
        assertEquals(-1, e.getMessage().indexOf('\n'), e.getMessage());
        // a missing file says so, a model's config.json is named for what it is not, and JSON lines
        // get no parser advice
        e = assertThrows(InvalidInputException.class, () -> HfTokenizer.load(tmp.resolve("none.json")));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        Path config = Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 64}");
        e = assertThrows(InvalidInputException.class, () -> HfTokenizer.load(config));
        assertTrue(e.getMessage().endsWith("not a tokenizer.json: it has no 'model' field"), e.getMessage());
        Path lines = Files.writeString(tmp.resolve("data.jsonl"), "{\"text\": \"a\"}\n{\"text\": \"b\"}\n");
        e = assertThrows(InvalidInputException.class, () -> HfTokenizer.load(lines));
        assertTrue(e.getMessage().contains("not one JSON object"), e.getMessage());
        assertFalse(e.getMessage().contains("JsonReader"), e.getMessage());
    }
}
