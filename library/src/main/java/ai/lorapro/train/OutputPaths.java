package ai.lorapro.train;

import ai.lorapro.InvalidInputException;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/** Resolves user-given run and adapter names to directories that stay inside an output root. */
public final class OutputPaths {

    private OutputPaths() {}

    /**
     * The directory {@code outputDir/name}, refusing any name that could leave {@code outputDir}:
     * empty or blank names, {@code .} and {@code ..}, absolute paths and names with a path
     * separator (either slash, on every platform, so a run name means the same everywhere).
     *
     * @param outputDir the output root
     * @param name a single path segment chosen by the user
     * @param option the option or field that supplied the name, used in the error message
     * @return the resolved, normalised child path
     * @throws InvalidInputException naming {@code option} when the name is not a plain segment
     */
    public static Path resolveChild(Path outputDir, String name, String option) {
        if (name == null || name.isBlank()) {
            throw new InvalidInputException(option + ": name must not be empty");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new InvalidInputException(option + ": name '" + name + "' is not allowed");
        }
        if (name.indexOf('/') >= 0 || name.indexOf('\\') >= 0 || name.indexOf('\0') >= 0
                || name.indexOf(':') >= 0) {
            throw new InvalidInputException(
                    option + ": name '" + name + "' must not contain '/', '\\', ':' or NUL");
        }
        Path root = outputDir.toAbsolutePath().normalize();
        Path child;
        try {
            child = root.resolve(name).normalize();
        } catch (InvalidPathException e) {
            throw new InvalidInputException(option + ": name '" + name + "' is not a valid path");
        }
        if (!child.getParent().equals(root)) {
            throw new InvalidInputException(
                    option + ": name '" + name + "' escapes the output directory " + outputDir);
        }
        return child;
    }
}
