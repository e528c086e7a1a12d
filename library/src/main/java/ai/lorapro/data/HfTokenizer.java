package ai.lorapro.data;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.RegularFiles;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A Hugging Face {@code tokenizer.json} tokenizer, run by DJL's Rust tokenizers library, loaded
 * from a local file only (never from the hub).
 *
 * <p>Encoding neither truncates nor pads: batching and truncation belong to the data pipeline.
 * Special-token ids are read from the file itself: BOS and EOS from the post-processor template
 * (the special token before and after the sequence), falling back to the usual token names; PAD
 * from the padding section or the usual names.
 */
public final class HfTokenizer implements AutoCloseable {

    private static final List<String> PAD_NAMES = List.of("<pad>", "[PAD]", "<|pad|>", "<|padding|>");
    private static final List<String> BOS_NAMES = List.of("<s>", "<|startoftext|>", "<|begin_of_text|>", "<bos>", "[CLS]");
    private static final List<String> EOS_NAMES = List.of("</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>", "[SEP]");

    private final Path path;
    /** The largest tokenizer.json read (real ones are under 40 MB). */
    static final long MAX_FILE_BYTES = 512L << 20;

    private final HuggingFaceTokenizer tokenizer;
    private final int vocabSize;
    private final OptionalLong padId;
    private final OptionalLong bosId;
    private final OptionalLong eosId;

    private HfTokenizer(Path path, HuggingFaceTokenizer tokenizer, JsonObject json) {
        this.path = path;
        this.tokenizer = tokenizer;
        Map<String, Long> ids = tokenIds(json);
        long max = -1;
        for (long id : ids.values()) {
            max = Math.max(max, id);
        }
        // a token both in the vocabulary and among the added tokens has two ids; the map keeps one
        max = Math.max(max, highestVocabId(json));
        if (max >= Integer.MAX_VALUE) {
            // max + 1 would overflow an int and pass every vocabulary check
            throw new InvalidInputException(path + ": token id " + max + " is beyond any embedding table");
        }
        this.vocabSize = (int) (max + 1);
        this.padId = padId(json, ids);
        JsonObject single = templateSingle(json);
        this.bosId = specialAround(single, ids, true, BOS_NAMES);
        this.eosId = specialAround(single, ids, false, EOS_NAMES);
    }

