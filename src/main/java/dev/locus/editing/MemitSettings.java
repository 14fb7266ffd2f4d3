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

}
