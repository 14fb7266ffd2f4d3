package dev.locus.editing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.locus.model.HookPoint;
import dev.locus.model.Hooks;
import dev.locus.model.Intervention;
import dev.locus.model.LanguageModel;
import dev.locus.model.Sha256;
import dev.locus.model.TokenBatch;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The uncentred covariance C = E[k kᵀ] of the MLP keys of each layer over a text corpus, which
 * ROME and MEMIT use to disturb other keys as little as possible. Computed when a layer is first
 * asked for, together with as many other uncached layers as {@link #SWEEP_BYTES} holds (every layer
 * of a small model, in one sweep over the corpus; two of a 1B model's 8192-wide MLP, which would
 * need 8.6 GB for all sixteen), written to {@code cacheDir} under a name that carries a fingerprint
 * of the weights and the corpus, and read back from there on later runs. Each layer's C is a sum of
 * its own keys' products, so it does not depend on which layers shared its sweep.
 */
public final class KeyStatistics {
    private static final int BATCH = 64;

    /** The float64 sums one sweep over the corpus keeps (inner² · 8 bytes a layer, plus one product at a time). */
    static final long SWEEP_BYTES = 2L << 30;

    private final LanguageModel lm;
    private final List<String> corpus;
    private final Path cacheDir;
    private final Consumer<String> progress;
    private final String fingerprint;
    private final Map<String, NDArray> inverses = new HashMap<>();

    public KeyStatistics(LanguageModel lm, List<String> corpus, Path cacheDir, Consumer<String> progress) {
        if (corpus.isEmpty()) {
            throw new IllegalArgumentException("the key-statistics corpus is empty");
        }
        this.lm = lm;
        this.corpus = corpus;
        this.cacheDir = cacheDir;
        this.progress = progress;
        this.fingerprint = lm.model().weights().fingerprint() + "-" + corpusFingerprint(corpus);
    }

    /**
     * (C + ridge · mean(diag C) · I)⁻¹ of {@code layer} in float64, [inner, inner]; owned by the
     * model's manager and kept. With ridge 0 this is ROME's C⁻¹. A small, repetitive corpus leaves
     * C ill-conditioned, and C⁻¹ then aims the update at directions in which k* differs from the
     * corpus but the prompt's own key does not: the ridge is how the testbed preset counters that.
     */
    public synchronized NDArray inverseCovariance(int layer, double ridge) {
        String key = layer + "/" + ridge;
        NDArray inverse = inverses.get(key);
        if (inverse == null) {
            try (NDManager m = lm.manager().newSubManager()) {
                NDArray c = covariance(layer);
                c.attach(m);
                long inner = c.getShape().get(0);
                NDArray eye = m.eye((int) inner).toType(DataType.FLOAT64, false);
                double meanDiagonal = c.mul(eye).sum().getDouble() / inner;
                inverse = c.add(eye.mul(ridge * meanDiagonal)).inverse();
                inverse.attach(lm.manager());
            }
            inverses.put(key, inverse);
        }
        return inverse;
    }

