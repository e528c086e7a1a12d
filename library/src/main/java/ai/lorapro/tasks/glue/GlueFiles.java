package ai.lorapro.tasks.glue;

import ai.lorapro.InvalidInputException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The files of a GLUE task directory as the GLUE distribution lays it out ({@code SST-2/train.tsv},
 * {@code SST-2/dev.tsv}; MNLI: {@code dev_matched.tsv}), so that {@code --data glue_data/SST-2} works
 * as well as a file.
 */
public final class GlueFiles {

    private GlueFiles() {}

    /**
     * The training file: {@code path} itself when it is a file, else {@code path/train.tsv}.
     *
     * @throws InvalidInputException when a directory holds no {@code train.tsv}
     */
    public static Path train(Path path) {
        return Files.isDirectory(path) ? existing(path, List.of("train.tsv"), "training") : path;
    }

    /**
     * The dev (evaluation) file of a task directory: {@code dev.tsv}, or for MNLI {@code dev_matched.tsv};
     * {@code path} itself when it is a file.
     *
     * @throws InvalidInputException when the directory holds none of them
     */
    public static Path dev(Path path, GlueTask task) {
        if (!Files.isDirectory(path)) {
            return path;
        }
        return existing(path, task == GlueTask.MNLI ? List.of("dev_matched.tsv", "dev.tsv") : List.of("dev.tsv"),
                "dev");
    }

    /** Whether {@code path} is a directory with a dev file for {@code task}. */
    public static boolean hasDev(Path path, GlueTask task) {
        return Files.isDirectory(path) && (Files.isRegularFile(path.resolve("dev.tsv"))
                || task == GlueTask.MNLI && Files.isRegularFile(path.resolve("dev_matched.tsv")));
    }

    private static Path existing(Path dir, List<String> names, String split) {
        for (String name : names) {
            Path file = dir.resolve(name);
            if (Files.isRegularFile(file)) {
                return file;
            }
        }
        throw new InvalidInputException(dir + ": a GLUE directory needs the " + split + " file "
                + String.join(" or ", names));
    }
}
