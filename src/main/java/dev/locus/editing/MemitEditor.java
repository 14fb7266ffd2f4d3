package dev.locus.editing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.locus.model.EditSite;
import dev.locus.model.HookPoint;
import dev.locus.model.LanguageModel;
import dev.locus.model.LayerWindow;
import dev.locus.model.Weights;
import java.util.Arrays;
import java.util.List;

/**
 * MEMIT (Meng et al. 2023) for one fact over a window of layers: optimise the residual stream z
 * at the window's last layer (at the last subject token), then for each layer i of the window in
 * order spread the remaining gap over the layers left: R = (z − h) / (layers left), ΔW_i = R kᵀ
 * (λC + k kᵀ)⁻¹, with k the layer's key averaged over context prefixes and h the current residual
 * (after the earlier layers' updates). For one key, Sherman–Morrison gives (λC + kkᵀ)⁻¹k =
 * C⁻¹k / (λ + kᵀC⁻¹k), computed in float64 from the cached C⁻¹.
 */
public final class MemitEditor implements Editor {
    private final LanguageModel lm;
    private final KeyStatistics statistics;
    private final List<String> prefixes;
    private final MemitSettings settings;

    public MemitEditor(LanguageModel lm, KeyStatistics statistics, List<String> prefixes, MemitSettings settings) {
        this.lm = lm;
        this.statistics = statistics;
        this.prefixes = prefixes;
        this.settings = settings;
    }

    @Override
    public String name() {
        return "memit";
    }

    @Override
    public Applied apply(EditTask task, int layer) {
        try (NDManager m = lm.manager().newSubManager()) {
            EditPrompts withPrefixes = EditPrompts.of(lm, prefixes, task);
            HookPoint last = HookPoint.blockOut(window(layer).last());
            EditPrompts plain = EditPrompts.of(lm, List.of(""), task);
            return edit(layer, (at, firstEdited) -> SubjectActivations.mean(lm, m, withPrefixes, task, at),
                    (at, firstEdited) -> SubjectActivations.mean(lm, m, plain, task, at),
                    ValueOptimizer.optimise(lm, m, withPrefixes, task, last, settings.z()));
        }
    }

    /**
     * Every window's z from one batched optimisation (windows with the same last layer share theirs), then each layer's
     * updates as {@link #apply}'s, their keys and current z run from the window's first layer on the unedited streams of
     * one pass ({@link SubjectActivations.Streams}: the same activations, bit for bit).
     */
    @Override
    public Batch batch(EditTask task, int[] layers, int rowBudget) {
        NDManager m = lm.manager().newSubManager();
        EditPrompts withPrefixes = EditPrompts.of(lm, prefixes, task);
        List<HookPoint> points = Arrays.stream(layers).mapToObj(l -> HookPoint.blockOut(window(l).last())).distinct().toList();
        int blocks = Arrays.stream(layers).map(l -> window(l).start()).max().orElse(0) + 1;
        SubjectActivations.Streams keys = new SubjectActivations.Streams(lm, m, withPrefixes, task, blocks);
        SubjectActivations.Streams current = new SubjectActivations.Streams(lm, m, EditPrompts.of(lm, List.of(""), task), task, blocks);
        return new SharedValues(m, () -> ValueOptimizer.optimiseAll(lm, m, withPrefixes, task, points, settings.z(), rowBudget), (z, layer) -> {
            try (NDManager own = m.newSubManager()) {
                return edit(layer, (at, firstEdited) -> keys.mean(own, at, firstEdited), (at, firstEdited) -> current.mean(own, at, firstEdited),
                        z.get(HookPoint.blockOut(window(layer).last())).get());
            }
        });
    }

    /** The mean activation at a hook point of the model as it is now, whose blocks below {@code firstEdited} are unedited. */
    @FunctionalInterface
    private interface Activations {
        NDArray mean(HookPoint at, int firstEdited);
    }

    private LayerWindow window(int layer) {
        return LayerWindow.around(layer, settings.window(), lm.dimensions().layers());
    }

    /**
     * The window's updates that spread z − h over its layers, the keys k from {@code keys} (the context prefixes) and h
     * from {@code current} (the prompt alone); undone when the result is closed.
     */
    private Applied edit(int layer, Activations keys, Activations current, ValueOptimizer.Result z) {
        LayerWindow window = window(layer);
        int last = window.last();
        Weights.Edit edit = lm.model().weights().edit();
        try {
            for (int i = window.start(); i < window.end(); i++) {
                NDArray k = keys.mean(HookPoint.mlpKey(i), window.start()).toType(DataType.FLOAT64, false);
                NDArray h = current.mean(HookPoint.blockOut(last), window.start());
                NDArray gap = z.value().sub(h).div(window.end() - i);
                NDArray c = k.reshape(1, -1).matMul(statistics.inverseCovariance(i, settings.covarianceRidge())).reshape(-1); // (C⁻¹k)ᵀ, C symmetric
                NDArray x = c.div(c.dot(k).add(settings.lambda())).toType(DataType.FLOAT32, false);
                EditSite site = lm.model().editSite(i);
                if (!Double.isFinite(x.abs().max().getFloat()) || !Double.isFinite(gap.abs().max().getFloat())) {
                    throw new IllegalStateException("MEMIT update at layer " + i + " is not finite");
                }
                edit.set(site.weightName(), site.plusRankOne(x, gap));
            }
            return new Applied(edit, window.layers(), z.steps(), z.loss());
        } catch (RuntimeException e) {
            edit.close();
            throw e;
        }
    }
}
