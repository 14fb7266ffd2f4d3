package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Teacher-forced scoring of targets after prompts: the inputs are prompt + target without its
 * last token (right-padded), and log p(target) = Σ log p(target token j | prompt, tokens < j),
 * read from the logits at the positions that predict each target token.
 */
public record TargetScoring(TokenBatch inputs, NDArray nextIds, NDArray scored) {

    public static TargetScoring of(NDManager m, List<long[]> prompts, List<long[]> targets, boolean firstTokenOnly,
                                   int contextLength) {
        int rows = prompts.size();
        List<long[]> sequences = new ArrayList<>(rows);
        for (int b = 0; b < rows; b++) {
            long[] p = prompts.get(b);
            long[] t = targets.get(b);
            if (t.length == 0) {
                throw new IllegalArgumentException("target of row " + b + " has no tokens");
            }
            if (p.length + t.length - 1 > contextLength) {
                throw new IllegalArgumentException("input of " + (p.length + t.length - 1)
                        + " tokens (prompt plus target) exceeds the context length " + contextLength);
            }
            long[] seq = Arrays.copyOf(p, p.length + t.length - 1);
            System.arraycopy(t, 0, seq, p.length, t.length - 1);
            sequences.add(seq);
        }
        TokenBatch batch = TokenBatch.of(m, sequences);
        int length = (int) batch.ids().getShape().get(1);
        long[] next = new long[rows * length];
        float[] scored = new float[rows * length];
        for (int b = 0; b < rows; b++) {
            long[] t = targets.get(b);
            int first = prompts.get(b).length - 1; // the logits here predict the first target token
            for (int j = 0; j < (firstTokenOnly ? 1 : t.length); j++) {
                next[b * length + first + j] = t[j];
                scored[b * length + first + j] = 1f;
            }
        }
        return new TargetScoring(batch, m.create(next, new Shape(rows, length, 1)), m.create(scored, new Shape(rows, length)));
    }

    /** [rows] log-probabilities of the targets from logits [rows, tokens, vocab] of {@link #inputs}. */
    public NDArray logProbs(NDArray logits) {
        Shape s = scored.getShape();
        return logits.logSoftmax(-1).gather(nextIds, 2).reshape(s).mul(scored).sum(new int[] {1});
    }

    /** p(target) per row, exp of {@link #logProbs}, read back from the device (no gradients). */
    public double[] probabilities(NDArray logits) {
        float[] logp = logProbs(logits).toFloatArray();
        double[] p = new double[logp.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logp[i]);
        }
        return p;
    }
}
