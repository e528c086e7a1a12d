package ai.lorapro.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;

import java.util.Map;

/**
 * The parameter store of one data-parallel replica: every parameter resolves to this replica's
 * copy, whatever device the caller asks for. Replicas are told apart by their index, not by their
 * DJL device, so two replicas may share a device (on the CPU, where DJL has only one device, that
 * is how data parallelism is tested).
 */
final class ReplicaStore extends ParameterStore {

    private final int index;
    private final Map<String, NDArray> copies;

    /**
     * @param manager the manager holding the copies
     * @param index the replica's index (for messages)
     * @param copies this replica's copy of every parameter, by parameter id; not copied
     */
    ReplicaStore(NDManager manager, int index, Map<String, NDArray> copies) {
        super(manager, false);
        this.index = index;
        this.copies = copies;
    }

    /**
     * This replica's copy of {@code parameter}; {@code device} is ignored.
     *
     * @throws IllegalStateException for a parameter the replica has no copy of
     */
    @Override
    public NDArray getValue(Parameter parameter, Device device, boolean training) {
        if (parameter == null) {
            return null;
        }
        NDArray copy = copies.get(parameter.getId());
        if (copy == null) {
            throw new IllegalStateException("replica " + index + " has no copy of parameter " + parameter.getName()
                    + "; parameters added after the replicas were made are not replicated");
        }
        return copy;
    }
}
