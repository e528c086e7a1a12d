package ai.lorapro.nn;

import java.util.List;

/**
 * A classifier that knows what its output rows stand for, so that a checkpoint of it records them
 * ({@link ai.lorapro.io.ClassNamesFile}) and an evaluation can refuse data of other classes rather
 * than report row c as another class c.
 */
public interface HasClassNames {

    /** The class of each output row, in row order; empty when not known. */
    List<String> classNames();
}
