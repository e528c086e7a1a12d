package ai.lorapro.data;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * A byte-level {@code tokenizer.json} for models that come without a tokenizer (random-weight models,
 * tests): every UTF-8 byte of the text is one token ({@code <0x41>} for "A", as SentencePiece's byte
 * fallback names them), plus the model's special tokens at the ids its config gives them. The 256
 * byte tokens take the lowest ids no special token uses, so the tokenizer fits any vocabulary of at
 * least 256 + specials ids. BOS and EOS, when set, are added around each sequence by the
 * post-processor template, which is where {@link HfTokenizer} reads them from; a padding token is
 * found by its usual name ({@code <pad>}).
 */
public final class ByteTokenizerJson {

    /** CJK Unified Ideographs start here; Latin text never reaches the filled letters. */
    private static final int FIRST_FILL_CODE_POINT = 0x4E00;

    private final Map<String, Integer> specials = new LinkedHashMap<>();
    private String bos;
    private String eos;
    private int fillTo;

    private ByteTokenizerJson() {}

    /** An empty builder: no special tokens. */
    public static ByteTokenizerJson builder() {
        return new ByteTokenizerJson();
    }

    /** Adds a special token (kept whole, never split into bytes) at {@code id}. */
    public ByteTokenizerJson addSpecial(String token, int id) {
        Objects.requireNonNull(token, "token");
        if (id < 0) {
            throw new IllegalArgumentException("special token '" + token + "': negative id " + id);
        }
        if (specials.containsValue(id) || specials.containsKey(token)) {
            throw new IllegalArgumentException("special token '" + token + "' or id " + id + " given twice");
        }
        specials.put(token, id);
        return this;
    }

    /**
     * Puts special tokens around every sequence (the post-processor template).
     *
     * @param before the token before each sequence (BOS), or null
     * @param after the token after each sequence (EOS), or null
     */
    public ByteTokenizerJson setTemplate(String before, String after) {
        for (String token : new String[] {before, after}) {
            if (token != null && !specials.containsKey(token)) {
                throw new IllegalArgumentException("template token '" + token + "' is not a special token");
            }
        }
        bos = before;
        eos = after;
        return this;
    }

    /**
     * Gives every id below {@code vocabSize} that neither a byte nor a special token uses a letter
     * of its own (CJK ideographs and the letters after them, in code-point order), so that every id
     * a model of that vocabulary can generate decodes to visible text. Text made of those letters
     * encodes to them; everything else stays byte-level.
     */
    public ByteTokenizerJson optFillTo(int vocabSize) {
        this.fillTo = vocabSize;
        return this;
    }

    /** Whether a special token has {@code id}. */
    public boolean hasId(int id) {
        return specials.containsValue(id);
    }

    /** The highest id the tokenizer can produce plus one. */
    public int vocabSize() {
        return Math.max(fillTo, Math.max(byteIds()[255], specials.values().stream().max(Integer::compare).orElse(-1)) + 1);
    }

    /** The id of each byte value 0..255: the lowest ids the special tokens leave free. */
    private int[] byteIds() {
        TreeSet<Integer> taken = new TreeSet<>(specials.values());
        int[] ids = new int[256];
        int next = 0;
        for (int b = 0; b < 256; b++) {
            while (taken.contains(next)) {
                next++;
            }
            ids[b] = next++;
        }
        return ids;
    }

    /** The {@code tokenizer.json} text. */
    public String toJson() {
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", null);
        root.add("padding", null);
        JsonArray added = new JsonArray();
        specials.entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(e -> {
            JsonObject t = new JsonObject();
            t.addProperty("id", e.getValue());
            t.addProperty("content", e.getKey());
            t.addProperty("single_word", false);
            t.addProperty("lstrip", false);
            t.addProperty("rstrip", false);
            t.addProperty("normalized", false);
            t.addProperty("special", true);
            added.add(t);
        });
        root.add("added_tokens", added);
        root.add("normalizer", null);
        root.add("pre_tokenizer", null);
        root.add("post_processor", template());
        JsonObject decoder = new JsonObject();
        decoder.addProperty("type", "Sequence");
        JsonArray steps = new JsonArray();
        steps.add(typed("ByteFallback"));
        steps.add(typed("Fuse"));
        decoder.add("decoders", steps);
        root.add("decoder", decoder);
        root.add("model", model());
        return new GsonBuilder().serializeNulls().disableHtmlEscaping().create().toJson(root);
    }

    private JsonObject model() {
        JsonObject model = new JsonObject();
        model.addProperty("type", "BPE");
        model.add("dropout", null);
        model.add("unk_token", null);
        model.add("continuing_subword_prefix", null);
        model.add("end_of_word_suffix", null);
        model.addProperty("fuse_unk", false);
        model.addProperty("byte_fallback", true);
        model.addProperty("ignore_merges", false);
        JsonObject vocab = new JsonObject();
        specials.forEach(vocab::addProperty);
        int[] ids = byteIds();
        for (int b = 0; b < 256; b++) {
            vocab.addProperty(String.format(Locale.ROOT, "<0x%02X>", b), ids[b]);
        }
        int codePoint = FIRST_FILL_CODE_POINT;
        for (int id = ids[255] + 1; id < fillTo; id++) {
            if (specials.containsValue(id)) {
                continue;
            }
            while (!Character.isLetter(codePoint)) {
                codePoint++;
            }
            vocab.addProperty(new String(Character.toChars(codePoint++)), id);
        }
        model.add("vocab", vocab);
        model.add("merges", new JsonArray());
        return model;
    }

    private JsonObject template() {
        JsonObject post = new JsonObject();
        post.addProperty("type", "TemplateProcessing");
        post.add("single", sequence("A"));
        JsonArray pair = sequence("A");
        pair.addAll(sequence("B"));
        post.add("pair", pair);
        JsonObject tokens = new JsonObject();
        for (String token : new String[] {bos, eos}) {
            if (token != null && !tokens.has(token)) {
                JsonObject t = new JsonObject();
                t.addProperty("id", token);
                JsonArray tokenIds = new JsonArray();
                tokenIds.add(specials.get(token));
                t.add("ids", tokenIds);
                JsonArray names = new JsonArray();
                names.add(token);
                t.add("tokens", names);
                tokens.add(token, t);
            }
        }
        post.add("special_tokens", tokens);
        return post;
    }

    private JsonArray sequence(String id) {
        JsonArray items = new JsonArray();
        if (bos != null) {
            items.add(piece("SpecialToken", bos));
        }
        items.add(piece("Sequence", id));
        if (eos != null) {
            items.add(piece("SpecialToken", eos));
        }
        return items;
    }

    private static JsonObject piece(String kind, String id) {
        JsonObject inner = new JsonObject();
        inner.addProperty("id", id);
        inner.addProperty("type_id", 0);
        JsonObject o = new JsonObject();
        o.add(kind, inner);
        return o;
    }

    private static JsonObject typed(String type) {
        JsonObject o = new JsonObject();
        o.addProperty("type", type);
        return o;
    }
}
