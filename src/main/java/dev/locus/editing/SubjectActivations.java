package dev.locus.editing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.locus.model.EnteringStreams;
import dev.locus.model.HookPoint;
import dev.locus.model.Hooks;
import dev.locus.model.Intervention;
import dev.locus.model.LanguageModel;
import dev.locus.model.TokenBatch;

/** Activations at the last subject token, averaged over the context prefixes (ROME's k*, MEMIT's keys and current z). */
final class SubjectActivations {
    private SubjectActivations() {}

    static NDArray mean(LanguageModel lm, NDManager m, EditPrompts p, EditTask task, HookPoint at) {
        TokenBatch batch = TokenBatch.of(m, p.prompts());
        int length = (int) batch.ids().getShape().get(1);
        Hooks hooks = task.corruption(m, p.spans(), length);
        Intervention.Capture captured = hooks.capture(at);
        lm.model().streamInto(at.layer() + 1, batch.ids(), hooks); // no block after the hook point is needed
        return average(captured, p);
    }

    private static NDArray average(Intervention.Capture captured, EditPrompts p) {
        int[] last = p.lastSubjectTokens();
        NDArray sum = null;
        for (int r = 0; r < last.length; r++) {
            NDArray row = captured.value().get(r, last[r]);
            sum = sum == null ? row : sum.add(row);
        }
        return sum.div(last.length);
    }

    /**
     * {@link SubjectActivations#mean} of {@code p}'s rows for the many activations a batch of edits of one task reads, from
     * their {@link EnteringStreams}, made at the first mean (a batch's first edit reads its keys before it changes any
     * weight, and a failure there fails that edit as one at a time): each mean runs only the blocks from the lowest
     * edited layer on, and is the reference's bit for bit.
     */
    static final class Streams {
        private final LanguageModel lm;
        private final NDManager m;
        private final EditPrompts p;
        private final EditTask task;
        private final int layers;
        private EnteringStreams streams;

        /** The means up to hook points in blocks below {@code layers}, the streams kept in {@code m}. */
        Streams(LanguageModel lm, NDManager m, EditPrompts p, EditTask task, int layers) {
            this.lm = lm;
            this.m = m;
            this.p = p;
            this.task = task;
            this.layers = layers;
        }

        /**
         * {@link SubjectActivations#mean} at {@code at} of the model as it is now, whose blocks below {@code firstEdited}
         * must be as they were at the first call; the pass's arrays in {@code own}.
         */
        NDArray mean(NDManager own, HookPoint at, int firstEdited) {
            if (streams == null) {
                streams = new EnteringStreams(lm.model(), m, pass -> {
                    TokenBatch batch = TokenBatch.of(pass, p.prompts());
                    return lm.model().embed(batch.ids(), task.corruption(pass, p.spans(), (int) batch.ids().getShape().get(1)));
                }, layers);
            }
            // the task's noise sits at the embeddings, already in the streams: the blocks get no hook but the capture
            Hooks hooks = Hooks.none();
            Intervention.Capture captured = hooks.capture(at);
            streams.run(own, firstEdited, at.layer(), hooks);
            return average(captured, p);
        }
    }
}