    /**
     * Loads a {@code tokenizer.json} file (or the one in a directory).
     *
     * @throws InvalidInputException if the file is missing or not a tokenizer the library accepts
     */
    public static HfTokenizer load(Path tokenizerJson) {
        Path file = Files.isDirectory(tokenizerJson) ? tokenizerJson.resolve("tokenizer.json") : tokenizerJson;
        String text;
        RegularFiles.requireRegularIfPresent(file);
        if (!Files.exists(file)) {
            throw new InvalidInputException(file + ": no such file (a model directory's tokenizer.json; the command"
                    + " line's --tokenizer FILE names another)");
        }
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                // it is held several times over (text, JSON tree, bytes, the native tokenizer)
                throw new InvalidInputException(file + ": " + size + " bytes is beyond the " + MAX_FILE_BYTES
                        + " bytes of any tokenizer.json");
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot read tokenizer: " + e.getMessage(), e);
        }
        JsonObject json;
        try {
            JsonElement parsed = JsonParser.parseString(text);
            if (!parsed.isJsonObject()) {
                throw new InvalidInputException(file + ": not a tokenizer.json object");
            }
            json = parsed.getAsJsonObject();
        } catch (JsonParseException e) {
            String message = String.valueOf(e.getMessage());
            // Gson appends a troubleshooting link on a second line, and advice on lenient parsing
            // after the position; our messages are one line of what is wrong and where
            int nl = message.indexOf('\n');
            message = nl < 0 ? message : message.substring(0, nl);
            int advice = message.indexOf(" Use JsonReader.setStrictness");
            message = advice < 0 ? message : message.substring(0, advice);
            throw new InvalidInputException(file + ": not one JSON object (a tokenizer.json): " + message, e);
        }
        if (!json.has("model")) {
            // e.g. a config.json: valid JSON that the tokenizer library would refuse with a syntax error
            throw new InvalidInputException(file + ": not a tokenizer.json: it has no 'model' field");
        }
        Map<String, String> options = new HashMap<>();
        options.put("addSpecialTokens", "true");
        options.put("truncation", "false");
        options.put("padding", "false");
        HuggingFaceTokenizer tokenizer;
        try {
            // from a stream, so that DJL never resolves a name against the hub
            tokenizer = HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), options);
        } catch (IOException | RuntimeException e) {
            String message = String.valueOf(e.getMessage()).replace('\n', ' ');
            throw new InvalidInputException(file + ": not a valid tokenizer: " + message, e);
        }
        try {
            return new HfTokenizer(file, tokenizer, json);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw new InvalidInputException(file + ": unexpected tokenizer layout: " + e.getMessage(), e);
        }
    }

    /** The highest id of the model's token-to-id vocabulary (-1 for none or a Unigram list). */
    private static long highestVocabId(JsonObject json) {
        JsonObject model = json.getAsJsonObject("model");
        JsonElement vocab = model == null ? null : model.get("vocab");
        long max = -1;
        if (vocab != null && vocab.isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : vocab.getAsJsonObject().entrySet()) {
                max = Math.max(max, e.getValue().getAsLong());
            }
        }
        return max;
    }

    private static Map<String, Long> tokenIds(JsonObject json) {
        Map<String, Long> ids = new HashMap<>();
        JsonObject model = json.getAsJsonObject("model");
        JsonElement vocab = model == null ? null : model.get("vocab");
        if (vocab != null && vocab.isJsonObject()) {
            // BPE, WordPiece, WordLevel: token -> id
            for (Map.Entry<String, JsonElement> e : vocab.getAsJsonObject().entrySet()) {
                ids.put(e.getKey(), e.getValue().getAsLong());
            }
        } else if (vocab != null && vocab.isJsonArray()) {
            // Unigram: [token, score] pairs, the id is the position
            JsonArray pieces = vocab.getAsJsonArray();
            for (int i = 0; i < pieces.size(); i++) {
                ids.put(pieces.get(i).getAsJsonArray().get(0).getAsString(), (long) i);
            }
        }
        JsonElement added = json.get("added_tokens");
        if (added != null && added.isJsonArray()) {
            for (JsonElement t : added.getAsJsonArray()) {
                JsonObject o = t.getAsJsonObject();
                ids.put(o.get("content").getAsString(), o.get("id").getAsLong());
            }
        }
        return ids;
    }

    private static OptionalLong padId(JsonObject json, Map<String, Long> ids) {
        JsonElement padding = json.get("padding");
        if (padding != null && padding.isJsonObject() && padding.getAsJsonObject().has("pad_id")) {
            return OptionalLong.of(padding.getAsJsonObject().get("pad_id").getAsLong());
        }
        return byName(ids, PAD_NAMES);
    }

    private static JsonObject templateSingle(JsonObject json) {
        JsonElement post = json.get("post_processor");
        if (post == null || !post.isJsonObject()) {
            return null;
        }
        JsonObject p = post.getAsJsonObject();
        if (p.has("processors") && p.get("processors").isJsonArray()) {
            // a Sequence post-processor: use its template step
            for (JsonElement step : p.getAsJsonArray("processors")) {
                JsonObject found = templateSingle(wrap(step));
                if (found != null) {
                    return found;
                }
            }
            return null;
        }
        if (!"TemplateProcessing".equals(string(p, "type")) || !p.has("single")) {
            return null;
        }
        JsonObject out = new JsonObject();
        out.add("single", p.get("single"));
        return out;
    }

    private static JsonObject wrap(JsonElement postProcessor) {
        JsonObject o = new JsonObject();
        o.add("post_processor", postProcessor);
        return o;
    }

    /** The special token just before ({@code before}) or after the sequence in the template. */
    private static OptionalLong specialAround(
            JsonObject single, Map<String, Long> ids, boolean before, List<String> fallbackNames) {
        if (single != null) {
            JsonArray items = single.getAsJsonArray("single");
            int seq = -1;
            for (int i = 0; i < items.size(); i++) {
                if (items.get(i).getAsJsonObject().has("Sequence")) {
                    seq = i;
                    break;
                }
            }
            if (seq >= 0) {
                int at = before ? seq - 1 : seq + 1;
                if (at >= 0 && at < items.size() && items.get(at).getAsJsonObject().has("SpecialToken")) {
                    String token = string(items.get(at).getAsJsonObject().getAsJsonObject("SpecialToken"), "id");
                    Long id = ids.get(token);
                    if (id != null) {
                        return OptionalLong.of(id);
                    }
                }
            }
        }
        return byName(ids, fallbackNames);
    }

    private static OptionalLong byName(Map<String, Long> ids, List<String> names) {
        for (String name : names) {
            Long id = ids.get(name);
            if (id != null) {
                return OptionalLong.of(id);
            }
        }
        return OptionalLong.empty();
    }

    private static String string(JsonObject o, String field) {
        JsonElement v = o.get(field);
        return v != null && v.isJsonPrimitive() ? v.getAsString() : null;
    }

    /** The tokenizer file. */
    public Path path() {
        return path;
    }

    /** Token ids of {@code text}, with the special tokens the tokenizer adds (BOS, EOS, ...). */
    public long[] encode(String text) {
        return encode(text, true);
    }

    /** Token ids of {@code text}, with or without the tokenizer's special tokens. */
    public long[] encode(String text, boolean addSpecialTokens) {
        Encoding encoding = tokenizer.encode(text, addSpecialTokens, false);
        return encoding.getIds();
    }

    /** The tokens (strings) of {@code text}, with or without special tokens. */
    public String[] tokens(String text, boolean addSpecialTokens) {
        return tokenizer.encode(text, addSpecialTokens, false).getTokens();
    }

    /** The text of {@code ids}, special tokens left out. */
    public String decode(long[] ids) {
        return decode(ids, true);
    }

    /** The text of {@code ids}, with special tokens skipped or kept. */
    public String decode(long[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    /**
     * The number of ids the tokenizer can produce (highest id + 1, added tokens included), i.e. the
     * least number of embedding rows a model needs.
     */
    public int vocabSize() {
        return vocabSize;
    }

    /** The padding token's id, if the tokenizer defines one. */
    public OptionalLong padId() {
        return padId;
    }

    /** The beginning-of-sequence token's id, if the tokenizer defines one. */
    public OptionalLong bosId() {
        return bosId;
    }

    /** The end-of-sequence token's id, if the tokenizer defines one. */
    public OptionalLong eosId() {
        return eosId;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
