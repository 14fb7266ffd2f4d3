package dev.locus.editing;

/**
 * ROME hyperparameters (ALGORITHMS.md §2): how v* is optimised, the ridge added to the key
 * covariance before it is inverted (0 in the published method; see {@link KeyStatistics#inverseCovariance}),
 * and which key the rank-one update maps to v*.
 */
public record RomeSettings(ValueSettings value, double covarianceRidge, Anchor anchor) {

    /**
     * The key k_a the update ΔW = (v* − W k_a) (C⁻¹k*)ᵀ / ((C⁻¹k*)ᵀ k_a) maps to v*; the direction C⁻¹k* is the same
     * for both.
     */
    public enum Anchor {
        /** k* itself, the mean key over the context prefixes: the paper's equation (and ALGORITHMS.md §2). */
        MEAN_KEY,
        /**
         * The edit prompt's own key (no prefix), as the authors' code does (rome/compute_v.py divides by
         * (C⁻¹k*)ᵀk of the prompt and subtracts the prompt's MLP output). v* is the value at that prompt, so
         * this makes the edit prompt receive the whole of δ even where its key differs from the mean.
         */
        PROMPT_KEY
    }

    public RomeSettings {
        anchor = anchor == null ? Anchor.MEAN_KEY : anchor; // configuration files written before the anchor existed
    }
}
