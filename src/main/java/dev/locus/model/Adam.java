package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam with bias correction, updating its parameters in place after a backward pass and then
 * zeroing their gradients (they accumulate across backward passes otherwise). Run it outside a
 * GradientCollector; its moment buffers live in the manager it is given.
 */
public final class Adam {
    private final Map<String, NDArray> params;
    private final Map<String, NDArray> first = new LinkedHashMap<>();
    private final Map<String, NDArray> second = new LinkedHashMap<>();
    private final double beta1;
    private final double beta2;
    private int steps;

    public Adam(Map<String, NDArray> params, NDManager manager, double beta1, double beta2) {
        this.params = params;
        this.beta1 = beta1;
        this.beta2 = beta2;
        params.forEach((name, p) -> {
            p.setRequiresGradient(true);
            first.put(name, manager.zeros(p.getShape()));
            second.put(name, manager.zeros(p.getShape()));
        });
    }

    public int steps() {
        return steps;
    }

    public void step(double learningRate) {
        outsideAutograd();
        steps++;
        double corrected = learningRate * Math.sqrt(1 - Math.pow(beta2, steps)) / (1 - Math.pow(beta1, steps));
        params.forEach((name, p) -> {
            try (NDArray g = p.getGradient()) {
                NDArray m = first.get(name).muli(beta1);
                NDArray v = second.get(name).muli(beta2);
                try (NDArray gm = g.mul(1 - beta1); NDArray gv = g.square().muli(1 - beta2)) {
                    m.addi(gm);
                    v.addi(gv);
                }
                try (NDArray denominator = v.sqrt().addi(1e-8); NDArray update = m.mul(corrected).divi(denominator)) {
                    p.subi(update);
                }
                g.subi(g);
            }
        });
    }

    /**
     * Switches autograd recording off for the calling thread. PyTorch's grad mode is per thread
     * and on by default; DJL turns it off only on the thread that loads the engine, and a
     * GradientCollector restores the mode it found. So on any other thread (a service's worker
     * pool) in-place updates of parameters would be recorded and rejected ("a leaf Variable that
     * requires grad is being used in an in-place operation") unless this runs first.
     */
    public static void outsideAutograd() {
        JniUtils.setGradMode(false);
    }
}
