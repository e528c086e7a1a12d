package ai.lorapro.cli;

import ai.lorapro.InvalidInputException;
import ai.lorapro.io.TensorDType;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The {@code --dtype} and {@code --shard-size} values of the commands that write weight files. */
final class WeightFiles {

    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(B|KB|MB|GB|KIB|MIB|GIB)?");

    private WeightFiles() {}

    /** The dtype of a {@code --dtype} value: bf16, fp16 or fp32 (or their PyTorch names). */
    static TensorDType dtype(String name) {
        return dtype(name, null);
    }

    /**
     * {@link #dtype(String)} for a command that takes one more value, {@code other} (named first
     * in the error), which the caller handles itself.
     */
    static TensorDType dtype(String name, String other) {
        switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "bf16":
            case "bfloat16":
                return TensorDType.BF16;
            case "fp16":
            case "float16":
                return TensorDType.F16;
            case "fp32":
            case "float32":
                return TensorDType.F32;
            default:
                throw new InvalidInputException("--dtype: '" + name + "' is not " + (other == null ? "" : other + ", ")
                        + "bf16, fp16 or fp32");
        }
    }

    /** Bytes of a size such as {@code 2GB} (decimal units, as Hugging Face counts) or {@code 512MiB}. */
    static long size(String text) {
        Matcher m = SIZE.matcher(text.trim().toUpperCase(Locale.ROOT));
        if (!m.matches()) {
            throw new InvalidInputException("--shard-size: '" + text + "' is not a size such as 2GB or 512MiB");
        }
        String unit = m.group(2) == null ? "B" : m.group(2);
        double scale;
        switch (unit) {
            case "KB":
                scale = 1e3;
                break;
            case "MB":
                scale = 1e6;
                break;
            case "GB":
                scale = 1e9;
                break;
            case "KIB":
                scale = 1L << 10;
                break;
            case "MIB":
                scale = 1L << 20;
                break;
            case "GIB":
                scale = 1L << 30;
                break;
            default:
                scale = 1;
        }
        long bytes = (long) (Double.parseDouble(m.group(1)) * scale);
        if (bytes <= 0) {
            throw new InvalidInputException("--shard-size: '" + text + "' must be positive");
        }
        return bytes;
    }
}
