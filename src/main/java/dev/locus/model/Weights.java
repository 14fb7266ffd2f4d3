package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A model's parameters by their Hugging Face name (without the "transformer." prefix). Loaded
 * tensors are never written in place: an {@link Edit} swaps replacements in and puts the very
 * same original arrays back when it closes, so weights after any number of edits are
 * bit-identical to the loaded ones.
 */
public final class Weights {
    private final Map<String, NDArray> tensors;
    private final NDManager manager;

    Weights(Map<String, NDArray> tensors, NDManager manager) {
        this.tensors = new LinkedHashMap<>(tensors);
        this.manager = manager;
    }

    public NDArray get(String name) {
        NDArray a = tensors.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no weight named '" + name + "'");
        }
        return a;
    }

    public Set<String> names() {
        return Collections.unmodifiableSet(tensors.keySet());
    }

    /** All tensors in checkpoint order (a live view: do not modify). */
    public Map<String, NDArray> asMap() {
        return Collections.unmodifiableMap(tensors);
    }

    /**
     * A short identity of the current weights: SHA-256 over every tensor's name, shape and 4,096
     * evenly spaced values — cheap even for billions of parameters, and independent of the file
     * layout the weights were loaded from. Caches keyed by it are invalidated by any change
     * that touches a sampled value.
     */
    public String fingerprint() {
        java.security.MessageDigest sha = Sha256.digest();
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            sha.update((e.getKey() + e.getValue().getShape()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            try (NDArray flat = e.getValue().flatten()) {
                long step = Math.max(1, flat.size() / 4096);
                try (NDArray sample = flat.get("::" + step)) {
                    sha.update(sample.toByteArray());
                }
            }
        }
        return Sha256.hex(sha).substring(0, 16);
    }

    /** Starts an edit; close it to restore every weight it replaced. */
    public Edit edit() {
        return new Edit();
    }

    /** Replacements of some weights, undone exactly on close (also after an exception). */
    public final class Edit implements AutoCloseable {
        private final Map<String, NDArray> originals = new LinkedHashMap<>();
        private final NDManager owned = manager.newSubManager();

        /** Uses {@code value} (same shape, taken over by this edit) in place of weight {@code name}. */
        public void set(String name, NDArray value) {
            NDArray current = get(name);
            if (!current.getShape().equals(value.getShape())) {
                throw new IllegalArgumentException("weight " + name + " has shape " + current.getShape()
                        + ", replacement has " + value.getShape());
            }
            originals.putIfAbsent(name, current);
            value.attach(owned);
            tensors.put(name, value);
        }

        @Override
        public void close() {
            tensors.putAll(originals);
            originals.clear();
            owned.close();
        }
    }
}
