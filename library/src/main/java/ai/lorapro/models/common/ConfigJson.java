package ai.lorapro.models.common;

import ai.lorapro.InvalidInputException;
import ai.lorapro.data.jsonl.StrictJson;
import ai.lorapro.io.RegularFiles;
import ai.lorapro.io.TensorDType;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Strict, typed reading of a Hugging Face {@code config.json} (or one of its nested sub-configs):
 * every error is an {@link InvalidInputException} naming the file and the dotted field.
 *
 * <p>A model configuration is a record read in one place: its reader maps each key to a component
 * with transformers' default ({@code json.optInt("num_key_value_heads", heads)}), and hands the
 * values to the record's constructor inside {@link #build}, so that the record checks them once and
 * a refused value names the file and the field. Configurations written in code go through the same
 * reader ({@link #of(Map, String)} with the keys of config.json).
 */
public final class ConfigJson {

    private final JsonObject json;
    private final String origin;
    private final String prefix;

    private ConfigJson(JsonObject json, String origin, String prefix) {
        this.json = json;
        this.origin = origin;
        this.prefix = prefix;
    }

    /**
     * Reads and parses {@code file}.
     *
     * @throws InvalidInputException if the file is unreadable or not a JSON object
     */
    public static ConfigJson read(Path file) {
        String origin = file.toString();
        RegularFiles.requireRegularIfPresent(file);
        try {
            JsonElement parsed = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            if (!parsed.isJsonObject()) {
                throw new InvalidInputException(origin + ": not a JSON object");
            }
            return new ConfigJson(parsed.getAsJsonObject(), origin, "");
        } catch (IOException e) {
            throw new InvalidInputException(origin + ": cannot read: " + e.getMessage(), e);
        } catch (JsonParseException e) {
            throw new InvalidInputException(origin + ": malformed JSON: " + StrictJson.describe(e.getMessage()), e);
        }
    }

    /** A reader of {@code json}, naming {@code origin} in its errors. */
    public static ConfigJson of(JsonObject json, String origin) {
        return new ConfigJson(json, origin, "");
    }

    /**
     * A reader of values given in code, keyed as in config.json (numbers, booleans, strings, lists
     * and nested maps), naming {@code origin} in its errors.
     */
    public static ConfigJson of(Map<String, ?> values, String origin) {
        return new ConfigJson(new Gson().toJsonTree(values).getAsJsonObject(), origin, "");
    }

    /**
     * Builds a configuration from values read here: a {@link ConfigFieldException} of its
     * constructor is rethrown naming this reader's file and the dotted field.
     *
     * @param constructor calls the record's constructor
     * @return what it returned
     * @throws InvalidInputException "file: field 'a.b' message" for a refused value
     */
    public <T> T build(Supplier<T> constructor) {
        try {
            return constructor.get();
        } catch (ConfigFieldException e) {
            throw fail(e.field(), e.problem());
        }
    }

    /** The file (or other origin) this reader names in its errors. */
    public String origin() {
        return origin;
    }

    /** Whether {@code field} is present and not null. */
    public boolean has(String field) {
        JsonElement e = json.get(field);
        return e != null && !e.isJsonNull();
    }

    /**
     * The nested object {@code field}, read with field names prefixed by {@code field.}; an empty
     * object when absent.
     */
    public ConfigJson object(String field) {
        JsonElement e = json.get(field);
        if (e == null || e.isJsonNull()) {
            return new ConfigJson(new JsonObject(), origin, prefix + field + ".");
        }
        if (!e.isJsonObject()) {
            throw fail(field, "must be an object");
        }
        return new ConfigJson(e.getAsJsonObject(), origin, prefix + field + ".");
    }

    /** The required integer {@code field}. */
    public int requiredInt(String field) {
        Integer v = optInt(field);
        if (v == null) {
            throw fail(field, "is required");
        }
        return v;
    }

    /** The integer {@code field}, or null when absent. */
    public Integer optInt(String field) {
        JsonElement e = json.get(field);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        return asInt(e, field);
    }

    private int asInt(JsonElement e, String field) {
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw fail(field, "must be an integer");
        }
        double d = e.getAsDouble();
        if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
            throw fail(field, "must be an integer, got " + e);
        }
        return (int) d;
    }

    /** The integer {@code field}, or {@code fallback} when absent. */
    public int optInt(String field, int fallback) {
        Integer v = optInt(field);
        return v == null ? fallback : v;
    }

    /** The number {@code field}, or {@code fallback} when absent. */
    public double optNumber(String field, double fallback) {
        Double v = optNumber(field);
        return v == null ? fallback : v;
    }

    /** The number {@code field}, or null when absent. */
    public Double optNumber(String field) {
        JsonElement e = json.get(field);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw fail(field, "must be a number");
        }
        return e.getAsDouble();
    }

    /** The integer or list of integers {@code field} (e.g. {@code eos_token_id}); empty when absent. */
    public List<Integer> intList(String field) {
        JsonElement e = json.get(field);
        List<Integer> out = new ArrayList<>();
        if (e == null || e.isJsonNull()) {
            return out;
        }
        if (!e.isJsonArray()) {
            out.add(requiredInt(field));
            return out;
        }
        for (JsonElement item : e.getAsJsonArray()) {
            out.add(asInt(item, field));
        }
        return out;
    }

    /** The boolean {@code field}, or {@code fallback} when absent. */
    public boolean optBoolean(String field, boolean fallback) {
        JsonElement e = json.get(field);
        if (e == null || e.isJsonNull()) {
            return fallback;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw fail(field, "must be true or false");
        }
        return e.getAsBoolean();
    }

    /** The string {@code field}, or {@code fallback} when absent. */
    public String optString(String field, String fallback) {
        JsonElement e = json.get(field);
        if (e == null || e.isJsonNull()) {
            return fallback;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw fail(field, "must be a string");
        }
        return e.getAsString();
    }

    /**
     * Checks that {@code model_type} is {@code expected}.
     *
     * @return this reader
     * @throws InvalidInputException if it is missing or different
     */
    public ConfigJson requireModelType(String expected) {
        String type = optString("model_type", null);
        if (!expected.equals(type)) {
            throw fail("model_type", type == null ? "is required" : "is '" + type + "', expected '" + expected + "'");
        }
        return this;
    }

    /** An error about {@code field} of this (sub-)config: "file: field 'a.b' message". */
    public InvalidInputException fail(String field, String message) {
        return fail(origin, prefix + field, message);
    }

    /**
     * Names {@code dtype} as the weights' type in a config.json object: its {@code torch_dtype} and
     * {@code dtype} fields, those it has (transformers 5 writes {@code dtype}), else a new {@code
     * torch_dtype}.
     */
    public static void nameDtype(JsonObject config, TensorDType dtype) {
        boolean named = false;
        for (String key : List.of("torch_dtype", "dtype")) {
            if (config.has(key)) {
                config.addProperty(key, dtype.torchName());
                named = true;
            }
        }
        if (!named) {
            config.addProperty("torch_dtype", dtype.torchName());
        }
    }

    /** An error about {@code field} of the config read from {@code origin}. */
    public static InvalidInputException fail(String origin, String field, String message) {
        return new InvalidInputException(origin + ": field '" + field + "' " + message);
    }
}
