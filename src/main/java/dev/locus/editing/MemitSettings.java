package dev.locus.editing;

/**
 * MEMIT (ALGORITHMS.md §2).
 *
 * @param window layers edited around ℓ
 * @param z      how the residual target z at the window's last layer is optimised
 * @param lambda weight λ of the key covariance against the new key in (λC + kkᵀ)⁻¹
 * @param covarianceRidge ridge added to C before inverting (0 in the published method)
 */
public record MemitSettings(int window, ValueSettings z, double lambda, double covarianceRidge) {

    /** The published GPT-J values: window 5, z with clamp 0.75 and 25 steps, λ 15 000 (KL 0.0625 as ROME). */
    public static MemitSettings gptJ() {
        return new MemitSettings(5, new ValueSettings(25, 0.5, 0.0625, 0.5, 0.75, 5e-2), 15_000, 0);
    }
}
