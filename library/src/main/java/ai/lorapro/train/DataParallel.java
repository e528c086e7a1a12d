package ai.lorapro.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.nn.CrossDevice;
import ai.lorapro.nn.Gradients;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Data-parallel training over replicas of one model, one replica per device. Replica 0 is the
 * model itself (the primary); every further replica holds a copy of every parameter, frozen ones
 * too, on its device. Each micro-batch is split by examples across the replicas, every replica
 * runs its forward and backward passes on its own copies, the gradients are summed onto the
 * primary, the optimizer steps the primary once, and the primary's new values are copied to every
 * replica. Replicas are told apart by index, not by device, so two replicas may share a device.
 *
 * <p>With {@code concurrent} each replica runs its passes on a thread of its own (on GPUs, so the
 * devices work at the same time); otherwise the replicas run one after another on the caller's
 * thread. {@link #close()} frees the copies.
 */
final class DataParallel implements AutoCloseable {

    /** One replica's forward and backward passes of a step. */
    @FunctionalInterface
    interface ReplicaWork {
        /**
         * Runs the passes of {@code replica}'s slices.
         *
         * @param store the replica's parameter store
         * @param manager a per-step manager on the replica's device
         * @param slices the replica's examples of each micro-batch
         * @return the replica's summed loss
         */
        double run(ParameterStore store, NDManager manager, List<Batch> slices);
    }

    private final List<Device> devices;
    private final List<ParameterStore> stores;
    private final List<NDManager> copyManagers;
    private final List<Map<String, NDArray>> copies;
    private final List<Parameter> trainable;
    private final ExecutorService threads;
    private final boolean[] ranLastStep;
    /** Whether the replicas have run once: until then they run in turn even when {@link #threads} exists. */
    private boolean ranOnce;

    private DataParallel(List<Device> devices, List<ParameterStore> stores, List<NDManager> copyManagers,
            List<Map<String, NDArray>> copies, List<Parameter> trainable, boolean concurrent) {
        this.devices = List.copyOf(devices);
        this.stores = stores;
        this.copyManagers = copyManagers;
        this.copies = copies;
        this.trainable = trainable;
        this.threads = concurrent && devices.size() > 1 ? Executors.newFixedThreadPool(devices.size(), r -> {
            Thread t = new Thread(r, "lorapro-replica");
            t.setDaemon(true);
            return t;
        }) : null;
        this.ranLastStep = new boolean[devices.size()];
    }

    /** One replica: the model on its manager's device, read through a plain store. */
    static DataParallel single(NDManager manager) {
        return new DataParallel(List.of(manager.getDevice()), List.of(new ParameterStore(manager, false)), List.of(),
                List.of(), List.of(), false);
    }

    /**
     * Replicas of {@code model} on {@code devices}; the first device must be the model's.
     *
     * @param model the model; its parameters are replica 0
     * @param manager the manager holding the model's parameters
     * @param devices one device per replica, the model's first; a device may repeat
     * @param concurrent whether each replica runs on a thread of its own
     * @throws IllegalArgumentException when there is no device or the first is not the manager's
     */
    static DataParallel of(Block model, NDManager manager, List<Device> devices, boolean concurrent) {
        if (devices.isEmpty()) {
            throw new IllegalArgumentException("data parallel training needs at least one device");
        }
        if (!devices.get(0).equals(manager.getDevice())) {
            throw new IllegalArgumentException("the first device (" + devices.get(0)
                    + ") must be the model's, " + manager.getDevice());
        }
        if (devices.size() == 1) {
            return single(manager);
        }
        Map<String, Parameter> parameters = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : model.getParameters()) {
            parameters.putIfAbsent(p.getValue().getId(), p.getValue());
        }
        List<Parameter> trainable = new ArrayList<>();
        for (Parameter p : parameters.values()) {
            if (p.requiresGradient()) {
                trainable.add(p);
            }
        }
        List<ParameterStore> stores = new ArrayList<>(List.of(new ParameterStore(manager, false)));
        List<NDManager> copyManagers = new ArrayList<>();
        List<Map<String, NDArray>> copies = new ArrayList<>();
        try {
            for (int k = 1; k < devices.size(); k++) {
                NDManager onDevice = manager.newSubManager(devices.get(k));
                copyManagers.add(onDevice);
                Map<String, NDArray> replica = new LinkedHashMap<>();
                for (Parameter p : parameters.values()) {
                    NDArray copy = copyTo(p.getArray(), devices.get(k));
                    copy.attach(onDevice);
                    if (p.requiresGradient()) {
                        copy.setRequiresGradient(true);
                    }
                    replica.put(p.getId(), copy);
                }
                copies.add(replica);
                stores.add(new ReplicaStore(onDevice, k, replica));
            }
        } catch (RuntimeException | Error e) {
            // e.g. a device out of memory at its copy: the replicas already made go with the failure
            copyManagers.forEach(NDManager::close);
            throw e;
        }
        return new DataParallel(devices, stores, copyManagers, copies, trainable, concurrent);
    }

    /**
     * A copy of {@code array} on {@code device} that shares no memory with it: DJL's PyTorch engine
     * returns the same tensor from {@code toDevice(itsOwnDevice, true)}, so a copy on the same device
     * is a {@code duplicate()}.
     */
    private static NDArray copyTo(NDArray array, Device device) {
        return array.getDevice().equals(device) ? array.duplicate() : array.toDevice(device, true);
    }

    /** The number of replicas. */
    int size() {
        return devices.size();
    }

    /**
     * Splits every micro-batch of a step by examples into one slice per replica (sizes differing by
     * at most one; when a micro-batch has fewer examples than replicas some get none, never the
     * primary, so the model's own gradients exist from the first step on).
     *
     * @return for each replica, its slices in micro-batch order
     */
    List<List<Batch>> split(List<Batch> microBatches) {
        int k = size();
        List<List<Batch>> out = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            out.add(new ArrayList<>());
        }
        for (Batch batch : microBatches) {
            if (k == 1) {
                out.get(0).add(batch);
                continue;
            }
            int n = batch.batchSize();
            for (int i = 0; i < k; i++) {
                int from = (int) (((long) i * n + k - 1) / k);
                int to = (int) (((long) (i + 1) * n + k - 1) / k);
                if (to > from) {
                    out.get(i).add(batch.rows(from, to));
                }
            }
        }
        return out;
    }

    /**
     * Runs every replica's passes, each in a sub-manager of {@code stepManager} on the replica's
     * device; concurrently when this was built so, from the second call on (the first initializes
     * the shared blocks, on one thread).
     *
     * @param stepManager the step's manager
     * @param slices each replica's slices, from {@link #split}
     * @param work the passes
     * @return the losses summed over the replicas (in replica order)
     */
    double runReplicas(NDManager stepManager, List<List<Batch>> slices, ReplicaWork work) {
        List<NDManager> managers = new ArrayList<>();
        for (int i = 0; i < size(); i++) {
            ranLastStep[i] = !slices.get(i).isEmpty();
            managers.add(size() == 1 ? stepManager : stepManager.newSubManager(devices.get(i)));
        }
        double sum = 0;
        // the first passes run in turn: a DJL block that was never initialized does so in its first
        // forward, adding to lists of its own, and the replicas share the blocks (two threads at once
        // corrupted those lists)
        if (threads == null || !ranOnce) {
            for (int i = 0; i < size(); i++) {
                if (ranLastStep[i]) {
                    sum += work.run(stores.get(i), managers.get(i), slices.get(i));
                }
            }
            ranOnce = true;
            return sum;
        }
        List<Future<Double>> results = new ArrayList<>();
        for (int i = 0; i < size(); i++) {
            if (ranLastStep[i]) {
                int replica = i;
                // autograd's on/off switch is per thread; the caller's gradient collector set the caller's
                results.add(threads.submit(() -> GradMode.enabled(
                        () -> work.run(stores.get(replica), managers.get(replica), slices.get(replica)))));
            }
        }
        for (Future<Double> result : results) {
            sum += await(result);
        }
        return sum;
    }

    private static double await(Future<Double> result) {
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while a replica was training", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException) {
                throw (RuntimeException) e.getCause();
            }
            if (e.getCause() instanceof Error) {
                throw (Error) e.getCause();
            }
            throw new IllegalStateException("a replica failed", e.getCause());
        }
    }

    /**
     * Adds the further replicas' gradients (of the replicas that ran in the last step) onto the
     * primary's and zeroes theirs; after this the primary holds the gradient of the whole step.
     */
    void sumGradientsOntoPrimary() {
        for (int k = 1; k < size(); k++) {
            if (!ranLastStep[k]) {
                continue;
            }
            Map<String, NDArray> replica = copies.get(k - 1);
            for (Parameter p : trainable) {
                NDArray copy = replica.get(p.getId());
                try (NDArray source = copy.getGradient(); NDArray target = p.getArray().getGradient()) {
                    CrossDevice.add(source, target);
                }
                Gradients.zero(copy);
            }
        }
    }

    /** Copies the primary's trainable values (just stepped) to every further replica. */
    void copyPrimaryToReplicas() {
        for (Map<String, NDArray> replica : copies) {
            for (Parameter p : trainable) {
                CrossDevice.copy(p.getArray(), replica.get(p.getId()));
            }
        }
    }

    /** Replica {@code index}'s copy of {@code parameter} (the parameter's own array for replica 0). */
    NDArray copyOf(int index, Parameter parameter) {
        return index == 0 ? parameter.getArray() : copies.get(index - 1).get(parameter.getId());
    }

    /** Stops the replica threads and frees the copies. */
    @Override
    public void close() {
        if (threads != null) {
            threads.shutdownNow();
        }
        copyManagers.forEach(NDManager::close);
    }
}
