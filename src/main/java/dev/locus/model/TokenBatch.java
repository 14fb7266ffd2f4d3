package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * Token sequences of different lengths as one right-padded int64 [rows, longest] array. Right
 * padding needs no attention mask: with causal attention a real token never sees a pad after it.
 */
public record TokenBatch(NDArray ids, int[] lengths) {

    public static TokenBatch of(NDManager manager, List<long[]> rows) {
        int longest = 0;
        for (long[] r : rows) {
            longest = Math.max(longest, r.length);
        }
        long[] flat = new long[rows.size() * longest];
        int[] lengths = new int[rows.size()];
        for (int b = 0; b < rows.size(); b++) {
            long[] r = rows.get(b);
            System.arraycopy(r, 0, flat, b * longest, r.length);
            lengths[b] = r.length;
        }
        return new TokenBatch(manager.create(flat, new Shape(rows.size(), longest)), lengths);
    }
}
