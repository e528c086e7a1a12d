package ai.lorapro.benchmarks;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** One benchmark result as a single-line JSON object, fields in insertion order. */
final class JsonLine {

    private final Map<String, Object> fields = new LinkedHashMap<>();

    /** A line whose first field is {@code "bench": name}. */
    static JsonLine of(String bench) {
        return new JsonLine().put("bench", bench);
    }

    /** Adds a field (string, number or boolean). */
    JsonLine put(String key, Object value) {
        fields.put(key, value);
        return this;
    }

    /**
     * Adds a field holding a JSON array of numbers, each written in full (not rounded as single
     * numbers are); a value that is not finite is written as null.
     */
    JsonLine putNumbers(String key, java.util.List<? extends Number> values) {
        StringBuilder array = new StringBuilder("[");
        for (Number n : values) {
            array.append(array.length() > 1 ? "," : "").append(Double.isFinite(n.doubleValue()) ? n.toString() : "null");
        }
        fields.put(key, new Raw(array.append(']').toString()));
        return this;
    }

    /** JSON text written as it is. */
    private record Raw(String json) {}

    /** Adds the timestamp, machine description and load average that every recorded line carries. */
    JsonLine withMachine() {
        put("timestamp", java.time.Instant.now().toString());
        put("machine", Machine.description());
        put("load_avg_1m", Machine.loadAverage());
        return this;
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, Object> e : fields.entrySet()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            out.append(quote(e.getKey())).append(':').append(value(e.getValue()));
        }
        return out.append('}').toString();
    }

    private static String value(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Raw raw) {
            return raw.json();
        }
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (!Double.isFinite(d)) {
                return "null";
            }
            if (d == 0) {
                return "0";
            }
            // four significant digits, never in exponent form
            return new java.math.BigDecimal(d).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString();
        }
        if (v instanceof Number || v instanceof Boolean) {
            return v.toString();
        }
        return quote(v.toString());
    }

    private static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }
}
