package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Keys and values of earlier positions, per attention layer, for incremental decoding. The cache
 * owns its arrays (on its own sub-manager), so the arrays of each decoding step can be freed while
 * the cache lives on; close it when generation ends.
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;

    /** An empty cache for {@code numLayers} layers, holding arrays on {@code parent}'s device. */
    public KvCache(NDManager parent, int numLayers) {
        this.manager = parent.newSubManager();
        this.keys = new NDArray[numLayers];
        this.values = new NDArray[numLayers];
    }

    /** The number of cached positions (of layer 0). */
    public int length() {
        return keys[0] == null ? 0 : (int) keys[0].getShape().get(2);
    }

    /** Whether {@code layer} holds keys and values. */
    public boolean has(int layer) {
        return keys[layer] != null;
    }

    /** The cached keys of {@code layer}, [B, kv_heads, S, head_dim]. */
    public NDArray keys(int layer) {
        return keys[layer];
    }

    /** The cached values of {@code layer}, [B, kv_heads, S, head_dim]. */
    public NDArray values(int layer) {
        return values[layer];
    }

    /**
     * Appends new keys and values [B, kv_heads, T, head_dim] of {@code layer} along the sequence
     * and returns the full ones (owned by the cache; do not close them).
     */
    public NDArray[] append(int layer, NDArray newKeys, NDArray newValues) {
        keys[layer] = grow(keys[layer], newKeys);
        values[layer] = grow(values[layer], newValues);
        return new NDArray[] {keys[layer], values[layer]};
    }

    /** Stores keys and values that do not grow (cross-attention on a fixed encoder output). */
    public void store(int layer, NDArray newKeys, NDArray newValues) {
        keys[layer] = grow(null, newKeys);
        values[layer] = grow(null, newValues);
    }

    private NDArray grow(NDArray old, NDArray added) {
        NDArray full = old == null ? added.duplicate() : old.concat(added, 2);
        full.attach(manager);
        if (old != null) {
            old.close();
        }
        return full;
    }

    @Override
    public void close() {
        manager.close();
    }
}
