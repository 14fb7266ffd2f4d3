package dev.locus.model;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * The MLP output projection of one layer, y = W·k (+ b), as the editors see it: it applies itself to
 * keys and gives the stored weight after a rank-one update, whatever the family's layout (GPT-2's
 * Conv1D stores W as [in, out], nn.Linear as [out, in]). Editors swap the results in through
 * {@link Weights.Edit} under {@link #weightName()}, so undoing an edit stays exact.
 */
public interface EditSite {

    /** The key k: the projection's input (hook point {@link HookPoint#mlpKey}). */
    HookPoint key();

    /** The projection's output (hook point {@link HookPoint#mlpOut}). */
    HookPoint value();

    String weightName();

    /** The bias's name, or null where the family has none (Llama). */
    String biasName();

    /** The parameters fine-tuning tunes: the weight, and the bias where there is one. */
    default List<String> parameterNames() {
        return biasName() == null ? List.of(weightName()) : List.of(weightName(), biasName());
    }

    /** W·k (+ b) for one key [mlp width], from the weights as they are now: [width]. */
    NDArray apply(NDArray key);

    /**
     * W·k (+ b) for keys [rows, tokens, mlp width] with {@code weight} and {@code bias} (null where the family has none) in
     * place of the stored ones, in the stored layout: [rows, tokens, width], as the block computes it (what a batch of
     * fine-tunings, each with its own copy of the weights, runs its rows through).
     */
    NDArray project(NDArray keys, NDArray weight, NDArray bias);

    /** The stored weight with {@code value}·{@code key}ᵀ added (value [width], key [mlp width]), in the stored layout. */
    NDArray plusRankOne(NDArray key, NDArray value);
}
