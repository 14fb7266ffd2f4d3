package dev.locus.editing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
        int[] last = p.lastSubjectTokens();
        NDArray sum = null;
        for (int r = 0; r < last.length; r++) {
            NDArray row = captured.value().get(r, last[r]);
            sum = sum == null ? row : sum.add(row);
        }
        return sum.div(last.length);
    }
}