    /** C of {@code layer} in float64, [inner, inner], from the disk cache or computed (with other uncached layers) now. */
    public NDArray covariance(int layer) {
        Path file = cacheFile(layer);
        if (!Files.exists(file)) {
            compute(sweep(layer));
        }
        int inner = lm.dimensions().mlpWidth();
        try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
            double[] values = new double[inner * inner];
            ByteBuffer bytes = ByteBuffer.wrap(in.readAllBytes());
            bytes.asDoubleBuffer().get(values);
            return lm.manager().create(values, new Shape(inner, inner));
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot read key statistics " + file + ": " + e.getMessage(), e);
        }
    }

    public Path cacheFile(int layer) {
        return cacheDir.resolve("keycov-" + fingerprint + "-layer" + layer + ".bin");
    }

    /** {@code first} and the uncached layers nearest to it, as many as {@link #SWEEP_BYTES} holds, in ascending order. */
    List<Integer> sweep(int first) {
        long inner = lm.dimensions().mlpWidth();
        long fit = Math.max(1, SWEEP_BYTES / (inner * inner * 8) - 1);
        return nearest(first, lm.dimensions().layers(), fit, l -> Files.exists(cacheFile(l)));
    }

    /** {@code first} and up to {@code fit} − 1 of the layers nearest to it (the higher first at equal distance) that are not {@code cached}. */
    static List<Integer> nearest(int first, int layers, long fit, java.util.function.IntPredicate cached) {
        List<Integer> out = new ArrayList<>(List.of(first));
        for (int d = 1; d < layers && out.size() < fit; d++) {
            for (int l : new int[] {first + d, first - d}) {
                if (l >= 0 && l < layers && out.size() < fit && !cached.test(l)) {
                    out.add(l);
                }
            }
        }
        out.sort(null);
        return out;
    }

    void compute(List<Integer> sweep) {
        int layers = sweep.size();
        int inner = lm.dimensions().mlpWidth();
        long start = System.nanoTime();
        List<long[]> texts = new ArrayList<>();
        corpus.forEach(t -> {
            long[] ids = lm.tokenize(t).ids();
            if (ids.length > 0) {
                texts.add(ids.length <= lm.dimensions().contextLength() ? ids : java.util.Arrays.copyOf(ids, lm.dimensions().contextLength()));
            }
        });
        try (NDManager m = lm.manager().newSubManager()) {
            NDArray[] sums = new NDArray[layers];
            for (int l = 0; l < layers; l++) {
                sums[l] = m.zeros(new Shape(inner, inner), DataType.FLOAT64);
            }
            long count = 0;
            for (int i = 0; i < texts.size(); i += BATCH) {
                List<long[]> batch = texts.subList(i, Math.min(texts.size(), i + BATCH));
                try (NDManager step = m.newSubManager()) {
                    TokenBatch tb = TokenBatch.of(step, batch);
                    int length = (int) tb.ids().getShape().get(1);
                    float[] real = new float[batch.size() * length];
                    for (int b = 0; b < batch.size(); b++) {
                        java.util.Arrays.fill(real, b * length, b * length + tb.lengths()[b], 1f);
                        count += tb.lengths()[b];
                    }
                    NDArray mask = step.create(real, new Shape(batch.size() * length, 1));
                    Hooks hooks = Hooks.none();
                    Intervention.Capture[] keys = new Intervention.Capture[layers];
                    for (int l = 0; l < layers; l++) {
                        keys[l] = hooks.capture(HookPoint.mlpKey(sweep.get(l)));
                    }
                    lm.model().streamInto(sweep.get(layers - 1) + 1, tb.ids(), hooks); // the blocks up to the last layer swept

                    for (int l = 0; l < layers; l++) {
                        NDArray k = keys[l].value().reshape(-1, inner).mul(mask); // padding rows contribute nothing
                        sums[l].addi(k.transpose().matMul(k).toType(DataType.FLOAT64, false));
                    }
                }
                progress.accept(String.format("key statistics of layers %s: %d/%d texts, %.0fs", sweep, Math.min(texts.size(), i + BATCH),
                        texts.size(), (System.nanoTime() - start) / 1e9));
            }
            Files.createDirectories(cacheDir);
            for (int l = 0; l < layers; l++) {
                write(cacheFile(sweep.get(l)), sums[l].div(count).toDoubleArray());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write key statistics to " + cacheDir, e);
        }
    }

    private static void write(Path file, double[] values) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(tmp))) {
            ByteBuffer bytes = ByteBuffer.allocate(values.length * 8);
            bytes.asDoubleBuffer().put(values);
            out.write(bytes.array());
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static String corpusFingerprint(List<String> corpus) {
        MessageDigest sha = Sha256.digest();
        for (String text : corpus) {
            sha.update(text.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) '\n');
        }
        return Sha256.hex(sha).substring(0, 16);
    }
}
