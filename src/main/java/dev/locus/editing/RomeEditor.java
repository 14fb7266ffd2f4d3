package dev.locus.editing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.locus.model.EditSite;
import dev.locus.model.HookPoint;
import dev.locus.model.LanguageModel;
import dev.locus.model.Weights;
import java.util.Arrays;
import java.util.List;

/**
 * ROME (Meng et al. 2022) at one layer: the key k* of the subject (the MLP hidden activation at
 * the last subject token, averaged over context prefixes), the value v* that makes the model say
 * the target ({@link ValueOptimizer}), and the rank-one update ΔW = (v* − W k*) (C⁻¹k*)ᵀ /
 * ((C⁻¹k*)ᵀ k*) of the MLP output projection. GPT-2 stores that projection as [inner, width]
 * (x·W), so the update is added as the outer product (C⁻¹k* / (C⁻¹k*)ᵀk*) ⊗ (v* − W k*).
 */
public final class RomeEditor implements Editor {
    private final LanguageModel lm;
    private final KeyStatistics statistics;
    private final List<String> prefixes;
    private final RomeSettings settings;

    public RomeEditor(LanguageModel lm, KeyStatistics statistics, List<String> prefixes, RomeSettings settings) {
        this.lm = lm;
        this.statistics = statistics;
        this.prefixes = prefixes;
        this.settings = settings;
    }

    @Override
    public String name() {
        return "rome";
    }

    /** The key k* whose direction C⁻¹k* this editor's update takes at {@code layer} for {@code task} (no edit is made). */
    public float[] keyStar(EditTask task, int layer) {
        try (NDManager m = lm.manager().newSubManager()) {
            return SubjectActivations.mean(lm, m, EditPrompts.of(lm, prefixes, task), task, HookPoint.mlpKey(layer)).toFloatArray();
        }
    }

    /** The key this editor's update maps to v* ({@link RomeSettings.Anchor}; no edit is made). */
    public float[] anchorKey(EditTask task, int layer) {
        try (NDManager m = lm.manager().newSubManager()) {
            return anchorKey(m, task, layer, SubjectActivations.mean(lm, m, EditPrompts.of(lm, prefixes, task), task,
                    HookPoint.mlpKey(layer))).toFloatArray();
        }
    }

    private NDArray anchorKey(NDManager m, EditTask task, int layer, NDArray keyStar) {
        return switch (settings.anchor()) {
            case MEAN_KEY -> keyStar;
            case PROMPT_KEY -> SubjectActivations.mean(lm, m, EditPrompts.of(lm, List.of(""), task), task, HookPoint.mlpKey(layer));
        };
    }

    @Override
    public Applied apply(EditTask task, int layer) {
        try (NDManager m = lm.manager().newSubManager()) {
            EditPrompts p = EditPrompts.of(lm, prefixes, task);
            NDArray keyStar = SubjectActivations.mean(lm, m, p, task, HookPoint.mlpKey(layer));
            return edit(layer, keyStar, anchorKey(m, task, layer, keyStar),
                    ValueOptimizer.optimise(lm, m, p, task, HookPoint.mlpOut(layer), settings.value()));
        }
    }

    /**
     * Every layer's v* from one batched optimisation (on the first edit), then each layer's update as {@link #apply}'s,
     * its keys from the unedited streams of one pass ({@link SubjectActivations.Streams}: the same keys, bit for bit).
     */
    @Override
    public Batch batch(EditTask task, int[] layers, int rowBudget) {
        NDManager m = lm.manager().newSubManager();
        EditPrompts p = EditPrompts.of(lm, prefixes, task);
        List<HookPoint> points = Arrays.stream(layers).mapToObj(HookPoint::mlpOut).toList();
        int blocks = Arrays.stream(layers).max().orElse(0) + 1;
        SubjectActivations.Streams withPrefixes = new SubjectActivations.Streams(lm, m, p, task, blocks);
        SubjectActivations.Streams prompt = settings.anchor() == RomeSettings.Anchor.PROMPT_KEY
                ? new SubjectActivations.Streams(lm, m, EditPrompts.of(lm, List.of(""), task), task, blocks) : withPrefixes;
        return new SharedValues(m, () -> ValueOptimizer.optimiseAll(lm, m, p, task, points, settings.value(), rowBudget), (values, layer) -> {
            try (NDManager own = m.newSubManager()) {
                NDArray keyStar = withPrefixes.mean(own, HookPoint.mlpKey(layer), layer);
                NDArray anchor = prompt == withPrefixes ? keyStar : prompt.mean(own, HookPoint.mlpKey(layer), layer);
                return edit(layer, keyStar, anchor, values.get(HookPoint.mlpOut(layer)).get());
            }
        });
    }

    /** The rank-one update that writes v* for the anchor key at {@code layer}; undone when the result is closed. */
    private Applied edit(int layer, NDArray keyStar, NDArray anchor, ValueOptimizer.Result v) {
        Weights.Edit edit = lm.model().weights().edit();
        try {
            EditSite site = lm.model().editSite(layer);
            NDArray u = updateDirection(statistics, layer, settings.covarianceRidge(), keyStar, anchor);
            NDArray residual = v.value().sub(site.apply(anchor));
            edit.set(site.weightName(), site.plusRankOne(u, residual));
            return new Applied(edit, new int[] {layer}, v.steps(), v.loss());
        } catch (RuntimeException e) {
            edit.close();
            throw e;
        }
    }

    /**
     * u = C⁻¹k* / ((C⁻¹k*)ᵀ k_a): the update adds (uᵀk) (v* − W k_a) to the MLP output wherever the key is k, so
     * uᵀk_a = 1 at the anchor key k_a. In the manager of {@code keyStar}.
     */
    static NDArray updateDirection(KeyStatistics statistics, int layer, double ridge, NDArray keyStar, NDArray anchor) {
        // kᵀC⁻¹ = (C⁻¹k)ᵀ as C is symmetric; with k first the result stays in the key's manager
        NDArray u = keyStar.toType(DataType.FLOAT64, false).reshape(1, -1).matMul(statistics.inverseCovariance(layer, ridge)).reshape(-1);
        return u.div(u.dot(anchor.toType(DataType.FLOAT64, false))).toType(DataType.FLOAT32, false);
    }

    /** The vector v* that {@code apply} wrote for k* (for tests: the edited weight maps k* to it). */
    public float[] valueStar(EditTask task, int layer) {
        try (NDManager m = lm.manager().newSubManager()) {
            EditPrompts p = EditPrompts.of(lm, prefixes, task);
            return ValueOptimizer.optimise(lm, m, p, task, HookPoint.mlpOut(layer), settings.value()).value().toFloatArray();
        }
    }
}
