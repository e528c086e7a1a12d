package ai.lorapro.models.common;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;

import java.util.Map;

/**
 * A block that knows the shapes of its own parameters, so that checkpoint loading can check each
 * tensor before it is assigned (DJL parameters cannot hold a declared shape and an array at once).
 */
public interface ShapedParameters {

    /** The expected shape of each direct parameter, keyed by its Hugging Face name. */
    Map<String, Shape> parameterShapes();

    /** A parameter that does not train until unfrozen (base weights are frozen under LoRA). */
    static Parameter frozen(String name, Parameter.Type type) {
        return Parameter.builder().setName(name).setType(type).optRequiresGrad(false).build();
    }
}
