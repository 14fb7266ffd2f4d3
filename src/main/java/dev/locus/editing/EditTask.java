package dev.locus.editing;

import ai.djl.ndarray.NDManager;
import dev.locus.model.Hooks;

/**
 * One edit to make: after {@code prompt} (which contains {@code subject}) the model should say
 * {@code target} more ({@code raise}) or less (erasure). With {@code noise}, every pass of the
 * edit runs with the subject's token embeddings corrupted (Fact Forcing).
 */
public record EditTask(String prompt, String subject, String target, boolean raise, SubjectNoise noise) {

    public static EditTask raise(String prompt, String subject, String target) {
        return new EditTask(prompt, subject, target, true, null);
    }

    /** The corruption hooks for rows whose subjects sit at {@code spans} (none without noise). */
    public Hooks corruption(NDManager m, int[][] spans, int length) {
        return noise == null ? Hooks.none() : noise.hooks(m, spans, length);
    }

    /** The same for those rows repeated {@code copies} times, each copy with its own draw ({@link SubjectNoise#hooks(NDManager, int[][], int, int)}). */
    public Hooks corruption(NDManager m, int[][] spans, int length, int copies) {
        return noise == null ? Hooks.none() : noise.hooks(m, spans, length, copies);
    }
}
